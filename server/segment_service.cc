#include "server/segment_service.h"

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/paging.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {
namespace {

constexpr std::string_view kSegmentsScope = "segments";

std::string MembersScope(SegmentId id) { return absl::StrCat("members/", id); }

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

}  // namespace

grpc::Status SegmentServiceImpl::CreateSegment(
    grpc::ServerContext* context, const v1::CreateSegmentRequest* request,
    v1::Segment* response) {
  return ToGrpcStatus(DoCreate(*context, *request, response));
}

grpc::Status SegmentServiceImpl::GetSegment(
    grpc::ServerContext* context, const v1::GetSegmentRequest* request,
    v1::Segment* response) {
  return ToGrpcStatus(DoGet(*context, *request, response));
}

grpc::Status SegmentServiceImpl::ListSegments(
    grpc::ServerContext* context, const v1::ListSegmentsRequest* request,
    v1::ListSegmentsResponse* response) {
  return ToGrpcStatus(DoList(*context, *request, response));
}

grpc::Status SegmentServiceImpl::UpdateSegment(
    grpc::ServerContext* context, const v1::UpdateSegmentRequest* request,
    v1::Segment* response) {
  return ToGrpcStatus(DoUpdate(*context, *request, response));
}

grpc::Status SegmentServiceImpl::DeleteSegment(
    grpc::ServerContext* context, const v1::DeleteSegmentRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(DoDelete(*context, *request));
}

grpc::ServerUnaryReactor* SegmentServiceImpl::CountSegmentMembers(
    grpc::CallbackServerContext* context,
    const v1::CountSegmentMembersRequest* request,
    v1::CountSegmentMembersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<absl::StatusOr<std::shared_ptr<Workspace>>> workspace =
      auth_->AuthenticateWorkspaceIfOpen(*context);
  if (workspace.has_value()) {
    reactor->Finish(ToGrpcStatus(DoCount(*workspace, *request, response)));
    return reactor;
  }
  // Opening the workspace (or reading the catalog) blocks: not on a gRPC
  // thread. The call's objects live until Finish.
  const bool queued = slow_counts_.TryPost(
      [this, context, request, response, reactor] {
        reactor->Finish(ToGrpcStatus(DoCount(
            auth_->AuthenticateWorkspace(*context), *request, response)));
      },
      kMaxQueuedSlowCounts);
  if (!queued) {
    reactor->Finish(
        ToGrpcStatus(PumpFullError(kMaxQueuedSlowCounts, "counts")));
  }
  return reactor;
}

grpc::Status SegmentServiceImpl::ListSegmentMembers(
    grpc::ServerContext* context, const v1::ListSegmentMembersRequest* request,
    v1::ListSegmentMembersResponse* response) {
  return ToGrpcStatus(DoListMembers(*context, *request, response));
}

grpc::Status SegmentServiceImpl::PreviewSegment(
    grpc::ServerContext* context, const v1::PreviewSegmentRequest* request,
    v1::PreviewSegmentResponse* response) {
  return ToGrpcStatus(DoPreview(*context, *request, response));
}

grpc::Status SegmentServiceImpl::GetRuleCatalog(
    grpc::ServerContext* context, const v1::GetRuleCatalogRequest* /*request*/,
    v1::RuleCatalog* response) {
  return ToGrpcStatus(DoGetRuleCatalog(*context, response));
}

grpc::Status SegmentServiceImpl::ExplainMembership(
    grpc::ServerContext* context, const v1::ExplainMembershipRequest* request,
    v1::ExplainMembershipResponse* response) {
  return ToGrpcStatus(DoExplain(*context, *request, response));
}

absl::Status SegmentServiceImpl::DoCreate(
    const grpc::ServerContext& context, const v1::CreateSegmentRequest& request,
    v1::Segment* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  SegmentDraft draft =
      SegmentDraftFromProto(request.segment(), "segment", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  // A new segment is evaluated over every contact before the call returns.
  RETURN_IF_ERROR(CheckNotCancelled(context));
  if (request.validate_only()) {
    ASSIGN_OR_RETURN(
        SegmentImpact impact,
        workspace->ValidateCreateSegment(draft, limits_.max_preview_sample));
    SegmentImpactToProto(impact, response);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SegmentView view, workspace->CreateSegment(draft));
  SegmentViewToProto(view, response);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoGet(const grpc::ServerContext& context,
                                       const v1::GetSegmentRequest& request,
                                       v1::Segment* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(SegmentView view, workspace->GetSegment(request.id()));
  SegmentViewToProto(view, response);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoList(const grpc::ServerContext& context,
                                        const v1::ListSegmentsRequest& request,
                                        v1::ListSegmentsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  absl::StatusOr<size_t> page_size =
      ResolvePageSize(request.page_size(), limits_.max_page_size, "page_size");
  absl::StatusOr<uint64_t> after =
      DecodePageToken(request.page_token(), kSegmentsScope, "page_token");
  RETURN_IF_ERROR(
      MergeViolations({page_size.status(), after.status()}, Violations()));
  const Page<SegmentView> page = workspace->ListSegments(*after, *page_size);
  for (const SegmentView& view : page.items) {
    SegmentViewToProto(view, response->add_segments());
  }
  if (page.more && !page.items.empty()) {
    response->set_next_page_token(
        EncodePageToken(kSegmentsScope, page.items.back().record.id));
  }
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoUpdate(
    const grpc::ServerContext& context, const v1::UpdateSegmentRequest& request,
    v1::Segment* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.segment().id(), "segment.id", &violations);
  SegmentDraft draft =
      SegmentDraftFromProto(request.segment(), "segment", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  // A changed filter is re-evaluated over every contact before returning.
  RETURN_IF_ERROR(CheckNotCancelled(context));
  if (request.validate_only()) {
    ASSIGN_OR_RETURN(SegmentImpact impact, workspace->ValidateUpdateSegment(
                                               request.segment().id(), draft,
                                               MaskPaths(request.update_mask()),
                                               limits_.max_preview_sample));
    SegmentImpactToProto(impact, response);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SegmentView view,
                   workspace->UpdateSegment(request.segment().id(), draft,
                                            MaskPaths(request.update_mask())));
  SegmentViewToProto(view, response);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoDelete(
    const grpc::ServerContext& context,
    const v1::DeleteSegmentRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.id(), "id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckNotCancelled(context));
  return workspace->DeleteSegment(request.id());
}

absl::Status SegmentServiceImpl::DoCount(
    const absl::StatusOr<std::shared_ptr<Workspace>>& workspace,
    const v1::CountSegmentMembersRequest& request,
    v1::CountSegmentMembersResponse* response) {
  RETURN_IF_ERROR(workspace.status());
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(MemberCount count,
                   (*workspace)->CountMembers(request.segment_id()));
  response->set_member_count(count.member_count);
  response->set_as_of_sequence(count.as_of_sequence);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoListMembers(
    const grpc::ServerContext& context,
    const v1::ListSegmentMembersRequest& request,
    v1::ListSegmentMembersResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const SegmentId segment_id = request.segment_id();
  const std::string scope = MembersScope(segment_id);
  ASSIGN_OR_RETURN(
      const MemberPageRequest checked,
      CheckMemberPageRequest(segment_id, "segment_id", request.view(),
                             request.page_size(), request.page_token(), scope,
                             limits_.max_page_size));
  const bool full = checked.full;
  if (full) RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(
      Page<Contact> page,
      workspace->ListMembers(segment_id, checked.after, checked.page_size,
                             full ? ContactView::kFull : ContactView::kId));
  if (full) {
    response->mutable_contacts()->Reserve(static_cast<int>(page.items.size()));
    for (const Contact& contact : page.items) {
      ContactToProto(contact, response->add_contacts());
    }
  } else {
    response->mutable_contact_ids()->Reserve(
        static_cast<int>(page.items.size()));
    for (const Contact& member : page.items) {
      response->add_contact_ids(member.id);
    }
  }
  if (page.more && !page.items.empty()) {
    response->set_next_page_token(EncodePageToken(scope, page.items.back().id));
  }
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoPreview(
    const grpc::ServerContext& context,
    const v1::PreviewSegmentRequest& request,
    v1::PreviewSegmentResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  FilterSpec filter =
      FilterSpecFromProto(request.filter(), "filter", &violations);
  const size_t max_sample = limits_.max_preview_sample;
  size_t sample_size = max_sample;
  if (request.sample_size() < 0 ||
      static_cast<size_t>(request.sample_size()) > max_sample) {
    violations.Add("sample_size",
                   absl::StrCat("must be 0-", max_sample, " (0 means ",
                                max_sample, "; limit max_preview_sample)"));
  } else if (request.sample_size() > 0) {
    sample_size = static_cast<size_t>(request.sample_size());
  }
  RETURN_IF_ERROR(violations.ToStatus());
  auto expired = [&context] { return !CheckNotCancelled(context).ok(); };
  ASSIGN_OR_RETURN(PreviewResult result,
                   workspace->Preview(filter, sample_size, expired));
  if (absl::Status s = CheckNotCancelled(context); !s.ok()) return s;
  PreviewToProto(result, response);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoGetRuleCatalog(
    const grpc::ServerContext& context, v1::RuleCatalog* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  RuleCatalogToProto(workspace->plan(), response, limits_);
  return absl::OkStatus();
}

absl::Status SegmentServiceImpl::DoExplain(
    const grpc::ServerContext& context,
    const v1::ExplainMembershipRequest& request,
    v1::ExplainMembershipResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  if (request.contact_id() == 0) violations.Add("contact_id", "is required");
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(const ContactId contact,
                   ToContactId(request.contact_id(), "contact_id"));
  ASSIGN_OR_RETURN(MembershipExplanation explanation,
                   workspace->ExplainMembership(request.segment_id(), contact));
  ExplanationToProto(explanation, response);
  return absl::OkStatus();
}

}  // namespace segments
