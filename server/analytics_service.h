// segments.v1.AnalyticsService: authenticate, check what only the wire can
// show (ids present, which source an export names, the chunk size), call
// the caller's Workspace, convert the status once. ExportMembers is on
// gRPC's callback API (export_stream.h): its client may read slowly, and a
// slow reader must not hold a handler thread; the unary methods are
// synchronous like every other service's.
//
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_ANALYTICS_SERVICE_H_
#define SEGMENTS_SERVER_ANALYTICS_SERVICE_H_

#include "absl/status/status.h"
#include "core/analytics/bitmap_export.h"
#include "core/base/limits.h"
#include "segments/v1/analytics.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class AnalyticsServiceImpl final
    : public v1::AnalyticsService::WithCallbackMethod_ExportMembers<
          v1::AnalyticsService::Service> {
 public:
  AnalyticsServiceImpl(const Authenticator* auth, const Limits& limits)
      : auth_(auth), limits_(limits) {}

  grpc::Status ListContactSegments(
      grpc::ServerContext* context,
      const v1::ListContactSegmentsRequest* request,
      v1::ListContactSegmentsResponse* response) override;
  grpc::Status CheckMembership(grpc::ServerContext* context,
                               const v1::CheckMembershipRequest* request,
                               v1::CheckMembershipResponse* response) override;
  grpc::Status GetSegmentBreakdown(
      grpc::ServerContext* context,
      const v1::GetSegmentBreakdownRequest* request,
      v1::GetSegmentBreakdownResponse* response) override;
  grpc::Status GetSegmentOverlap(
      grpc::ServerContext* context, const v1::GetSegmentOverlapRequest* request,
      v1::GetSegmentOverlapResponse* response) override;
  grpc::ServerWriteReactor<v1::ExportMembersResponse>* ExportMembers(
      grpc::CallbackServerContext* context,
      const v1::ExportMembersRequest* request) override;
  grpc::Status RecommendSegments(
      grpc::ServerContext* context, const v1::RecommendSegmentsRequest* request,
      v1::RecommendSegmentsResponse* response) override;

 private:
  absl::Status DoListContactSegments(
      const grpc::ServerContext& context,
      const v1::ListContactSegmentsRequest& request,
      v1::ListContactSegmentsResponse* response);
  absl::Status DoCheckMembership(const grpc::ServerContext& context,
                                 const v1::CheckMembershipRequest& request,
                                 v1::CheckMembershipResponse* response);
  absl::Status DoBreakdown(const grpc::ServerContext& context,
                           const v1::GetSegmentBreakdownRequest& request,
                           v1::GetSegmentBreakdownResponse* response);
  absl::Status DoOverlap(const grpc::ServerContext& context,
                         const v1::GetSegmentOverlapRequest& request,
                         v1::GetSegmentOverlapResponse* response);
  // The bitmap to stream and the chunk size asked for.
  absl::StatusOr<analytics::BitmapExport> DoExport(
      const grpc::CallbackServerContext& context,
      const v1::ExportMembersRequest& request, size_t* max_chunk);
  absl::Status DoRecommend(const grpc::ServerContext& context,
                           const v1::RecommendSegmentsRequest& request,
                           v1::RecommendSegmentsResponse* response);

  const Authenticator* const auth_;
  const Limits limits_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_ANALYTICS_SERVICE_H_
