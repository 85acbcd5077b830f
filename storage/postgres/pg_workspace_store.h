// One workspace's data in the PostgreSQL database of a PgCatalogStore: its
// rows of the tables in pg_schema.h, keyed by its workspace id.
//
// Commit writes a whole WorkspaceWrite in one transaction, in the SQLite
// store's order: it first locks the workspace_state row (FOR UPDATE: a
// concurrent DeleteWorkspace, and later a lease takeover, serialize on
// it), then puts, then deletes (an id both put and deleted by one write ends
// deleted), then the change log, then the counters. The puts of a table
// are one statement however many rows: INSERT ... SELECT FROM unnest() of
// one binary array parameter per column, ON CONFLICT DO UPDATE (the last
// put of an id in one write wins, as sequential upserts would); deletes
// one DELETE ... = ANY(array) per table; the change log one INSERT.
// CommitCompleting finds the change log on a second thread while this one sends
// the rows.
//
// Thread-safety: thread-safe; each call takes a connection of the shared
// PgPool for its duration, so change-feed and history readers never wait
// for a commit (PostgreSQL's MVCC gives them the last committed state).
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_WORKSPACE_STORE_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_WORKSPACE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/store/store.h"
#include "storage/postgres/pg_conn.h"
#include "storage/postgres/pg_leases.h"

namespace segments {

class PgWorkspaceStore : public WorkspaceStore {
 public:
  // The store of workspace `id`; it does not check that the workspace's
  // data exists (PgCatalogStore::OpenWorkspace does). With `leases`, the
  // store holds the workspace's lease at `epoch`: every commit (and prune)
  // is fenced by it, and the destructor releases it.
  PgWorkspaceStore(std::shared_ptr<PgPool> pool, WorkspaceId id,
                   std::shared_ptr<PgLeases> leases = nullptr,
                   int64_t epoch = 0);
  ~PgWorkspaceStore() override;

  // DATA_LOSS naming the table and row for a row that does not decode or
  // breaks the model (the checks of SqliteWorkspaceStore::LoadStreaming),
  // and when the workspace's data is gone.
  absl::StatusOr<WorkspaceData> LoadStreaming(const ContactSink& sink) override;
  // INTERNAL (nothing stored) for a record that breaks a storage invariant
  // or a change sequence already stored; FAILED_PRECONDITION when the
  // workspace was deleted since it was opened; (leased) UNAVAILABLE with
  // reason WORKSPACE_NOT_OWNED and a retry delay when this node's lease at
  // the store's epoch is not live; UNAVAILABLE when PostgreSQL
  // cannot be reached (then, too, nothing is stored: the transaction did
  // not commit).
  absl::Status Commit(const WorkspaceWrite& write) override;
  absl::Status CommitCompleting(WorkspaceWrite* write,
                                absl::FunctionRef<void()> complete) override;
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) override;
  absl::StatusOr<std::vector<ChangeRun>> ReadChangeRuns(
      uint64_t after_sequence, size_t max_events) override;
  absl::StatusOr<LogRetention> ReadRetention() override;
  absl::StatusOr<LogRetention> PruneChanges(UnixSeconds before,
                                            size_t max_runs) override;
  // Each in one REPEATABLE READ transaction with the retention horizon.
  absl::StatusOr<SegmentChangeCounts> CountSegmentChanges(
      const SegmentChangeCountsQuery& query) override;
  absl::StatusOr<ContactChanges> ReadContactChanges(
      SegmentId segment_id, ContactId contact_id,
      uint64_t up_to_sequence) override;

  WorkspaceId id() const { return id_; }

 private:
  // FOR UPDATE on the workspace_state row (and, leased, on the lease row,
  // checked to be this node's at the store's epoch and unexpired);
  // FAILED_PRECONDITION when gone or not.
  absl::Status LockState(PgConn* conn);
  absl::Status WriteRows(PgConn* conn, const WorkspaceWrite& write);
  absl::Status WriteChanges(PgConn* conn, const WorkspaceWrite& write);
  // INSERT INTO `table` (workspace_id, `columns`) of the rows in `values`
  // (a column each, of equal sizes); ON CONFLICT DO UPDATE SET `update`
  // unless it is nullptr.
  absl::Status SendBatch(PgConn* conn, const char* table, const char* columns,
                         const char* update,
                         const std::vector<PgArray>& values);
  absl::StatusOr<LogRetention> QueryRetention(PgConn* conn);
  absl::StatusOr<UnixSeconds> QueryPrunedBefore(PgConn* conn);
  // The runs from the one holding after_sequence + 1 on, at most `runs`.
  absl::StatusOr<PgResult> QueryRuns(PgConn* conn, uint64_t after_sequence,
                                     size_t runs);
  absl::Status DataLoss(absl::string_view what) const;

  const std::shared_ptr<PgPool> pool_;
  const WorkspaceId id_;
  const std::shared_ptr<PgLeases> leases_;  // nullptr: no leases
  const int64_t epoch_;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_WORKSPACE_STORE_H_
