// Membership over time (issue 13), derived exactly from the live membership
// and the retained change log, never from guesses:
//
//   members(T) = members now - those that entered after T + those that left
//                after T
//
// where "at T" means after every event with time <= T (event times are whole
// seconds and never go backwards within a workspace). So a bucket's
// member_count is the count after its last event, and a contact was a
// member at T iff its first event in the segment after T is a LEFT (an
// ENTERED: it was not; none: as now).
//
// Edges: a segment created at C did not exist before C (no members; buckets
// ending at or before C are reported with segment_existed false and zeros).
// Its initial build logs no events (SPEC §6), so the bucket holding C
// counts only the entries and exits after the build, and its member_count
// includes the build's members. Everything after it is logged: contact
// writes, rule updates (RULES_CHANGED), upgrades (PLAN_CHANGED), TIME flips
// at their due seconds; a PLAN_RESTRICTED segment is frozen and logs
// nothing, so its history is flat.
//
// Consistency: `SegmentNow` is read under the workspace's lock together
// with its last sequence number, and the store is asked only for events up
// to that number, so writes committed meanwhile do not skew the answer.
// Retention: a time before the store's pruned_before is OUT_OF_RANGE
// (ErrorInfo reason HISTORY_NOT_RETAINED, metadata oldest_time).
//
// Knows nothing of gRPC or SQLite: it reads through WorkspaceStore.
// Thread-safety: stateless functions; thread-safe if the store is.
#ifndef SEGMENTS_CORE_HISTORY_HISTORY_H_
#define SEGMENTS_CORE_HISTORY_HISTORY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/history/buckets.h"
#include "core/store/store.h"

namespace segments {

// A segment as it stands now: what its past is derived back from.
struct SegmentNow {
  SegmentId id = 0;
  UnixSeconds create_time = 0;
  uint64_t member_count = 0;
  uint64_t as_of_sequence = 0;  // the workspace's last sequence number
  UnixSeconds now = 0;          // the workspace's time
};

struct HistoryRequest {
  UnixSeconds start_time = 0;
  UnixSeconds end_time = 0;
  Granularity granularity = Granularity::kHour;
};

struct HistoryBucket {
  UnixSeconds start_time = 0;    // UTC-aligned hour or day
  bool segment_existed = false;  // the segment existed at the bucket's end
  uint64_t entered = 0;
  uint64_t left = 0;
  uint64_t member_count = 0;  // after the bucket's last event
  bool operator==(const HistoryBucket& o) const;
};

struct SegmentHistory {
  std::vector<HistoryBucket> buckets;  // ascending; none starts after now
  uint64_t as_of_sequence = 0;
  UnixSeconds retained_since = 0;  // the store's pruned_before
};

struct ContactHistory {
  UnixSeconds at_time = 0;
  bool member_at = false;
  // The contact's retained events in the segment, ascending; the newest
  // max_history_events when there are more (events_truncated).
  std::vector<MembershipChange> events;
  bool events_truncated = false;
  uint64_t as_of_sequence = 0;
  UnixSeconds retained_since = 0;
};

// INVALID_ARGUMENT for a bad range (buckets.h); OUT_OF_RANGE when the
// range starts (rounded down to its bucket) before the retained log.
absl::StatusOr<SegmentHistory> SegmentHistoryOf(const SegmentNow& segment,
                                                const HistoryRequest& request,
                                                const Limits& limits,
                                                WorkspaceStore& store);

// `member_now`: whether `contact` is in the segment's bitmap now. `at`
// absent means now; after now is INVALID_ARGUMENT at "at_time"; before the
// retained log OUT_OF_RANGE.
absl::StatusOr<ContactHistory> ContactHistoryOf(
    const SegmentNow& segment, ContactId contact, bool member_now,
    std::optional<UnixSeconds> at, const Limits& limits, WorkspaceStore& store);

// OUT_OF_RANGE: `what` (e.g. "start_time 2026-01-01T00:00:00Z") is before
// `oldest`, the oldest moment the log still answers for.
absl::Status NotRetainedError(absl::string_view what, UnixSeconds oldest);

}  // namespace segments

#endif  // SEGMENTS_CORE_HISTORY_HISTORY_H_
