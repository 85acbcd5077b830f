// segments.v1.WorkspaceAdmin: workspace lifecycle and keys. Every call needs
// the admin key. A workspace's key is generated here, returned once and
// stored only as its SHA-256. A workspace that failed to load (see
// Registry) is shown with state LOAD_FAILED and its load error, whose paths
// are made relative to the data directory. Thread-safe; `registry` and
// `auth` must outlive it.
#ifndef SEGMENTS_SERVER_WORKSPACE_ADMIN_SERVICE_H_
#define SEGMENTS_SERVER_WORKSPACE_ADMIN_SERVICE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/engine/registry.h"
#include "segments/v1/workspaces.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class WorkspaceAdminServiceImpl final : public v1::WorkspaceAdmin::Service {
 public:
  WorkspaceAdminServiceImpl(Registry* registry, const Authenticator* auth,
                            std::string data_dir = "");

  grpc::Status CreateWorkspace(grpc::ServerContext* context,
                               const v1::CreateWorkspaceRequest* request,
                               v1::CreateWorkspaceResponse* response) override;
  grpc::Status GetWorkspace(grpc::ServerContext* context,
                            const v1::GetWorkspaceRequest* request,
                            v1::Workspace* response) override;
  grpc::Status SetPlan(grpc::ServerContext* context,
                       const v1::SetPlanRequest* request,
                       v1::Workspace* response) override;
  grpc::Status RotateWorkspaceKey(
      grpc::ServerContext* context,
      const v1::RotateWorkspaceKeyRequest* request,
      v1::RotateWorkspaceKeyResponse* response) override;
  grpc::Status DeleteWorkspace(grpc::ServerContext* context,
                               const v1::DeleteWorkspaceRequest* request,
                               google::protobuf::Empty* response) override;

 private:
  absl::Status DoCreate(const grpc::ServerContext& context,
                        const v1::CreateWorkspaceRequest& request,
                        v1::CreateWorkspaceResponse* response);
  absl::Status DoGet(const grpc::ServerContext& context,
                     const v1::GetWorkspaceRequest& request,
                     v1::Workspace* response);
  absl::Status DoSetPlan(const grpc::ServerContext& context,
                         const v1::SetPlanRequest& request,
                         v1::Workspace* response);
  absl::Status DoRotate(const grpc::ServerContext& context,
                        const v1::RotateWorkspaceKeyRequest& request,
                        v1::RotateWorkspaceKeyResponse* response);
  absl::Status DoDelete(const grpc::ServerContext& context,
                        const v1::DeleteWorkspaceRequest& request);
  // `record` with its state and load error.
  void ToProto(const WorkspaceRecord& record, v1::Workspace* out) const;

  Registry* const registry_;
  const Authenticator* const auth_;
  // Prefixes removed from load errors: the data directory as given and as
  // an absolute path, each with a trailing '/'.
  std::vector<std::string> data_dir_prefixes_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_WORKSPACE_ADMIN_SERVICE_H_
