#include "server/analytics_service.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/analytics/requests.h"
#include "core/base/status_macros.h"
#include "server/analytics_convert.h"
#include "server/export_stream.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {
namespace {

// The chunk size an export asks for (0: the default), at "max_chunk_bytes".
absl::StatusOr<size_t> ResolveChunkBytes(int32_t asked) {
  if (asked == 0) return kDefaultExportChunkBytes;
  if (asked < 0 || static_cast<size_t>(asked) < kMinExportChunkBytes ||
      static_cast<size_t>(asked) > kMaxExportChunkBytes) {
    return InvalidFieldError(
        "max_chunk_bytes",
        absl::StrCat("must be between ", kMinExportChunkBytes, " and ",
                     kMaxExportChunkBytes,
                     " (limit max_chunk_bytes), or 0 for ",
                     kDefaultExportChunkBytes));
  }
  return static_cast<size_t>(asked);
}

}  // namespace

grpc::Status AnalyticsServiceImpl::ListContactSegments(
    grpc::ServerContext* context, const v1::ListContactSegmentsRequest* request,
    v1::ListContactSegmentsResponse* response) {
  return ToGrpcStatus(DoListContactSegments(*context, *request, response));
}

grpc::Status AnalyticsServiceImpl::CheckMembership(
    grpc::ServerContext* context, const v1::CheckMembershipRequest* request,
    v1::CheckMembershipResponse* response) {
  return ToGrpcStatus(DoCheckMembership(*context, *request, response));
}

grpc::Status AnalyticsServiceImpl::GetSegmentBreakdown(
    grpc::ServerContext* context, const v1::GetSegmentBreakdownRequest* request,
    v1::GetSegmentBreakdownResponse* response) {
  return ToGrpcStatus(DoBreakdown(*context, *request, response));
}

grpc::Status AnalyticsServiceImpl::GetSegmentOverlap(
    grpc::ServerContext* context, const v1::GetSegmentOverlapRequest* request,
    v1::GetSegmentOverlapResponse* response) {
  return ToGrpcStatus(DoOverlap(*context, *request, response));
}

grpc::Status AnalyticsServiceImpl::RecommendSegments(
    grpc::ServerContext* context, const v1::RecommendSegmentsRequest* request,
    v1::RecommendSegmentsResponse* response) {
  return ToGrpcStatus(DoRecommend(*context, *request, response));
}

grpc::ServerWriteReactor<v1::ExportMembersResponse>*
AnalyticsServiceImpl::ExportMembers(grpc::CallbackServerContext* context,
                                    const v1::ExportMembersRequest* request) {
  auto* stream = new ExportStream();
  std::optional<absl::StatusOr<std::shared_ptr<Workspace>>> workspace =
      auth_->AuthenticateWorkspaceIfOpen(*context);
  if (workspace.has_value()) {
    StartExport(*workspace, *context, *request, stream);
    return stream;
  }
  // Opening the workspace (or reading the catalog) blocks: not on a gRPC
  // thread. The call's objects live until the stream finishes.
  const bool queued = slow_exports_.TryPost(
      [this, context, request, stream] {
        StartExport(auth_->AuthenticateWorkspace(*context), *context, *request,
                    stream);
      },
      kMaxQueuedSlowExports);
  if (!queued) {
    stream->Finish(
        ToGrpcStatus(PumpFullError(kMaxQueuedSlowExports, "exports")));
  }
  return stream;
}

void AnalyticsServiceImpl::StartExport(
    const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
    const grpc::CallbackServerContext& context,
    const v1::ExportMembersRequest& request, ExportStream* stream) {
  size_t max_chunk = 0;
  absl::StatusOr<analytics::BitmapExport> bitmap =
      DoExport(workspace, context, request, &max_chunk);
  if (!bitmap.ok()) {
    stream->Finish(ToGrpcStatus(bitmap.status()));
    return;
  }
  stream->Start(*std::move(bitmap), max_chunk);
}

