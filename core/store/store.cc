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
         time_applied_until == o.time_applied_until &&
         next_snapshot_id == o.next_snapshot_id;
}

bool SnapshotRecord::operator==(const SnapshotRecord& o) const {
  return id == o.id && segment_id == o.segment_id &&
         as_of_sequence == o.as_of_sequence && member_count == o.member_count &&
         create_time == o.create_time && expire_time == o.expire_time &&
         members == o.members;
}

bool ChangeRun::operator==(const ChangeRun& o) const {
  return first_sequence == o.first_sequence && segment_id == o.segment_id &&
         kind == o.kind && cause == o.cause && time == o.time &&
         contact_ids == o.contact_ids;
}

}  // namespace segments
