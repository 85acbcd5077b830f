// The schema of a workspace database and the mapping between its rows and
// the core's records, used by SqliteWorkspaceStore.
//
//   contacts  one row per contact, a column per field; unset optional
//             strings, enums and last_engaged_at are NULL; tags are a JSON
//             array (tags_codec.h)
//   segments  filter as EncodeFilter bytes; frozen_members as a blob
//   change_runs  the membership change log, a row per run of events
//             (change_runs.h), keyed by the run's first sequence
//   indexed_runs the history index: change_runs' runs by segment and time,
//             without contacts, filled a few thousand runs at a time
//   snapshots audience snapshots; members as a portable Roaring blob
//   meta      key/value integers: next_contact_id, next_segment_id,
//             last_sequence, time_applied_until, next_snapshot_id
//
// Decoders return "" for a good row, else what is wrong with it (the caller
// names the row in its DATA_LOSS status).
#ifndef SEGMENTS_STORAGE_WORKSPACE_ROWS_H_
#define SEGMENTS_STORAGE_WORKSPACE_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/contact.h"
#include "core/store/store.h"
#include "storage/sqlite_db.h"

namespace segments {

// PRAGMA application_id of a workspace database: "SGWS".
inline constexpr int32_t kWorkspaceAppId = 0x53475753;

// migrations[i] takes the schema from user_version i to i + 1.
const std::vector<const char*>& WorkspaceMigrations();

// Statements. The SELECTs list the columns in the order the decoders read.
extern const char kSelectContactsSql[];
extern const char kUpsertContactSql[];  // ?1..?15, see BindContact
extern const char kDeleteContactSql[];  // ?1 id
extern const char kSelectSegmentsSql[];
extern const char kUpsertSegmentSql[];  // ?1..?8, see BindSegment
extern const char kDeleteSegmentSql[];  // ?1 id
extern const char kSelectSnapshotsSql[];
extern const char kUpsertSnapshotSql[];  // ?1..?7, see BindSnapshot
extern const char kDeleteSnapshotSql[];  // ?1 id
// ?1 after sequence, ?2 limit (runs)
extern const char kSelectChangeRunsSql[];
extern const char kInsertChangeRunSql[];  // ?1..?8, see BindChangeRun
extern const char kSelectMetaSql[];       // key, value
extern const char kPutMetaSql[];          // ?1 key, ?2 value
extern const char kSelectMetaValueSql[];  // ?1 key -> value
// The last_sequence of the newest run (runs do not overlap), 0 when none.
extern const char kSelectLastChangeSequenceSql[];
// ?1 kLastSequenceKey, ?2 kChangesPrunedBeforeKey -> the oldest stored
// sequence (the last + 1 when none is), changes_pruned_before (0: never).
extern const char kSelectRetentionSql[];
// ?1 n -> first_sequence, time of the n oldest runs, oldest first.
extern const char kSelectOldestRunTimesSql[];
extern const char kDeleteRunsThroughSql[];  // ?1 first_sequence

// The history index (indexed_runs, schema version 6): the runs of
// change_runs by segment and time, without their contacts. It holds every
// run of change_runs up to its own last first_sequence (pruning deletes one
// prefix from both tables), so the runs after that are the ones waiting to
// be indexed: a condition on change_runs, for SQL built from literals.
#define SEGMENTS_SQL_WAITING_RUN \
  "first_sequence > (SELECT IFNULL(MAX(first_sequence), 0) FROM indexed_runs)"
extern const char kDeleteIndexedRunsThroughSql[];  // ?1 first_sequence
// Adds every waiting run to the index.
extern const char kIndexWaitingRunsSql[];
// -> the number of waiting runs.
extern const char kCountWaitingRunsSql[];

// meta keys.
extern const char kNextContactIdKey[];
extern const char kNextSegmentIdKey[];
extern const char kLastSequenceKey[];
extern const char kTimeAppliedUntilKey[];
extern const char kNextSnapshotIdKey[];
// The id of the workspace the file belongs to (written at creation since
// this key exists; older files have none).
extern const char kWorkspaceIdKey[];
// Written by the pruning of the log (absent: nothing was ever pruned): every
// change event with time at or after it is kept. History refuses earlier
// moments (storage/history_queries.h).
extern const char kChangesPrunedBeforeKey[];

// `tags_buffer` is scratch space reused across calls. The strings are bound
// without a copy: `c` and `*tags_buffer` must stay as they are until the
// statement runs.
void BindContact(const Contact& c, std::string* tags_buffer,
                 SqliteStatement* s);
std::string DecodeContact(const SqliteStatement& s, Contact* c);

void BindSegment(const SegmentRecord& r, SqliteStatement* s);
std::string DecodeSegment(const SqliteStatement& s, SegmentRecord* r);

void BindSnapshot(const SnapshotRecord& r, SqliteStatement* s);
// Everything but the members' bytes, which the engine checks at load.
std::string DecodeSnapshot(const SqliteStatement& s, SnapshotRecord* r);

// Binds `run`; `blob_buffer` is scratch.
void BindChangeRun(const ChangeRun& run, std::string* blob_buffer,
                   SqliteStatement* s);
// Appends the events of one change_runs row to `out`.
std::string DecodeChangeRun(const SqliteStatement& s,
                            std::vector<MembershipChange>* out);

// One change_runs row as a run (DecodeChangeRun's checks).
std::string DecodeChangeRunRow(const SqliteStatement& s, ChangeRun* run);

// Reads one meta row into `*counters`; sets `*known` when the key is one of
// the counters (other keys are left to later schema versions).
std::string DecodeMeta(const SqliteStatement& s, WorkspaceCounters* counters,
                       bool* known);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_WORKSPACE_ROWS_H_
