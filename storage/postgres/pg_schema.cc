#include "storage/postgres/pg_schema.h"

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace segments {

const std::vector<const char*>& PgMigrations() {
  static const auto* const kMigrations = new std::vector<const char*>{
      // 0 -> 1: the initial schema (SQLite's workspace schema version 5 and
      // catalog version 3, with workspace ids).
      R"sql(
        CREATE TABLE catalog_meta (
          key text PRIMARY KEY,
          value bigint NOT NULL
        );
        INSERT INTO catalog_meta (key, value) VALUES ('next_workspace_id', 1);
        CREATE TABLE workspaces (
          id bigint PRIMARY KEY,
          display_name bytea NOT NULL,
          plan bigint NOT NULL,
          key_hash bytea NOT NULL,
          create_time bigint NOT NULL,
          wake_time bigint DEFAULT 0
        );
        CREATE TABLE workspace_state (
          workspace_id bigint PRIMARY KEY,
          next_contact_id bigint NOT NULL DEFAULT 1,
          next_segment_id bigint NOT NULL DEFAULT 1,
          last_sequence bigint NOT NULL DEFAULT 0,
          time_applied_until bigint NOT NULL DEFAULT 0,
          next_snapshot_id bigint NOT NULL DEFAULT 1,
          changes_pruned_before bigint NOT NULL DEFAULT 0,
          provisional boolean NOT NULL
        );
        CREATE TABLE contacts (
          workspace_id bigint NOT NULL,
          id bigint NOT NULL,
          email bytea NOT NULL,
          company bytea,
          job_title bytea,
          country bytea,
          city bytea,
          source bytea,
          tags bytea NOT NULL,
          lifecycle_stage bigint NOT NULL,
          lead_score bigint NOT NULL,
          engagement_score bigint NOT NULL,
          engagement_trend bigint,
          conversion_likelihood bigint,
          created_at bigint NOT NULL,
          last_engaged_at bigint,
          PRIMARY KEY (workspace_id, id)
        );
        CREATE TABLE segments (
          workspace_id bigint NOT NULL,
          id bigint NOT NULL,
          display_name bytea NOT NULL,
          filter bytea NOT NULL,
          state bigint NOT NULL,
          create_time bigint NOT NULL,
          update_time bigint NOT NULL,
          frozen_members bytea NOT NULL,
          frozen_as_of bigint NOT NULL,
          PRIMARY KEY (workspace_id, id)
        );
        CREATE TABLE change_runs (
          workspace_id bigint NOT NULL,
          first_sequence bigint NOT NULL,
          last_sequence bigint NOT NULL,
          segment_id bigint NOT NULL,
          kind bigint NOT NULL,
          cause bigint NOT NULL,
          time bigint NOT NULL,
          first_contact_id bigint NOT NULL,
          more_contact_ids bytea NOT NULL,
          PRIMARY KEY (workspace_id, first_sequence)
        );
        CREATE INDEX change_runs_by_segment_time
          ON change_runs (workspace_id, segment_id, time);
        CREATE TABLE snapshots (
          workspace_id bigint NOT NULL,
          id bigint NOT NULL,
          segment_id bigint NOT NULL,
          as_of_sequence bigint NOT NULL,
          member_count bigint NOT NULL,
          create_time bigint NOT NULL,
          expire_time bigint NOT NULL,
          members bytea NOT NULL,
          PRIMARY KEY (workspace_id, id)
        );
      )sql",
      // 1 -> 2: leases (pg_leases.h): which node serves a workspace.
      R"sql(
        CREATE TABLE workspace_leases (
          workspace_id bigint PRIMARY KEY,
          owner bytea NOT NULL,
          epoch bigint NOT NULL,
          expires_at timestamptz NOT NULL
        );
      )sql",
      // 2 -> 3: the lookups of nodes sharing the database (docs/scale-out.md):
      // a key a node has not seen (a workspace another node created or
      // re-keyed), and the wake-time scan for workspaces no node holds.
      R"sql(
        CREATE INDEX workspaces_by_key_hash ON workspaces (key_hash);
        CREATE INDEX workspaces_by_wake_time ON workspaces (wake_time);
      )sql",
      // 3 -> 4: the node that was last asked for a workspace another node
      // holds (pg_leases.h, "wanted"): the holder gives it up once idle, so
      // the lease follows the calls that nginx routes (docs/scale-out.md).
      R"sql(
        ALTER TABLE workspace_leases ADD COLUMN wanted_by bytea;
      )sql",
  };
  return *kMigrations;
}

int PgSchemaVersion() { return static_cast<int>(PgMigrations().size()); }

absl::Status MigratePgSchema(PgConn* conn) {
  const std::vector<const char*>& steps = PgMigrations();
  while (true) {
    PgTransaction txn(conn);
    RETURN_IF_ERROR(txn.Begin());
    // Held to the end of the transaction: one node migrates at a time.
    RETURN_IF_ERROR(
        conn->Exec("SELECT pg_advisory_xact_lock(5347575300000001)"));
    RETURN_IF_ERROR(
        conn->Exec("CREATE TABLE IF NOT EXISTS segments_schema ("
                   "app text PRIMARY KEY, version bigint NOT NULL)"));
    ASSIGN_OR_RETURN(PgResult r,
                     conn->Query("SELECT version FROM segments_schema "
                                 "WHERE app = 'segments'"));
    const int64_t version = r.rows() == 0 ? 0 : r.Int(0, 0);
    if (version > static_cast<int64_t>(steps.size())) {
      return absl::FailedPreconditionError(
          absl::StrCat("the PostgreSQL database has schema version ", version,
                       ", newer than this binary's ", steps.size(),
                       ": run a newer segments-server"));
    }
    if (version < 0) {
      return absl::DataLossError(
          absl::StrCat("segments_schema version ", version, " is invalid"));
    }
    if (version == static_cast<int64_t>(steps.size())) return txn.Commit();
    RETURN_IF_ERROR(conn->Exec(steps[static_cast<size_t>(version)]));
    PgParams p;
    p.Int(version + 1);
    RETURN_IF_ERROR(conn->Query("INSERT INTO segments_schema (app, version) "
                                "VALUES ('segments', $1) ON CONFLICT (app) "
                                "DO UPDATE SET version = excluded.version",
                                p)
                        .status());
    RETURN_IF_ERROR(txn.Commit());
  }
}

}  // namespace segments
