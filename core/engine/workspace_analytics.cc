// The facade's analytics: each call checks its arguments, takes the memory
// lock shared (readers are excluded only while a committed write is
// applied) and hands the bitmaps and the index to core/analytics/, whose
// functions read and never change them. Nothing here goes near the write
// path.
#include <utility>

#include "core/analytics/breakdown.h"
#include "core/analytics/plan_gate.h"
#include "core/analytics/requests.h"
#include "core/base/status_macros.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/reference_answers.h"
#include "core/engine/internal/snapshot_writes.h"
#include "core/engine/workspace.h"

namespace segments {

absl::StatusOr<const engine::SegmentEntry*> Workspace::CurrentSegment(
    SegmentId id) const {
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, memory_->segments.Get(id));
  if (s->record.state == SegmentState::kPlanRestricted) {
    return engine::PlanRestrictedError(id);
  }
  return s;
}

absl::StatusOr<ContactSegments> Workspace::ListContactSegments(
    ContactId contact, bool with_names) const {
  absl::ReaderMutexLock l(&mu_);
  if (!memory_->contacts.Contains(contact)) {
    return absl::NotFoundError(absl::StrCat("contact ", contact, " not found"));
  }
  ContactSegments out;
  out.as_of_sequence = memory_->counters.last_sequence;
  for (const auto& [id, entry] : memory_->segments.entries()) {
    if (entry->record.state != SegmentState::kActive) continue;
    if (!entry->members.contains(contact)) continue;
    out.segments.push_back(
        {id, with_names ? entry->record.display_name : std::string()});
  }
  return out;
}

absl::StatusOr<MembershipExplanation> Workspace::ExplainMembership(
    SegmentId id, ContactId contact) const {
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, memory_->segments.Get(id));
  std::optional<Contact> c = memory_->contacts.Get(contact);
  if (!c.has_value()) {
    return absl::NotFoundError(absl::StrCat("contact ", contact, " not found"));
  }
  MembershipExplanation out;
  out.member = s->members.contains(contact);
  out.state = s->record.state;
  out.as_of_sequence = s->record.state == SegmentState::kPlanRestricted
                           ? s->record.frozen_as_of
                           : memory_->counters.last_sequence;
  out.evaluated_at = ReadNow();
  // References answer from the referred segments' members as kept: the
  // same answers the membership was derived from.
  const engine::MemberBitmaps bitmaps(memory_->segments);
  const engine::BitmapAnswers refs(bitmaps, contact);
  out.filter = ExplainFilter(s->record.filter, *c, out.evaluated_at, &refs);
  return out;
}

absl::StatusOr<MembershipAnswer> Workspace::CheckMembership(
    SegmentId id, absl::Span<const uint64_t> ids) const {
  RETURN_IF_ERROR(analytics::CheckMembershipIds(ids, limits_));
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, CurrentSegment(id));
  return MembershipAnswer{analytics::CheckMembership(s->members, ids),
                          memory_->counters.last_sequence};
}

absl::StatusOr<BreakdownAnswer> Workspace::GetSegmentBreakdown(
    SegmentId id, const std::vector<std::string>& dimensions,
    int64_t top_n) const {
  ASSIGN_OR_RETURN(analytics::BreakdownArgs args,
                   analytics::CheckBreakdownArgs(dimensions, top_n, limits_));
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, CurrentSegment(id));
  if (args.fields.empty()) {
    args.fields = analytics::AllowedBreakdownFields(memory_->plan);
  }
  RETURN_IF_ERROR(analytics::CheckBreakdownAllowed(memory_->plan, args.fields));
  return BreakdownAnswer{analytics::BreakdownOf(s->members, memory_->index,
                                                args.fields, args.top_n),
                         memory_->counters.last_sequence};
}

absl::StatusOr<OverlapAnswer> Workspace::GetSegmentOverlap(
    absl::Span<const uint64_t> ids) const {
  RETURN_IF_ERROR(analytics::CheckOverlapIds(ids, limits_));
  absl::ReaderMutexLock l(&mu_);
  std::vector<const Roaring*> members;
  members.reserve(ids.size());
  for (uint64_t id : ids) {
    ASSIGN_OR_RETURN(const engine::SegmentEntry* s, CurrentSegment(id));
    members.push_back(&s->members);
  }
  return OverlapAnswer{analytics::OverlapOf(members),
                       memory_->counters.last_sequence};
}

absl::StatusOr<analytics::BitmapExport> Workspace::ExportSegment(
    SegmentId id) const {
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, CurrentSegment(id));
  return analytics::ExportBitmap(s->members, memory_->counters.last_sequence);
}

absl::StatusOr<analytics::BitmapExport> Workspace::ExportSnapshot(
    SnapshotId id) const {
  absl::ReaderMutexLock l(&mu_);
  const Snapshot* s = memory_->snapshots.FindLive(id, ReadNow());
  if (s == nullptr) return engine::SnapshotNotFound(id);
  return analytics::ExportBitmap(s->members, s->record.as_of_sequence);
}

absl::StatusOr<RecommendationAnswer> Workspace::RecommendSegments(
    int goal) const {
  ASSIGN_OR_RETURN(const analytics::Goal checked, analytics::CheckGoal(goal));
  absl::ReaderMutexLock l(&mu_);
  RETURN_IF_ERROR(analytics::CheckRecommendationsAllowed(memory_->plan));
  std::vector<analytics::ExistingSegment> segments;
  for (const auto& [id, entry] : memory_->segments.entries()) {
    if (entry->record.state != SegmentState::kActive) continue;
    segments.push_back({id, entry->record.display_name, &entry->members});
  }
  analytics::RecommendationInputs in;
  in.index = &memory_->index;
  in.contacts = &memory_->contacts;
  in.now = ReadNow();
  in.segments = segments;
  in.limits = limits_;
  ASSIGN_OR_RETURN(std::vector<analytics::Candidate> candidates,
                   analytics::Recommend(checked, in));
  return RecommendationAnswer{std::move(candidates),
                              memory_->counters.last_sequence};
}

}  // namespace segments
