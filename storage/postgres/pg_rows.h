// The rows of a PostgreSQL workspace's tables (storage/postgres/
// pg_schema.cc): the column lists the store's statements name, in the order
// the decoders read them, their ON CONFLICT update lists, and the decoders
// with the same checks as SQLite's (storage/workspace_rows.cc).
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_ROWS_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_ROWS_H_

#include <string>

#include "core/store/store.h"
#include "storage/postgres/pg_conn.h"

namespace segments {

inline constexpr char kContactColumns[] =
    "id, email, company, job_title, country, city, source, tags, "
    "lifecycle_stage, lead_score, engagement_score, engagement_trend, "
    "conversion_likelihood, created_at, last_engaged_at";
inline constexpr char kContactUpdate[] =
    "email = excluded.email, company = excluded.company, "
    "job_title = excluded.job_title, country = excluded.country, "
    "city = excluded.city, source = excluded.source, tags = excluded.tags, "
    "lifecycle_stage = excluded.lifecycle_stage, "
    "lead_score = excluded.lead_score, "
    "engagement_score = excluded.engagement_score, "
    "engagement_trend = excluded.engagement_trend, "
    "conversion_likelihood = excluded.conversion_likelihood, "
    "created_at = excluded.created_at, "
    "last_engaged_at = excluded.last_engaged_at";
inline constexpr char kSegmentColumns[] =
    "id, display_name, filter, state, create_time, update_time, "
    "frozen_members, frozen_as_of";
inline constexpr char kSegmentUpdate[] =
    "display_name = excluded.display_name, filter = excluded.filter, "
    "state = excluded.state, create_time = excluded.create_time, "
    "update_time = excluded.update_time, "
    "frozen_members = excluded.frozen_members, "
    "frozen_as_of = excluded.frozen_as_of";
inline constexpr char kSnapshotColumns[] =
    "id, segment_id, as_of_sequence, member_count, create_time, expire_time, "
    "members";
inline constexpr char kSnapshotUpdate[] =
    "segment_id = excluded.segment_id, "
    "as_of_sequence = excluded.as_of_sequence, "
    "member_count = excluded.member_count, "
    "create_time = excluded.create_time, expire_time = excluded.expire_time, "
    "members = excluded.members";
inline constexpr char kRunColumns[] =
    "first_sequence, segment_id, first_contact_id, kind, cause, time, "
    "last_sequence, more_contact_ids";

// Each decodes row `row` of `r` (read with the matching column list) into
// its record and returns "" or the row's first problem.
std::string DecodeContactRow(const PgResult& r, int row, Contact* c);
std::string DecodeSegmentRow(const PgResult& r, int row, SegmentRecord* s);
std::string DecodeSnapshotRow(const PgResult& r, int row, SnapshotRecord* s);
// A change_runs row (kRunColumns) as a run; the checks of workspace_rows.cc.
std::string DecodeRunRow(const PgResult& r, int row, ChangeRun* run);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_ROWS_H_