absl::Status AnalyticsServiceImpl::DoListContactSegments(
    const grpc::ServerContext& context,
    const v1::ListContactSegmentsRequest& request,
    v1::ListContactSegmentsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  ASSIGN_OR_RETURN(const ContactId contact,
                   ToContactId(request.contact_id(), "contact_id"));
  ASSIGN_OR_RETURN(
      const ContactSegments answer,
      workspace->ListContactSegments(contact, request.include_names()));
  ContactSegmentsToProto(answer, response);
  return absl::OkStatus();
}

absl::Status AnalyticsServiceImpl::DoCheckMembership(
    const grpc::ServerContext& context,
    const v1::CheckMembershipRequest& request,
    v1::CheckMembershipResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const absl::Span<const uint64_t> ids(request.contact_ids().data(),
                                       request.contact_ids().size());
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  RETURN_IF_ERROR(MergeViolations({analytics::CheckMembershipIds(ids, limits_)},
                                  std::move(violations)));
  ASSIGN_OR_RETURN(const MembershipAnswer answer,
                   workspace->CheckMembership(request.segment_id(), ids));
  MembershipToProto(answer, response);
  return absl::OkStatus();
}

absl::Status AnalyticsServiceImpl::DoBreakdown(
    const grpc::ServerContext& context,
    const v1::GetSegmentBreakdownRequest& request,
    v1::GetSegmentBreakdownResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const std::vector<std::string> dimensions(request.dimensions().begin(),
                                            request.dimensions().end());
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  RETURN_IF_ERROR(MergeViolations(
      {analytics::CheckBreakdownArgs(dimensions, request.top_n(), limits_)
           .status()},
      std::move(violations)));
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(const BreakdownAnswer answer,
                   workspace->GetSegmentBreakdown(request.segment_id(),
                                                  dimensions, request.top_n()));
  BreakdownToProto(answer, response);
  return absl::OkStatus();
}

absl::Status AnalyticsServiceImpl::DoOverlap(
    const grpc::ServerContext& context,
    const v1::GetSegmentOverlapRequest& request,
    v1::GetSegmentOverlapResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const absl::Span<const uint64_t> ids(request.segment_ids().data(),
                                       request.segment_ids().size());
  ASSIGN_OR_RETURN(const OverlapAnswer answer,
                   workspace->GetSegmentOverlap(ids));
  OverlapToProto(answer, ids, response);
  return absl::OkStatus();
}

absl::StatusOr<analytics::BitmapExport> AnalyticsServiceImpl::DoExport(
    const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
    const grpc::CallbackServerContext& context,
    const v1::ExportMembersRequest& request, size_t* max_chunk) {
  RETURN_IF_ERROR(workspace.status());
  Violations violations;
  switch (request.source_case()) {
    case v1::ExportMembersRequest::kSegmentId:
      CheckIdPresent(request.segment_id(), "segment_id", &violations);
      break;
    case v1::ExportMembersRequest::kSnapshotId:
      CheckIdPresent(request.snapshot_id(), "snapshot_id", &violations);
      break;
    case v1::ExportMembersRequest::SOURCE_NOT_SET:
      violations.Add("source", "set segment_id or snapshot_id");
      break;
  }
  const absl::StatusOr<size_t> chunk =
      ResolveChunkBytes(request.max_chunk_bytes());
  RETURN_IF_ERROR(MergeViolations({chunk.status()}, std::move(violations)));
  *max_chunk = *chunk;
  RETURN_IF_ERROR(CheckNotCancelled(context));
  if (request.source_case() == v1::ExportMembersRequest::kSnapshotId) {
    return (*workspace)->ExportSnapshot(request.snapshot_id());
  }
  return (*workspace)->ExportSegment(request.segment_id());
}

absl::Status AnalyticsServiceImpl::DoRecommend(
    const grpc::ServerContext& context,
    const v1::RecommendSegmentsRequest& request,
    v1::RecommendSegmentsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(const RecommendationAnswer answer,
                   workspace->RecommendSegments(request.goal()));
  RecommendationsToProto(answer, response);
  return absl::OkStatus();
}

}  // namespace segments
