#include "storage/history_queries.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "storage/record_checks.h"
#include "storage/workspace_rows.h"

namespace segments {

// ?1 segment, ?2 start, ?3 end of the last bucket, ?4 bucket seconds,
// ?5 up to sequence -> kind, bucket (-1: at or after the end), events.
// Runs are committed whole, so a run is either all at or below ?5 or not.
// The indexed runs through the covering index indexed_runs_by_segment_time,
// the few waiting ones from the log itself (workspace_rows.h).
const char kCountSegmentChangesSql[] =
    "SELECT kind, CASE WHEN time >= ?3 THEN -1 ELSE (time - ?2) / ?4 END "
    "AS bucket, SUM(last_sequence - first_sequence + 1) FROM ("
    "SELECT kind, time, first_sequence, last_sequence FROM indexed_runs "
    "WHERE segment_id = ?1 AND time >= ?2 AND last_sequence <= ?5 "
    "UNION ALL "
    "SELECT kind, time, first_sequence, last_sequence FROM change_runs "
    "WHERE " SEGMENTS_SQL_WAITING_RUN
    " AND segment_id = ?1 AND time >= ?2 AND last_sequence <= ?5) "
    "GROUP BY bucket, kind";

namespace {

// ?1 segment, ?2 contact, ?3 up to sequence; the columns of
// kSelectChangeRunsSql (DecodeChangeRun). A run of one event of another
// contact cannot hold ?2, so it is skipped here. The indexed runs are found
// through the index and read by rowid; the waiting ones from the log.
#define SEGMENTS_CONTACT_RUN_COLUMNS                                         \
  "SELECT first_sequence, segment_id, first_contact_id, kind, cause, time, " \
  "last_sequence, more_contact_ids FROM change_runs "
#define SEGMENTS_CONTACT_RUN_HOLDS \
  " AND (first_contact_id = ?2 OR last_sequence > first_sequence)"
constexpr char kSelectContactRunsSql[] = SEGMENTS_CONTACT_RUN_COLUMNS
    "WHERE first_sequence IN (SELECT first_sequence FROM indexed_runs "
    "WHERE segment_id = ?1 AND last_sequence <= ?3)" SEGMENTS_CONTACT_RUN_HOLDS
    " UNION ALL " SEGMENTS_CONTACT_RUN_COLUMNS "WHERE " SEGMENTS_SQL_WAITING_RUN
    " AND segment_id = ?1 AND last_sequence <= ?3" SEGMENTS_CONTACT_RUN_HOLDS
    " ORDER BY first_sequence";
#undef SEGMENTS_CONTACT_RUN_COLUMNS
#undef SEGMENTS_CONTACT_RUN_HOLDS

// Bound values beyond SQLite's integers match nothing stored anyway.
int64_t Clamp(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, kMaxStoredUint));
}

absl::Status BadRow(const SqliteDb& db, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(db.path(), ": ", what));
}

}  // namespace

absl::StatusOr<UnixSeconds> ReadChangesPrunedBefore(SqliteDb* db) {
  ASSIGN_OR_RETURN(auto get, db->Prepare(kSelectMetaValueSql));
  SqliteStatement::Scope scope(*get);
  get->BindText(1, kChangesPrunedBeforeKey);
  ASSIGN_OR_RETURN(const bool row, get->Step());
  if (!row) return 0;
  const int64_t value = get->ColumnInt(0);
  if (value < 0) {
    return BadRow(*db, absl::StrCat("meta changes_pruned_before ", value,
                                    " is out of range"));
  }
  return value;
}

absl::StatusOr<SegmentChangeCounts> QuerySegmentChangeCounts(
    SqliteDb* db, const SegmentChangeCountsQuery& query) {
  SegmentChangeCounts counts;
  StartCounts(query, &counts);
  const UnixSeconds end =
      query.start + static_cast<int64_t>(query.buckets) * query.bucket_seconds;
  ASSIGN_OR_RETURN(auto s, db->Prepare(kCountSegmentChangesSql));
  SqliteStatement::Scope scope(*s);
  s->BindInt(1, Clamp(query.segment_id));
  s->BindInt(2, query.start);
  s->BindInt(3, end);
  s->BindInt(4, query.bucket_seconds);
  s->BindInt(5, Clamp(query.up_to_sequence));
  while (true) {
    ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) break;
    const int64_t kind = s->ColumnInt(0);
    const int64_t bucket = s->ColumnInt(1);
    const int64_t events = s->ColumnInt(2);
    if (kind != static_cast<int>(ChangeKind::kEntered) &&
        kind != static_cast<int>(ChangeKind::kLeft)) {
      return BadRow(*db, absl::StrCat("change_runs of segment ",
                                      query.segment_id, ": kind ", kind));
    }
    if (bucket < -1 || bucket >= static_cast<int64_t>(query.buckets) ||
        events < 1) {
      return BadRow(*db,
                    absl::StrCat("change_runs of segment ", query.segment_id,
                                 ": last_sequence before first_sequence"));
    }
    const bool entered = kind == static_cast<int>(ChangeKind::kEntered);
    const auto n = static_cast<uint64_t>(events);
    if (bucket < 0) {
      (entered ? counts.entered_after : counts.left_after) += n;
    } else {
      (entered ? counts.entered : counts.left)[static_cast<size_t>(bucket)] +=
          n;
    }
  }
  return counts;
}

absl::StatusOr<std::vector<MembershipChange>> QueryContactChanges(
    SqliteDb* db, SegmentId segment_id, ContactId contact_id,
    uint64_t up_to_sequence) {
  std::vector<MembershipChange> out;
  std::vector<MembershipChange> run;  // scratch, reused row to row
  ASSIGN_OR_RETURN(auto s, db->Prepare(kSelectContactRunsSql));
  SqliteStatement::Scope scope(*s);
  s->BindInt(1, Clamp(segment_id));
  s->BindInt(2, contact_id);
  s->BindInt(3, Clamp(up_to_sequence));
  while (true) {
    ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) break;
    run.clear();
    const std::string problem = DecodeChangeRun(*s, &run);
    if (!problem.empty()) {
      return BadRow(*db, absl::StrCat("change_runs row first_sequence=",
                                      s->ColumnInt(0), ": ", problem));
    }
    // One write names a contact once, so a run holds it at most once.
    for (const MembershipChange& c : run) {
      if (c.contact_id == contact_id) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

}  // namespace segments
