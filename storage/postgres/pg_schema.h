// The schema of the PostgreSQL store: one database holds the catalog and
// every workspace, each workspace's rows keyed by a workspace_id column
// (docs/scale-out.md says why not a schema per workspace).
//
//   segments_schema  (app, version): the schema version, as user_version is
//                    for an SQLite file; 'segments' is the only app
//   catalog_meta     next_workspace_id
//   workspaces       the catalog records (and wake_time)
//   workspace_state  one row per workspace whose data exists: the counters,
//                    changes_pruned_before and `provisional` (created, its
//                    record not yet stored). Every commit locks and
//                    updates this row, so it is what a commit is fenced on.
//   workspace_leases (workspace_id, owner, epoch, expires_at): which node
//                    serves a workspace (pg_leases.h); no row: none yet
//   contacts, segments, snapshots, change_runs
//                    the rows of workspace_rows.h, with workspace_id first
//                    in each primary key. Strings are bytea (byte-exact, as
//                    SQLite's TEXT is; PostgreSQL text cannot hold NUL).
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_SCHEMA_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_SCHEMA_H_

#include <vector>

#include "absl/status/status.h"
#include "storage/postgres/pg_conn.h"

namespace segments {

// migrations[i] takes the schema from version i to i + 1. Append only.
const std::vector<const char*>& PgMigrations();
int PgSchemaVersion();

// Brings the database to PgSchemaVersion() in one transaction per step,
// under an advisory lock so that nodes starting together migrate once.
// FAILED_PRECONDITION when the database's schema is newer than this
// binary's.
absl::Status MigratePgSchema(PgConn* conn);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_SCHEMA_H_
