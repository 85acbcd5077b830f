// segments.v1.AudienceSnapshotService: authenticate, translate, call the
// caller's Workspace, convert the status once. Page tokens come from
// core/paging.h with scope "snapshots" for ListAudienceSnapshots and
// "snapshot_members/<snapshot id>" for ListAudienceSnapshotMembers, so a
// token is refused by any other listing.
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_SNAPSHOT_SERVICE_H_
#define SEGMENTS_SERVER_SNAPSHOT_SERVICE_H_

#include "absl/status/status.h"
#include "core/base/limits.h"
#include "segments/v1/snapshots.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class SnapshotServiceImpl final : public v1::AudienceSnapshotService::Service {
 public:
  SnapshotServiceImpl(const Authenticator* auth, const Limits& limits)
      : auth_(auth), limits_(limits) {}

  grpc::Status CreateAudienceSnapshot(
      grpc::ServerContext* context,
      const v1::CreateAudienceSnapshotRequest* request,
      v1::AudienceSnapshot* response) override;
  grpc::Status GetAudienceSnapshot(
      grpc::ServerContext* context,
      const v1::GetAudienceSnapshotRequest* request,
      v1::AudienceSnapshot* response) override;
  grpc::Status ListAudienceSnapshots(
      grpc::ServerContext* context,
      const v1::ListAudienceSnapshotsRequest* request,
      v1::ListAudienceSnapshotsResponse* response) override;
  grpc::Status ListAudienceSnapshotMembers(
      grpc::ServerContext* context,
      const v1::ListAudienceSnapshotMembersRequest* request,
      v1::ListAudienceSnapshotMembersResponse* response) override;
  grpc::Status DeleteAudienceSnapshot(
      grpc::ServerContext* context,
      const v1::DeleteAudienceSnapshotRequest* request,
      google::protobuf::Empty* response) override;

 private:
  absl::Status DoCreate(const grpc::ServerContext& context,
                        const v1::CreateAudienceSnapshotRequest& request,
                        v1::AudienceSnapshot* response);
  absl::Status DoGet(const grpc::ServerContext& context,
                     const v1::GetAudienceSnapshotRequest& request,
                     v1::AudienceSnapshot* response);
  absl::Status DoList(const grpc::ServerContext& context,
                      const v1::ListAudienceSnapshotsRequest& request,
                      v1::ListAudienceSnapshotsResponse* response);
  absl::Status DoListMembers(
      const grpc::ServerContext& context,
      const v1::ListAudienceSnapshotMembersRequest& request,
      v1::ListAudienceSnapshotMembersResponse* response);
  absl::Status DoDelete(const grpc::ServerContext& context,
                        const v1::DeleteAudienceSnapshotRequest& request);

  const Authenticator* const auth_;
  const Limits limits_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_SNAPSHOT_SERVICE_H_
