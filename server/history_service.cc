#include "server/history_service.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/engine/workspace.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {
namespace {

// A Timestamp the API accepts (0001-01-01 .. 9999-12-31, as
// google.protobuf.Timestamp defines); a violation at `path` otherwise.
std::optional<UnixSeconds> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         std::string_view path,
                                         Violations* violations) {
  std::optional<UnixSeconds> t = SecondsFromProto(ts, path, violations);
  if (t.has_value() && (*t < kMinTimestamp || *t > kMaxTimestamp)) {
    violations->Add(std::string(path),
                    "must be within 0001-01-01 .. 9999-12-31");
    return std::nullopt;
  }
  return t;
}

std::optional<Granularity> GranularityFromProto(v1::HistoryGranularity g,
                                                Violations* violations) {
  switch (g) {
    case v1::HOUR:
      return Granularity::kHour;
    case v1::DAY:
      return Granularity::kDay;
    default:
      violations->Add("granularity", "must be HOUR or DAY");
      return std::nullopt;
  }
}

void EventToProto(const MembershipChange& c, v1::MembershipEvent* out) {
  out->set_sequence(c.sequence);
  out->set_kind(static_cast<v1::MembershipEvent::Kind>(c.kind));
  out->set_cause(static_cast<v1::MembershipEvent::Cause>(c.cause));
  SecondsToProto(c.time, out->mutable_time());
}

}  // namespace

grpc::Status HistoryServiceImpl::GetSegmentHistory(
    grpc::ServerContext* context, const v1::GetSegmentHistoryRequest* request,
    v1::GetSegmentHistoryResponse* response) {
  return ToGrpcStatus(DoSegmentHistory(*context, *request, response));
}

grpc::Status HistoryServiceImpl::GetContactMembershipHistory(
    grpc::ServerContext* context,
    const v1::GetContactMembershipHistoryRequest* request,
    v1::GetContactMembershipHistoryResponse* response) {
  return ToGrpcStatus(DoContactHistory(*context, *request, response));
}

absl::Status HistoryServiceImpl::DoSegmentHistory(
    const grpc::ServerContext& context,
    const v1::GetSegmentHistoryRequest& request,
    v1::GetSegmentHistoryResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  if (!request.has_start_time()) violations.Add("start_time", "is required");
  if (!request.has_end_time()) violations.Add("end_time", "is required");
  const std::optional<UnixSeconds> start =
      TimeFromProto(request.start_time(), "start_time", &violations);
  const std::optional<UnixSeconds> end =
      TimeFromProto(request.end_time(), "end_time", &violations);
  const std::optional<Granularity> granularity =
      GranularityFromProto(request.granularity(), &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(const SegmentHistory history,
                   workspace->GetSegmentHistory(request.segment_id(),
                                                {*start, *end, *granularity}));
  response->mutable_buckets()->Reserve(
      static_cast<int>(history.buckets.size()));
  for (const HistoryBucket& b : history.buckets) {
    v1::HistoryBucket* out = response->add_buckets();
    SecondsToProto(b.start_time, out->mutable_start_time());
    out->set_segment_existed(b.segment_existed);
    out->set_entered(b.entered);
    out->set_left(b.left);
    out->set_member_count(b.member_count);
  }
  response->set_as_of_sequence(history.as_of_sequence);
  if (history.retained_since != 0) {
    SecondsToProto(history.retained_since, response->mutable_retained_since());
  }
  return absl::OkStatus();
}

absl::Status HistoryServiceImpl::DoContactHistory(
    const grpc::ServerContext& context,
    const v1::GetContactMembershipHistoryRequest& request,
    v1::GetContactMembershipHistoryResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.segment_id(), "segment_id", &violations);
  absl::StatusOr<ContactId> contact =
      ToContactId(request.contact_id(), "contact_id");
  std::optional<UnixSeconds> at;
  if (request.has_at_time()) {
    at = TimeFromProto(request.at_time(), "at_time", &violations);
  }
  RETURN_IF_ERROR(MergeViolations({contact.status()}, std::move(violations)));
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(const ContactHistory history,
                   workspace->GetContactMembershipHistory(request.segment_id(),
                                                          *contact, at));
  SecondsToProto(history.at_time, response->mutable_at_time());
  response->set_member_at_time(history.member_at);
  response->mutable_events()->Reserve(static_cast<int>(history.events.size()));
  for (const MembershipChange& c : history.events) {
    EventToProto(c, response->add_events());
  }
  response->set_events_truncated(history.events_truncated);
  response->set_as_of_sequence(history.as_of_sequence);
  if (history.retained_since != 0) {
    SecondsToProto(history.retained_since, response->mutable_retained_since());
  }
  return absl::OkStatus();
}

}  // namespace segments
