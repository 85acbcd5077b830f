// An audience snapshot (SPEC §6): a frozen copy of one segment's membership,
// for a campaign sender that pages through it while it sends. Its members
// never change, whatever happens to the segment and its contacts; it is
// gone from its expire_time on.
//
// These are values and pure functions; SnapshotSet holds a workspace's
// snapshots, and the engine makes them through its write path.
#ifndef SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_H_
#define SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/paging.h"
#include "core/store/store.h"
#include "roaring/roaring.hh"

namespace segments {

inline constexpr int64_t kDefaultSnapshotTtlSeconds = 7 * 86400;

// What a caller sends to create a snapshot. At most one of ttl_seconds and
// expire_time; neither means the default ttl.
struct SnapshotDraft {
  SegmentId segment_id = 0;
  std::optional<int64_t> ttl_seconds;
  std::optional<UnixSeconds> expire_time;
};

// How the live segment has moved away from a snapshot, as two
// cardinalities (no set is materialized).
struct SnapshotDrift {
  uint64_t left = 0;     // in the snapshot, no longer in the segment
  uint64_t entered = 0;  // in the segment, not in the snapshot
};

// A snapshot as the API shows it.
struct SnapshotView {
  SnapshotRecord record;  // members (the bytes) left empty
  SnapshotDrift drift;
  bool segment_deleted = false;  // drift is then against no members
};

// A page of a snapshot's members. Every member is listed, by ascending id,
// also one whose contact has been deleted since: for the kFull view its
// Contact then carries only the id, and the id is also in `deleted`.
struct SnapshotMemberPage {
  Page<Contact> members;
  std::vector<ContactId> deleted;  // ascending
};

// A snapshot in memory: its record without the serialized bytes, and its
// members, which nothing changes once made.
struct Snapshot {
  SnapshotRecord record;  // members (the bytes) left empty
  Roaring members;
};

// The moment a snapshot asked for at `now` expires: now + the ttl, the
// expire_time given, or now + the default (capped at the limit). A ttl
// below one second, a time not after `now`, or a moment beyond
// limits.max_snapshot_ttl_seconds from now is INVALID_ARGUMENT at
// "<path>.ttl" or "<path>.expire_time".
absl::StatusOr<UnixSeconds> ResolveExpireTime(const SnapshotDraft& draft,
                                              UnixSeconds now,
                                              const Limits& limits,
                                              std::string_view path);

// A snapshot of `live`: one copy of the bitmap, and one serialization of it
// into `*stored` (the row the store keeps). The two hold the same record.
Snapshot MakeSnapshot(SnapshotRecord record, const Roaring& live,
                      SnapshotRecord* stored);

// The snapshot of a stored row. DATA_LOSS when its bytes are not a portable
// Roaring bitmap, hold another number of members than member_count, or a
// contact id at or above `next_contact_id` (never handed out).
absl::StatusOr<Snapshot> LoadSnapshot(SnapshotRecord stored,
                                      ContactId next_contact_id);

// `frozen` against the live members (null: the segment was deleted, so
// none).
SnapshotDrift DriftOf(const Roaring& frozen, const Roaring* live);

}  // namespace segments

#endif  // SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_H_
