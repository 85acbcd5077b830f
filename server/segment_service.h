// segments.v1.SegmentService: authenticate, translate, call the caller's
// Workspace, convert the status once. Page tokens come from core/paging.h
// with scope "segments" for ListSegments and "members/<segment id>" for
// ListSegmentMembers, so a token is refused by any other listing.
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_SEGMENT_SERVICE_H_
#define SEGMENTS_SERVER_SEGMENT_SERVICE_H_

#include "absl/status/status.h"
#include "core/base/limits.h"
#include "segments/v1/segments.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class SegmentServiceImpl final : public v1::SegmentService::Service {
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
  grpc::Status CountSegmentMembers(
      grpc::ServerContext* context,
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
  absl::Status DoCount(const grpc::ServerContext& context,
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

  const Authenticator* const auth_;
  const Limits limits_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_SEGMENT_SERVICE_H_
