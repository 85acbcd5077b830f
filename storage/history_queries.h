// The history queries of a workspace database (core/history/), run by
// SqliteWorkspaceStore on its read connection inside one read transaction,
// so the counts, the events and the retention horizon are one snapshot.
//
// Both read a segment's runs through the history index, indexed_runs and
// its covering index indexed_runs_by_segment_time (segment_id, time, kind,
// last_sequence), and the runs still waiting for it (fewer than
// SqliteOptions::unindexed_runs_limit) from change_runs by rowid; see
// workspace_rows.h. Bucket sums are SQL aggregates:
// SUM(last_sequence - first_sequence + 1) per bucket and kind, never
// decoding a contact blob. A contact's events read the segment's runs,
// decoding only runs of more than one event and single events of that
// contact.
//
// Retention contract: meta key changes_pruned_before (UnixSeconds; absent or
// 0: nothing was ever pruned) is written by whoever prunes the log, in the
// transaction that deletes the runs, and promises that every event with
// time at or after it is kept.
#ifndef SEGMENTS_STORAGE_HISTORY_QUERIES_H_
#define SEGMENTS_STORAGE_HISTORY_QUERIES_H_

#include "absl/status/statusor.h"
#include "core/store/store.h"
#include "storage/sqlite_db.h"

namespace segments {

// REQUIRES: a transaction is open on `db` (the three should read one
// snapshot). DATA_LOSS for a stored value out of range.
absl::StatusOr<UnixSeconds> ReadChangesPrunedBefore(SqliteDb* db);
// The SQL of QuerySegmentChangeCounts, for tests of its query plan.
extern const char kCountSegmentChangesSql[];

absl::StatusOr<SegmentChangeCounts> QuerySegmentChangeCounts(
    SqliteDb* db, const SegmentChangeCountsQuery& query);
absl::StatusOr<std::vector<MembershipChange>> QueryContactChanges(
    SqliteDb* db, SegmentId segment_id, ContactId contact_id,
    uint64_t up_to_sequence);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_HISTORY_QUERIES_H_
