// segments.v1.AnalyticsService: authenticate, check what only the wire can
// show (ids present, which source an export names, the chunk size), call
// the caller's Workspace, convert the status once. ExportMembers is on
// gRPC's callback API (export_stream.h): its client may read slowly, and a
// slow reader must not hold a handler thread. Its bitmap is made on the
// thread that read the call when the workspace is open, else on a thread of
// its own pump, which opens the workspace first (as CountSegmentMembers
// does, segment_service.h); the unary methods are synchronous like every
// other service's.
//
// Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_ANALYTICS_SERVICE_H_
#define SEGMENTS_SERVER_ANALYTICS_SERVICE_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/analytics/bitmap_export.h"
#include "core/base/limits.h"
#include "segments/v1/analytics.grpc.pb.h"
#include "server/auth.h"
#include "server/export_stream.h"
#include "server/stream_pump.h"

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
  // Starts `stream` on the bitmap `request` asks of `workspace`, or refuses
  // it.
  void StartExport(const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
                   const grpc::CallbackServerContext& context,
                   const v1::ExportMembersRequest& request,
                   ExportStream* stream);
  // The bitmap to stream and the chunk size asked for.
  absl::StatusOr<analytics::BitmapExport> DoExport(
      const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
      const grpc::CallbackServerContext& context,
      const v1::ExportMembersRequest& request, size_t* max_chunk);
  absl::Status DoRecommend(const grpc::ServerContext& context,
                           const v1::RecommendSegmentsRequest& request,
                           v1::RecommendSegmentsResponse* response);

  // Exports whose workspace must be opened first wait here for one of
  // kSlowExportThreads; beyond kMaxQueuedSlowExports waiting, an export is
  // refused RESOURCE_EXHAUSTED.
  static constexpr int kSlowExportThreads = 2;
  static constexpr size_t kMaxQueuedSlowExports = 256;

  const Authenticator* const auth_;
  const Limits limits_;
  // Last: destroyed first, running its queued exports while the rest lives.
  StreamPump slow_exports_{kSlowExportThreads};
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_ANALYTICS_SERVICE_H_
