#include "core/engine/internal/snapshot_writes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace segments::engine {

absl::Status SnapshotNotFound(SnapshotId id) {
  return absl::NotFoundError(absl::StrCat("snapshot ", id, " not found"));
}

absl::StatusOr<SnapshotId> SnapshotWrites::PrepareCreate(
    const SnapshotDraft& draft, UnixSeconds now, PreparedWrite* p) const {
  ASSIGN_OR_RETURN(const UnixSeconds expire_time,
                   ResolveExpireTime(draft, now, limits_, "snapshot"));
  ASSIGN_OR_RETURN(const SegmentEntry* segment,
                   memory_.segments.Get(draft.segment_id));
  if (segment->record.state == SegmentState::kPlanRestricted) {
    return PlanRestrictedError(draft.segment_id);
  }
  if (memory_.snapshots.CountLive(now) >= limits_.max_snapshots) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", limits_.max_snapshots,
                     " live snapshots per workspace (limit max_snapshots); "
                     "delete one or wait for one to expire"));
  }
  StartWrite(now, p);
  SnapshotRecord record;
  record.id = memory_.counters.next_snapshot_id;
  record.segment_id = draft.segment_id;
  // Writers are serialized and this write changes no membership: the
  // members copied now are exactly those as of the last sequence.
  record.as_of_sequence = memory_.counters.last_sequence;
  record.create_time = now;
  record.expire_time = expire_time;
  p->write.counters.next_snapshot_id = record.id + 1;
  const SnapshotId id = record.id;
  SnapshotRecord& stored = p->write.put_snapshots.emplace_back();
  p->snapshots.push_back(
      MakeSnapshot(std::move(record), segment->members, &stored));
  return id;
}

absl::Status SnapshotWrites::PrepareDelete(SnapshotId id, UnixSeconds now,
                                           PreparedWrite* p) const {
  if (memory_.snapshots.FindLive(id, now) == nullptr) {
    return SnapshotNotFound(id);
  }
  StartWrite(now, p);
  p->write.deleted_snapshots.push_back(id);
  return absl::OkStatus();
}

bool SnapshotWrites::PrepareExpiry(UnixSeconds now, PreparedWrite* p) const {
  if (memory_.snapshots.Expired(now).empty()) return false;
  StartWrite(now, p);
  return true;
}

void SnapshotWrites::StartWrite(UnixSeconds now, PreparedWrite* p) const {
  p->write.counters = memory_.counters;
  p->write.counters.time_applied_until = now;
  p->write.deleted_snapshots = memory_.snapshots.Expired(now);
}

}  // namespace segments::engine
