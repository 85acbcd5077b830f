// segments.v1.SegmentService: authenticate, translate, call the caller's
// Workspace, convert the status once. Page tokens come from core/paging.h
// with scope "segments" for ListSegments and "members/<segment id>" for
// ListSegmentMembers, so a token is refused by any other listing.
// CountSegmentMembers, the hot path of campaign senders, is served on
// gRPC's callback API: on the thread that read the call when its workspace
// is open (no hand-over to a handler thread, which cost 11-15 us a call,
// docs/benchmarks.md), on a thread of its own pump when the workspace must
// be opened first. The other methods are synchronous.
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_SEGMENT_SERVICE_H_
#define SEGMENTS_SERVER_SEGMENT_SERVICE_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/limits.h"
#include "segments/v1/segments.grpc.pb.h"
#include "server/auth.h"
#include "server/stream_pump.h"

namespace segments {

class SegmentServiceImpl final
    : public v1::SegmentService::WithCallbackMethod_CountSegmentMembers<
          v1::SegmentService::Service> {
 public:
  SegmentServiceImpl(const Authenticator* auth, const Limits& limits)
      : auth_(auth), limits_(limits) {}

  grpc::Status CreateSegment(grpc::ServerContext* context,
                             const v1::CreateSegmentRequest* request,
                             v1::Segment* response) override;
  grpc::Status GetSegment(grpc::ServerContext* context,
                          const v1::GetSegmentRequest* request,
                          v1::Segment* response) override;
  grpc::Status ListSegments(grpc::ServerContext* context,
                            const v1::ListSegmentsRequest* request,
                            v1::ListSegmentsResponse* response) override;
  grpc::Status UpdateSegment(grpc::ServerContext* context,
                             const v1::UpdateSegmentRequest* request,
                             v1::Segment* response) override;
  grpc::Status DeleteSegment(grpc::ServerContext* context,
                             const v1::DeleteSegmentRequest* request,
                             google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* CountSegmentMembers(
      grpc::CallbackServerContext* context,
      const v1::CountSegmentMembersRequest* request,
      v1::CountSegmentMembersResponse* response) override;
  grpc::Status ListSegmentMembers(
      grpc::ServerContext* context,
      const v1::ListSegmentMembersRequest* request,
      v1::ListSegmentMembersResponse* response) override;
  grpc::Status PreviewSegment(grpc::ServerContext* context,
                              const v1::PreviewSegmentRequest* request,
                              v1::PreviewSegmentResponse* response) override;
  grpc::Status GetRuleCatalog(grpc::ServerContext* context,
                              const v1::GetRuleCatalogRequest* request,
                              v1::RuleCatalog* response) override;
  grpc::Status ExplainMembership(
      grpc::ServerContext* context, const v1::ExplainMembershipRequest* request,
      v1::ExplainMembershipResponse* response) override;

 private:
  absl::Status DoCreate(const grpc::ServerContext& context,
                        const v1::CreateSegmentRequest& request,
                        v1::Segment* response);
  absl::Status DoGet(const grpc::ServerContext& context,
                     const v1::GetSegmentRequest& request,
                     v1::Segment* response);
  absl::Status DoList(const grpc::ServerContext& context,
                      const v1::ListSegmentsRequest& request,
                      v1::ListSegmentsResponse* response);
  absl::Status DoUpdate(const grpc::ServerContext& context,
                        const v1::UpdateSegmentRequest& request,
                        v1::Segment* response);
  absl::Status DoDelete(const grpc::ServerContext& context,
                        const v1::DeleteSegmentRequest& request);
  absl::Status DoCount(
      const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
      const v1::CountSegmentMembersRequest& request,
      v1::CountSegmentMembersResponse* response);
  absl::Status DoListMembers(const grpc::ServerContext& context,
                             const v1::ListSegmentMembersRequest& request,
                             v1::ListSegmentMembersResponse* response);
  absl::Status DoPreview(const grpc::ServerContext& context,
                         const v1::PreviewSegmentRequest& request,
                         v1::PreviewSegmentResponse* response);
  absl::Status DoGetRuleCatalog(const grpc::ServerContext& context,
                                v1::RuleCatalog* response);
  absl::Status DoExplain(const grpc::ServerContext& context,
                         const v1::ExplainMembershipRequest& request,
                         v1::ExplainMembershipResponse* response);

  // Counts whose workspace must be opened first wait here for one of
  // kSlowCountThreads; beyond kMaxQueuedSlowCounts waiting, a count is
  // refused RESOURCE_EXHAUSTED.
  static constexpr int kSlowCountThreads = 4;
  static constexpr size_t kMaxQueuedSlowCounts = 256;

  const Authenticator* const auth_;
  const Limits limits_;
  // Last: destroyed first, running its queued counts while the rest lives.
  StreamPump slow_counts_{kSlowCountThreads};
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_SEGMENT_SERVICE_H_
