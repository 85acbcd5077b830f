#include "server/workspace_admin_service.h"

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/base/ascii.h"
#include "core/base/status_macros.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {

WorkspaceAdminServiceImpl::WorkspaceAdminServiceImpl(Registry* registry,
                                                     const Authenticator* auth,
                                                     std::string data_dir)
    : registry_(registry), auth_(auth) {
  if (data_dir.empty()) return;
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(data_dir, ec).string();
  // The longer first, so that one does not leave a piece of the other.
  if (!ec && absolute != data_dir) data_dir_prefixes_.push_back(absolute + "/");
  data_dir_prefixes_.push_back(data_dir + "/");
}

void WorkspaceAdminServiceImpl::ToProto(const WorkspaceRecord& record,
                                        v1::Workspace* out) const {
  WorkspaceToProto(record, out);
  const absl::Status error = registry_->LoadError(record.id);
  if (error.ok()) {
    out->set_state(v1::Workspace::SERVING);
    return;
  }
  out->set_state(v1::Workspace::LOAD_FAILED);
  std::string message(error.message());
  for (const std::string& prefix : data_dir_prefixes_) {
    message = absl::StrReplaceAll(message, {{prefix, ""}});
  }
  // Printable ASCII: a file name could hold anything.
  out->set_load_error(absl::StrCat(absl::StatusCodeToString(error.code()), ": ",
                                   EscapeNonPrintable(message)));
}

grpc::Status WorkspaceAdminServiceImpl::CreateWorkspace(
    grpc::ServerContext* context, const v1::CreateWorkspaceRequest* request,
    v1::CreateWorkspaceResponse* response) {
  return ToGrpcStatus(DoCreate(*context, *request, response));
}

grpc::Status WorkspaceAdminServiceImpl::GetWorkspace(
    grpc::ServerContext* context, const v1::GetWorkspaceRequest* request,
    v1::Workspace* response) {
  return ToGrpcStatus(DoGet(*context, *request, response));
}

grpc::Status WorkspaceAdminServiceImpl::SetPlan(
    grpc::ServerContext* context, const v1::SetPlanRequest* request,
    v1::Workspace* response) {
  return ToGrpcStatus(DoSetPlan(*context, *request, response));
}

grpc::Status WorkspaceAdminServiceImpl::RotateWorkspaceKey(
    grpc::ServerContext* context, const v1::RotateWorkspaceKeyRequest* request,
    v1::RotateWorkspaceKeyResponse* response) {
  return ToGrpcStatus(DoRotate(*context, *request, response));
}

grpc::Status WorkspaceAdminServiceImpl::DeleteWorkspace(
    grpc::ServerContext* context, const v1::DeleteWorkspaceRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(DoDelete(*context, *request));
}

absl::Status WorkspaceAdminServiceImpl::DoCreate(
    const grpc::ServerContext& context,
    const v1::CreateWorkspaceRequest& request,
    v1::CreateWorkspaceResponse* response) {
  RETURN_IF_ERROR(auth_->AuthenticateAdmin(context));
  // The key carries the new workspace's id (routing, docs/scale-out.md).
  std::string key;
  ASSIGN_OR_RETURN(WorkspaceRecord record,
                   registry_->CreateWorkspace(
                       request.workspace().display_name(),
                       PlanFromProto(request.workspace().plan()),
                       [&](WorkspaceId id) -> absl::StatusOr<std::string> {
                         ASSIGN_OR_RETURN(key, GenerateWorkspaceApiKey(id));
                         return HashApiKey(key);
                       }));
  ToProto(record, response->mutable_workspace());
  response->set_api_key(key);
  return absl::OkStatus();
}

absl::Status WorkspaceAdminServiceImpl::DoGet(
    const grpc::ServerContext& context, const v1::GetWorkspaceRequest& request,
    v1::Workspace* response) {
  RETURN_IF_ERROR(auth_->AuthenticateAdmin(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(WorkspaceRecord record,
                   registry_->GetWorkspace(request.id()));
  ToProto(record, response);
  return absl::OkStatus();
}

absl::Status WorkspaceAdminServiceImpl::DoSetPlan(
    const grpc::ServerContext& context, const v1::SetPlanRequest& request,
    v1::Workspace* response) {
  RETURN_IF_ERROR(auth_->AuthenticateAdmin(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  // A plan change may rebuild segments.
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(
      WorkspaceRecord record,
      registry_->SetPlan(request.id(), PlanFromProto(request.plan())));
  ToProto(record, response);
  return absl::OkStatus();
}

absl::Status WorkspaceAdminServiceImpl::DoRotate(
    const grpc::ServerContext& context,
    const v1::RotateWorkspaceKeyRequest& request,
    v1::RotateWorkspaceKeyResponse* response) {
  RETURN_IF_ERROR(auth_->AuthenticateAdmin(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(std::string key, GenerateWorkspaceApiKey(request.id()));
  RETURN_IF_ERROR(registry_->SetKeyHash(request.id(), HashApiKey(key)));
  response->set_api_key(key);
  return absl::OkStatus();
}

absl::Status WorkspaceAdminServiceImpl::DoDelete(
    const grpc::ServerContext& context,
    const v1::DeleteWorkspaceRequest& request) {
  RETURN_IF_ERROR(auth_->AuthenticateAdmin(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  return registry_->DeleteWorkspace(request.id());
}

}  // namespace segments
