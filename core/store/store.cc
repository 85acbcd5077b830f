#include "core/store/store.h"

#include "core/base/status_macros.h"

namespace segments {

bool WorkspaceRecord::operator==(const WorkspaceRecord& o) const {
  return id == o.id && display_name == o.display_name && plan == o.plan &&
         key_hash == o.key_hash && create_time == o.create_time;
}

bool SegmentRecord::operator==(const SegmentRecord& o) const {
  return id == o.id && display_name == o.display_name && filter == o.filter &&
         state == o.state && create_time == o.create_time &&
         update_time == o.update_time && frozen_members == o.frozen_members &&
         frozen_as_of == o.frozen_as_of;
}

bool MembershipChange::operator==(const MembershipChange& o) const {
  return sequence == o.sequence && segment_id == o.segment_id &&
         contact_id == o.contact_id && kind == o.kind && cause == o.cause &&
         time == o.time;
}

bool WorkspaceCounters::operator==(const WorkspaceCounters& o) const {
  return next_contact_id == o.next_contact_id &&
         next_segment_id == o.next_segment_id &&
         last_sequence == o.last_sequence &&
         time_applied_until == o.time_applied_until &&
         next_snapshot_id == o.next_snapshot_id;
}

bool SnapshotRecord::operator==(const SnapshotRecord& o) const {
  return id == o.id && segment_id == o.segment_id &&
         as_of_sequence == o.as_of_sequence && member_count == o.member_count &&
         create_time == o.create_time && expire_time == o.expire_time &&
         members == o.members;
}

bool LogRetention::operator==(const LogRetention& o) const {
  return first_sequence == o.first_sequence &&
         complete_since == o.complete_since;
}

std::vector<ChangeRun> GroupIntoRuns(
    const std::vector<MembershipChange>& events) {
  std::vector<ChangeRun> runs;
  for (const MembershipChange& e : events) {
    if (!runs.empty()) {
      ChangeRun& last = runs.back();
      if (e.sequence == last.last_sequence() + 1 &&
          e.segment_id == last.segment_id && e.kind == last.kind &&
          e.cause == last.cause && e.time == last.time) {
        last.contact_ids.push_back(e.contact_id);
        continue;
      }
    }
    runs.push_back(
        {e.sequence, e.segment_id, e.kind, e.cause, e.time, {e.contact_id}});
  }
  return runs;
}

absl::StatusOr<std::vector<ChangeRun>> WorkspaceStore::ReadChangeRuns(
    uint64_t after_sequence, size_t max_events) {
  absl::StatusOr<std::vector<MembershipChange>> events =
      ReadChanges(after_sequence, max_events);
  if (!events.ok()) return events.status();
  return GroupIntoRuns(*events);
}

bool ChangeRun::operator==(const ChangeRun& o) const {
  return first_sequence == o.first_sequence && segment_id == o.segment_id &&
         kind == o.kind && cause == o.cause && time == o.time &&
         contact_ids == o.contact_ids;
}

void StartCounts(const SegmentChangeCountsQuery& query,
                 SegmentChangeCounts* counts) {
  counts->entered.assign(query.buckets, 0);
  counts->left.assign(query.buckets, 0);
  counts->entered_after = 0;
  counts->left_after = 0;
}

void CountChange(const SegmentChangeCountsQuery& query,
                 const MembershipChange& change, SegmentChangeCounts* counts) {
  if (change.segment_id != query.segment_id ||
      change.sequence > query.up_to_sequence || change.time < query.start) {
    return;
  }
  const bool entered = change.kind == ChangeKind::kEntered;
  const uint64_t bucket = static_cast<uint64_t>(change.time - query.start) /
                          static_cast<uint64_t>(query.bucket_seconds);
  if (bucket >= query.buckets) {
    ++(entered ? counts->entered_after : counts->left_after);
  } else {
    ++(entered ? counts->entered : counts->left)[bucket];
  }
}

namespace {

// Calls `f` on every event of the log up to `up_to_sequence`, in order.
template <typename F>
absl::Status ForEachChange(WorkspaceStore& store, uint64_t up_to_sequence,
                           F f) {
  constexpr size_t kPage = 4096;
  uint64_t after = 0;
  while (after < up_to_sequence) {
    ASSIGN_OR_RETURN(std::vector<MembershipChange> page,
                     store.ReadChanges(after, kPage));
    for (const MembershipChange& c : page) {
      if (c.sequence > up_to_sequence) return absl::OkStatus();
      f(c);
    }
    if (page.size() < kPage) break;
    after = page.back().sequence;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SegmentChangeCounts> WorkspaceStore::CountSegmentChanges(
    const SegmentChangeCountsQuery& query) {
  SegmentChangeCounts counts;
  StartCounts(query, &counts);
  RETURN_IF_ERROR(ForEachChange(
      *this, query.up_to_sequence,
      [&](const MembershipChange& c) { CountChange(query, c, &counts); }));
  return counts;
}

absl::StatusOr<ContactChanges> WorkspaceStore::ReadContactChanges(
    SegmentId segment_id, ContactId contact_id, uint64_t up_to_sequence) {
  ContactChanges out;
  RETURN_IF_ERROR(
      ForEachChange(*this, up_to_sequence, [&](const MembershipChange& c) {
        if (c.segment_id == segment_id && c.contact_id == contact_id) {
          out.changes.push_back(c);
        }
      }));
  return out;
}

}  // namespace segments
