#include "server/snapshot_service.h"

#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/paging.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/snapshot_convert.h"
#include "server/status_util.h"

namespace segments {
namespace {

constexpr std::string_view kSnapshotsScope = "snapshots";

std::string MembersScope(SnapshotId id) {
  return absl::StrCat("snapshot_members/", id);
}

}  // namespace

grpc::Status SnapshotServiceImpl::CreateAudienceSnapshot(
    grpc::ServerContext* context,
    const v1::CreateAudienceSnapshotRequest* request,
    v1::AudienceSnapshot* response) {
  return ToGrpcStatus(DoCreate(*context, *request, response));
}

grpc::Status SnapshotServiceImpl::GetAudienceSnapshot(
    grpc::ServerContext* context, const v1::GetAudienceSnapshotRequest* request,
    v1::AudienceSnapshot* response) {
  return ToGrpcStatus(DoGet(*context, *request, response));
}

grpc::Status SnapshotServiceImpl::ListAudienceSnapshots(
    grpc::ServerContext* context,
    const v1::ListAudienceSnapshotsRequest* request,
    v1::ListAudienceSnapshotsResponse* response) {
  return ToGrpcStatus(DoList(*context, *request, response));
}

grpc::Status SnapshotServiceImpl::ListAudienceSnapshotMembers(
    grpc::ServerContext* context,
    const v1::ListAudienceSnapshotMembersRequest* request,
    v1::ListAudienceSnapshotMembersResponse* response) {
  return ToGrpcStatus(DoListMembers(*context, *request, response));
}

grpc::Status SnapshotServiceImpl::DeleteAudienceSnapshot(
    grpc::ServerContext* context,
    const v1::DeleteAudienceSnapshotRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(DoDelete(*context, *request));
}

absl::Status SnapshotServiceImpl::DoCreate(
    const grpc::ServerContext& context,
    const v1::CreateAudienceSnapshotRequest& request,
    v1::AudienceSnapshot* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  const SnapshotDraft draft =
      SnapshotDraftFromProto(request.snapshot(), "snapshot", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(SnapshotView view, workspace->CreateSnapshot(draft));
  SnapshotViewToProto(view, response);
  return absl::OkStatus();
}

absl::Status SnapshotServiceImpl::DoGet(
    const grpc::ServerContext& context,
    const v1::GetAudienceSnapshotRequest& request,
    v1::AudienceSnapshot* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(SnapshotView view, workspace->GetSnapshot(request.id()));
  SnapshotViewToProto(view, response);
  return absl::OkStatus();
}

absl::Status SnapshotServiceImpl::DoList(
    const grpc::ServerContext& context,
    const v1::ListAudienceSnapshotsRequest& request,
    v1::ListAudienceSnapshotsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  absl::StatusOr<size_t> page_size =
      ResolvePageSize(request.page_size(), limits_.max_page_size, "page_size");
  absl::StatusOr<uint64_t> after =
      DecodePageToken(request.page_token(), kSnapshotsScope, "page_token");
  RETURN_IF_ERROR(
      MergeViolations({page_size.status(), after.status()}, Violations()));
  const Page<SnapshotView> page = workspace->ListSnapshots(*after, *page_size);
  for (const SnapshotView& view : page.items) {
    SnapshotViewToProto(view, response->add_snapshots());
  }
  if (page.more && !page.items.empty()) {
    response->set_next_page_token(
        EncodePageToken(kSnapshotsScope, page.items.back().record.id));
  }
  return absl::OkStatus();
}

absl::Status SnapshotServiceImpl::DoListMembers(
    const grpc::ServerContext& context,
    const v1::ListAudienceSnapshotMembersRequest& request,
    v1::ListAudienceSnapshotMembersResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const SnapshotId snapshot_id = request.snapshot_id();
  const std::string scope = MembersScope(snapshot_id);
  ASSIGN_OR_RETURN(
      const MemberPageRequest checked,
      CheckMemberPageRequest(snapshot_id, "snapshot_id", request.view(),
                             request.page_size(), request.page_token(), scope,
                             limits_.max_page_size));
  const bool full = checked.full;
  if (full) RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(SnapshotMemberPage result,
                   workspace->ListSnapshotMembers(
                       snapshot_id, checked.after, checked.page_size,
                       full ? ContactView::kFull : ContactView::kId));
  const std::vector<Contact>& members = result.members.items;
  if (full) {
    response->mutable_contacts()->Reserve(static_cast<int>(members.size()));
    // Both ascending: a deleted contact is listed with its id alone.
    size_t next_deleted = 0;
    for (const Contact& contact : members) {
      v1::Contact* out = response->add_contacts();
      if (next_deleted < result.deleted.size() &&
          result.deleted[next_deleted] == contact.id) {
        out->set_id(contact.id);
        response->add_deleted_contact_ids(contact.id);
        ++next_deleted;
      } else {
        ContactToProto(contact, out);
      }
    }
  } else {
    response->mutable_contact_ids()->Reserve(static_cast<int>(members.size()));
    for (const Contact& member : members) {
      response->add_contact_ids(member.id);
    }
  }
  if (result.members.more && !members.empty()) {
    response->set_next_page_token(EncodePageToken(scope, members.back().id));
  }
  return absl::OkStatus();
}

absl::Status SnapshotServiceImpl::DoDelete(
    const grpc::ServerContext& context,
    const v1::DeleteAudienceSnapshotRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckNotCancelled(context));
  return workspace->DeleteSnapshot(request.id());
}

}  // namespace segments
