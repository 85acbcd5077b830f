#include "core/store/store.h"

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
         time_applied_until == o.time_applied_until;
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

}  // namespace segments
