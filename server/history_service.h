// segments.v1.MembershipHistoryService: authenticate, translate, call the
// caller's Workspace (core/history/ does the work), convert the status once.
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_HISTORY_SERVICE_H_
#define SEGMENTS_SERVER_HISTORY_SERVICE_H_

#include "absl/status/status.h"
#include "segments/v1/history.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class HistoryServiceImpl final : public v1::MembershipHistoryService::Service {
 public:
  explicit HistoryServiceImpl(const Authenticator* auth) : auth_(auth) {}

  grpc::Status GetSegmentHistory(
      grpc::ServerContext* context, const v1::GetSegmentHistoryRequest* request,
      v1::GetSegmentHistoryResponse* response) override;
  grpc::Status GetContactMembershipHistory(
      grpc::ServerContext* context,
      const v1::GetContactMembershipHistoryRequest* request,
      v1::GetContactMembershipHistoryResponse* response) override;

 private:
  absl::Status DoSegmentHistory(const grpc::ServerContext& context,
                                const v1::GetSegmentHistoryRequest& request,
                                v1::GetSegmentHistoryResponse* response);
  absl::Status DoContactHistory(
      const grpc::ServerContext& context,
      const v1::GetContactMembershipHistoryRequest& request,
      v1::GetContactMembershipHistoryResponse* response);

  const Authenticator* const auth_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_HISTORY_SERVICE_H_
