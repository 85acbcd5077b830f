#include "storage/sqlite_workspace_store.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "storage/change_runs.h"
#include "storage/history_queries.h"
#include "storage/record_checks.h"
#include "storage/workspace_rows.h"

namespace segments {
namespace {

// The 64-bit hashes of a load's emails, to find repeated ones: appended in
// row order into 256 buckets by their top 8 bits, then each bucket sorted
// (a repeated hash is a neighbour there). Sorting 256 buckets that fit in
// a core's cache, half of them on each of two threads, in place of one
// sort of them all (a second of one core at 10M contacts, after the last
// row, issue 16). 8 bytes per contact, written in sequence, where a hash
// map of them (16M slots of 16 bytes at 10M contacts) cost a cache and TLB
// miss per contact.
class EmailHashes {
 public:
  // `expected`: about how many will be added (the buckets' capacity; more
  // still work).
  explicit EmailHashes(size_t expected) {
    const size_t each = expected / kBuckets;
    // A bucket's size varies by about sqrt(each): a 1.6% margin covers it
    // from about 10^5 contacts on.
    for (std::vector<uint64_t>& b : buckets_) b.reserve(each + each / 64 + 64);
  }
  void Add(uint64_t hash) { buckets_[hash >> (64 - kBits)].push_back(hash); }
  // The hashes added more than once, each once, ascending; frees the rest.
  std::vector<uint64_t> Repeated() {
    size_t total = 0;
    for (const std::vector<uint64_t>& b : buckets_) total += b.size();
    std::array<std::vector<uint64_t>, 2> repeated;
    ForEachHalf(kBuckets, total >= kParallelMinItems * 64,
                [&](size_t begin, size_t end, int half) {
                  for (size_t i = begin; i < end; ++i) {
                    std::vector<uint64_t>& values = buckets_[i];
                    std::sort(values.begin(), values.end());
                    std::vector<uint64_t>& out = repeated[half];
                    for (size_t k = 1; k < values.size(); ++k) {
                      if (values[k] == values[k - 1] &&
                          (k == 1 || values[k - 2] != values[k])) {
                        out.push_back(values[k]);
                      }
                    }
                    std::vector<uint64_t>().swap(values);
                  }
                });
    repeated[0].insert(repeated[0].end(), repeated[1].begin(),
                       repeated[1].end());
    return std::move(repeated[0]);
  }

 private:
  static constexpr int kBits = 8;
  static constexpr size_t kBuckets = size_t{1} << kBits;
  std::array<std::vector<uint64_t>, kBuckets> buckets_;
};

}  // namespace

struct SqliteWorkspaceStore::WriteStatements {
  std::unique_ptr<SqliteStatement> upsert_contact;
  std::unique_ptr<SqliteStatement> delete_contact;
  std::unique_ptr<SqliteStatement> upsert_segment;
  std::unique_ptr<SqliteStatement> delete_segment;
  std::unique_ptr<SqliteStatement> upsert_snapshot;
  std::unique_ptr<SqliteStatement> delete_snapshot;
  std::unique_ptr<SqliteStatement> insert_change_run;
  std::unique_ptr<SqliteStatement> put_meta;
  std::unique_ptr<SqliteStatement> index_waiting_runs;
};

int SqliteWorkspaceStore::SchemaVersion() {
  return static_cast<int>(WorkspaceMigrations().size());
}

absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>>
SqliteWorkspaceStore::Open(const std::string& path,
                           const SqliteOptions& options) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> write_db,
      OpenAndMigrate(path, options, kWorkspaceAppId, WorkspaceMigrations()));
  return FromDb(path, options, std::move(write_db));
}

absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>>
SqliteWorkspaceStore::Create(const std::string& path,
                             const SqliteOptions& options,
                             WorkspaceId workspace_id) {
  if (workspace_id == 0 || workspace_id > kMaxStoredUint) {
    return absl::InvalidArgumentError(
        absl::StrCat("workspace id ", workspace_id, " is out of range"));
  }
  RETURN_IF_ERROR(CreatePrivateFile(path));
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> write_db,
      OpenAndMigrate(path, options, kWorkspaceAppId, WorkspaceMigrations()));
  {
    ASSIGN_OR_RETURN(auto put, write_db->Prepare(kPutMetaSql));
    put->BindText(1, kWorkspaceIdKey);
    put->BindInt(2, static_cast<int64_t>(workspace_id));
    RETURN_IF_ERROR(put->Run());
  }
  return FromDb(path, options, std::move(write_db));
}

absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>>
SqliteWorkspaceStore::OpenExisting(const std::string& path,
                                   const SqliteOptions& options,
                                   WorkspaceId workspace_id) {
  absl::StatusOr<uint64_t> size = FileSize(path);
  if (absl::IsNotFound(size.status())) {
    return absl::DataLossError(
        absl::StrCat(path, " is missing: the workspace's data is lost"));
  }
  RETURN_IF_ERROR(size.status());
  if (*size == 0) {
    return absl::DataLossError(absl::StrCat(
        path, " is empty (0 bytes): the workspace's data is lost"));
  }
  // Files of an older binary may be readable by others.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    RETURN_IF_ERROR(RestrictToOwner(path + suffix));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> write_db,
      SqliteDb::Open(path, /*create=*/false, options.busy_timeout_ms));
  RETURN_IF_ERROR(
      CheckSchemaOwner(write_db.get(), kWorkspaceAppId, SchemaVersion()));
  ASSIGN_OR_RETURN(int64_t version, write_db->QueryInt("PRAGMA user_version"));
  if (version == 0) {
    return absl::DataLossError(absl::StrCat(
        path, " has no workspace schema: the workspace's data is lost"));
  }
  RETURN_IF_ERROR(write_db->Configure(options));
  RETURN_IF_ERROR(
      MigrateSchema(write_db.get(), kWorkspaceAppId, WorkspaceMigrations()));
  {
    // Files written before ids were recorded have none; they are accepted.
    ASSIGN_OR_RETURN(auto get, write_db->Prepare(kSelectMetaValueSql));
    SqliteStatement::Scope scope(*get);
    get->BindText(1, kWorkspaceIdKey);
    ASSIGN_OR_RETURN(bool row, get->Step());
    if (row && get->ColumnInt(0) != static_cast<int64_t>(workspace_id)) {
      return absl::DataLossError(
          absl::StrCat(path, " holds the data of workspace ", get->ColumnInt(0),
                       ", not of workspace ", workspace_id));
    }
  }
  return FromDb(path, options, std::move(write_db));
}

absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>>
SqliteWorkspaceStore::FromDb(const std::string& path,
                             const SqliteOptions& options,
                             std::unique_ptr<SqliteDb> write_db) {
  auto w = std::make_unique<WriteStatements>();
  ASSIGN_OR_RETURN(w->upsert_contact, write_db->Prepare(kUpsertContactSql));
  ASSIGN_OR_RETURN(w->delete_contact, write_db->Prepare(kDeleteContactSql));
  ASSIGN_OR_RETURN(w->upsert_segment, write_db->Prepare(kUpsertSegmentSql));
  ASSIGN_OR_RETURN(w->delete_segment, write_db->Prepare(kDeleteSegmentSql));
  ASSIGN_OR_RETURN(w->upsert_snapshot, write_db->Prepare(kUpsertSnapshotSql));
  ASSIGN_OR_RETURN(w->delete_snapshot, write_db->Prepare(kDeleteSnapshotSql));
  ASSIGN_OR_RETURN(w->insert_change_run,
                   write_db->Prepare(kInsertChangeRunSql));
  ASSIGN_OR_RETURN(w->put_meta, write_db->Prepare(kPutMetaSql));
  ASSIGN_OR_RETURN(w->index_waiting_runs,
                   write_db->Prepare(kIndexWaitingRunsSql));

  ASSIGN_OR_RETURN(FileId file, GetFileId(path));

  // The change feed reads through its own connection: in WAL mode it sees
  // the last committed state without waiting for a writer.
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> read_db,
      SqliteDb::Open(path, /*create=*/false, options.busy_timeout_ms));
  RETURN_IF_ERROR(read_db->Exec("PRAGMA query_only=1"));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> read_changes,
                   read_db->Prepare(kSelectChangeRunsSql));
  std::shared_ptr<CheckpointPool> pool =
      options.checkpoint_pool != nullptr ? options.checkpoint_pool
                                         : std::make_shared<CheckpointPool>(1);
  ASSIGN_OR_RETURN(
      std::unique_ptr<WalCheckpointer> checkpointer,
      WalCheckpointer::Start(write_db.get(), options.checkpoint_pages,
                             options.busy_timeout_ms, pool.get()));
  std::unique_ptr<SqliteWorkspaceStore> store(new SqliteWorkspaceStore(
      path, file, options, std::move(write_db), std::move(w),
      std::move(read_db), std::move(read_changes)));
  store->checkpoint_pool_ = std::move(pool);
  store->checkpointer_ = std::move(checkpointer);
  return store;
}

SqliteWorkspaceStore::SqliteWorkspaceStore(
    std::string path, FileId file, const SqliteOptions& options,
    std::unique_ptr<SqliteDb> write_db,
    std::unique_ptr<WriteStatements> write_stmts,
    std::unique_ptr<SqliteDb> read_db,
    std::unique_ptr<SqliteStatement> read_changes)
    : path_(std::move(path)),
      unindexed_runs_limit_(
          static_cast<size_t>(std::max(1, options.unindexed_runs_limit))),
      file_(file),
      write_db_(std::move(write_db)),
      write_(std::move(write_stmts)),
      read_db_(std::move(read_db)),
      read_changes_(std::move(read_changes)) {}

SqliteWorkspaceStore::~SqliteWorkspaceStore() = default;

absl::StatusOr<std::string> SqliteWorkspaceStore::QueryPragma(
    const std::string& name) {
  absl::MutexLock lock(&write_mu_);
  return write_db_->QueryText("PRAGMA " + name);
}

absl::Status SqliteWorkspaceStore::CheckRepeatedEmailHashes(
    const std::vector<uint64_t>& repeated) {
  if (repeated.empty()) return absl::OkStatus();
  // A second pass, only when two emails hash alike (a repeated email, or a
  // 64-bit collision): the contacts of those hashes, with their emails,
  // compared exactly. Within the load's read transaction, so it reads the
  // rows the first pass read.
  absl::flat_hash_map<uint64_t, std::vector<std::pair<ContactId, std::string>>>
      by_hash;
  for (uint64_t h : repeated) by_hash[h];
  ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(kSelectContactsSql));
  SqliteStatement::Scope scope(*stmt);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const std::string_view email = stmt->ColumnText(1);
    auto it = by_hash.find(absl::HashOf(email));
    if (it == by_hash.end()) continue;
    const auto id = static_cast<ContactId>(stmt->ColumnInt(0));
    for (const auto& [first, seen] : it->second) {
      if (seen == email) {
        return absl::DataLossError(
            absl::StrCat(path_, ": contacts rows id=", first, " and id=", id,
                         " have the same email"));
      }
    }
    it->second.emplace_back(id, std::string(email));
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkspaceData> SqliteWorkspaceStore::LoadStreaming(
    const ContactSink& sink) {
  absl::MutexLock lock(&write_mu_);
  auto data_loss = [this](absl::string_view table, int64_t id,
                          absl::string_view problem) {
    return absl::DataLossError(
        absl::StrCat(path_, ": ", table, " row id=", id, ": ", problem));
  };
  WorkspaceData data;
  // One read transaction, so the three tables are a consistent snapshot.
  SqliteTransaction txn(write_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  {
    ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(kSelectMetaSql));
    SqliteStatement::Scope scope(*stmt);
    int found = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      bool known = false;
      const std::string problem = DecodeMeta(*stmt, &data.counters, &known);
      if (!problem.empty()) {
        return absl::DataLossError(absl::StrCat(path_, ": meta ", problem));
      }
      found += known ? 1 : 0;
    }
    // next_contact_id, next_segment_id, last_sequence, time_applied_until,
    // next_snapshot_id.
    constexpr int kCounterKeys = 5;
    if (found != kCounterKeys) {
      return absl::DataLossError(
          absl::StrCat(path_, ": meta table lacks counters"));
    }
  }
  {
    ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(kSelectContactsSql));
    SqliteStatement::Scope scope(*stmt);
    // Reused (DecodeContact sets every field): its strings keep their
    // capacity from row to row.
    Contact contact;
    // Each email's 64-bit hash, sorted after the last row (EmailHashes). A
    // repeated hash is checked exactly by a second pass
    // (CheckRepeatedEmailHashes).
    // No more contacts than ids handed out (bounded: the counter is data).
    EmailHashes email_hashes(
        std::min<size_t>(data.counters.next_contact_id, size_t{1} << 24));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      std::string problem = DecodeContact(*stmt, &contact);
      if (problem.empty() && contact.id >= data.counters.next_contact_id) {
        problem = absl::StrCat("id is not below next_contact_id ",
                               data.counters.next_contact_id,
                               " (it would be assigned again)");
      }
      if (!problem.empty()) {
        return data_loss("contacts", stmt->ColumnInt(0), problem);
      }
      email_hashes.Add(absl::HashOf(std::string_view(contact.email)));
      sink(contact);
    }
    RETURN_IF_ERROR(CheckRepeatedEmailHashes(email_hashes.Repeated()));
  }
  {
    ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(kSelectSegmentsSql));
    SqliteStatement::Scope scope(*stmt);
    absl::flat_hash_map<std::string, SegmentId> by_name;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      SegmentRecord& segment = data.segments.emplace_back();
      std::string problem = DecodeSegment(*stmt, &segment);
      if (problem.empty() && segment.id >= data.counters.next_segment_id) {
        problem = absl::StrCat("id is not below next_segment_id ",
                               data.counters.next_segment_id,
                               " (it would be assigned again)");
      }
      if (problem.empty()) {
        auto [it, inserted] = by_name.try_emplace(
            absl::AsciiStrToLower(segment.display_name), segment.id);
        if (!inserted) {
          problem = absl::StrCat("its name is the name of segment ", it->second,
                                 " (ignoring case)");
        }
      }
      if (!problem.empty()) {
        return data_loss("segments", stmt->ColumnInt(0), problem);
      }
    }
  }
  RETURN_IF_ERROR(LoadSnapshots(&data));
  {
    ASSIGN_OR_RETURN(int64_t last,
                     write_db_->QueryInt(kSelectLastChangeSequenceSql));
    if (last < 0 || static_cast<uint64_t>(last) > data.counters.last_sequence) {
      return absl::DataLossError(absl::StrCat(
          path_, ": change_runs reach sequence ", last,
          ", beyond the stored last_sequence ", data.counters.last_sequence,
          " (sequence numbers would be assigned again)"));
    }
  }
  ASSIGN_OR_RETURN(const int64_t waiting,
                   write_db_->QueryInt(kCountWaitingRunsSql));
  RETURN_IF_ERROR(txn.Commit());
  stored_counters_ = data.counters;
  waiting_runs_ = static_cast<size_t>(waiting);
  // The load read every page through this connection; its cache would keep
  // them (up to 2 MiB) for as long as the workspace is open, though the
  // engine answers every read from memory. A node of many small workspaces
  // holds a thousand of these (docs/operations.md).
  sqlite3_db_release_memory(write_db_->raw());
  return data;
}

absl::Status SqliteWorkspaceStore::LoadSnapshots(WorkspaceData* data) {
  ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(kSelectSnapshotsSql));
  SqliteStatement::Scope scope(*stmt);
  const WorkspaceCounters& counters = data->counters;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    SnapshotRecord& snapshot = data->snapshots.emplace_back();
    std::string problem = DecodeSnapshot(*stmt, &snapshot);
    if (problem.empty() && snapshot.id >= counters.next_snapshot_id) {
      problem = absl::StrCat("id is not below next_snapshot_id ",
                             counters.next_snapshot_id,
                             " (it would be assigned again)");
    }
    if (problem.empty() && snapshot.as_of_sequence > counters.last_sequence) {
      problem = absl::StrCat("as_of_sequence is beyond last_sequence ",
                             counters.last_sequence);
    }
    if (!problem.empty()) {
      return absl::DataLossError(absl::StrCat(
          path_, ": snapshots row id=", stmt->ColumnInt(0), ": ", problem));
    }
  }
  return absl::OkStatus();
}

absl::Status SqliteWorkspaceStore::Commit(const WorkspaceWrite& write) {
  RETURN_IF_ERROR(CheckWriteRows(write));
  RETURN_IF_ERROR(CheckWriteChanges(write));
  absl::MutexLock lock(&write_mu_);
  RETURN_IF_ERROR(CheckFileUnchanged());
  SqliteTransaction txn(write_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  RETURN_IF_ERROR(WriteRows(write));
  RETURN_IF_ERROR(WriteChanges(write));
  return CommitWrite(txn, write);
}

absl::Status SqliteWorkspaceStore::CommitWrite(SqliteTransaction& txn,
                                               const WorkspaceWrite& write) {
  RETURN_IF_ERROR(txn.Commit());
  stored_counters_ = write.counters;
  waiting_runs_ = waiting_runs_after_commit_;
  return absl::OkStatus();
}

absl::Status SqliteWorkspaceStore::CommitCompleting(
    WorkspaceWrite* write, absl::FunctionRef<void()> complete) {
  RETURN_IF_ERROR(CheckWriteRows(*write));
  absl::MutexLock lock(&write_mu_);
  // Nothing is written before `complete` has run, so that an error here
  // leaves the write as the default implementation would.
  absl::Status rows = CheckFileUnchanged();
  SqliteTransaction txn(write_db_.get());
  if (rows.ok()) rows = txn.Begin(/*immediate=*/true);
  // The rows on this thread (write_mu_ is held here), the changes on the
  // other; they read and write different parts of `write`.
  RunConcurrently(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        if (rows.ok()) rows = WriteRows(*write);
      },
      complete);
  RETURN_IF_ERROR(rows);
  RETURN_IF_ERROR(CheckWriteChanges(*write));  // rolls back on error
  RETURN_IF_ERROR(WriteChanges(*write));
  return CommitWrite(txn, *write);
}

absl::Status SqliteWorkspaceStore::CheckFileUnchanged() {
  absl::StatusOr<FileId> current = GetFileId(path_);
  if (!current.ok() && !absl::IsNotFound(current.status()))
    return current.status();
  if (!current.ok() || !(*current == file_)) {
    return WithStorageFailure(
        absl::FailedPreconditionError(absl::StrCat(
            path_, " was deleted or replaced since it was opened")),
        StorageFailure::kOther);
  }
  return absl::OkStatus();
}

absl::Status SqliteWorkspaceStore::WriteRows(const WorkspaceWrite& write) {
  // Puts before deletes: an id both put and deleted by one write (a
  // group commit of a create and a delete) ends deleted.
  for (const Contact& c : write.put_contacts) {
    BindContact(c, &tags_buffer_, write_->upsert_contact.get());
    RETURN_IF_ERROR(write_->upsert_contact->Run());
  }
  for (ContactId id : write.deleted_contacts) {
    write_->delete_contact->BindInt(1, id);
    RETURN_IF_ERROR(write_->delete_contact->Run());
  }
  for (const SegmentRecord& s : write.put_segments) {
    BindSegment(s, write_->upsert_segment.get());
    RETURN_IF_ERROR(write_->upsert_segment->Run());
  }
  for (SegmentId id : write.deleted_segments) {
    if (id > kMaxStoredUint) continue;  // cannot be stored, so cannot exist
    write_->delete_segment->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(write_->delete_segment->Run());
  }
  for (const SnapshotRecord& s : write.put_snapshots) {
    BindSnapshot(s, write_->upsert_snapshot.get());
    RETURN_IF_ERROR(write_->upsert_snapshot->Run());
  }
  for (SnapshotId id : write.deleted_snapshots) {
    if (id > kMaxStoredUint) continue;  // cannot be stored, so cannot exist
    write_->delete_snapshot->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(write_->delete_snapshot->Run());
  }
  return absl::OkStatus();
}

namespace {

// The meta rows that hold `c`, key and value, in one order.
std::array<std::pair<const char*, int64_t>, 5> CounterRows(
    const WorkspaceCounters& c) {
  return {{
      {kNextContactIdKey, c.next_contact_id},
      {kNextSegmentIdKey, static_cast<int64_t>(c.next_segment_id)},
      {kLastSequenceKey, static_cast<int64_t>(c.last_sequence)},
      {kTimeAppliedUntilKey, c.time_applied_until},
      {kNextSnapshotIdKey, static_cast<int64_t>(c.next_snapshot_id)},
  }};
}

}  // namespace

absl::Status SqliteWorkspaceStore::WriteChanges(const WorkspaceWrite& write) {
  for (const ChangeRun& run : write.changes) {
    BindChangeRun(run, &blob_buffer_, write_->insert_change_run.get());
    RETURN_IF_ERROR(write_->insert_change_run->Run());
  }
  RETURN_IF_ERROR(IndexRunsIfEnoughWait(write.changes.size()));
  const auto counters = CounterRows(write.counters);
  const auto stored = stored_counters_.has_value()
                          ? CounterRows(*stored_counters_)
                          : decltype(counters){};
  for (size_t i = 0; i < counters.size(); ++i) {
    const auto& [key, value] = counters[i];
    if (stored_counters_.has_value() && stored[i].second == value) continue;
    write_->put_meta->BindText(1, key);
    write_->put_meta->BindInt(2, value);
    RETURN_IF_ERROR(write_->put_meta->Run());
  }
  return absl::OkStatus();
}

absl::Status SqliteWorkspaceStore::IndexRunsIfEnoughWait(size_t new_runs) {
  waiting_runs_after_commit_ =
      waiting_runs_.value_or(unindexed_runs_limit_) + new_runs;
  if (waiting_runs_after_commit_ < unindexed_runs_limit_) {
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(write_->index_waiting_runs->Run());
  waiting_runs_after_commit_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MembershipChange>> SqliteWorkspaceStore::ReadChanges(
    uint64_t after_sequence, size_t limit) {
  std::vector<MembershipChange> out;
  if (limit == 0 || after_sequence >= kMaxStoredUint) return out;
  const int64_t sql_limit =
      static_cast<int64_t>(std::min<uint64_t>(limit, kMaxStoredUint));
  out.reserve(std::min<size_t>(limit, 1024));
  absl::MutexLock lock(&read_mu_);
  SqliteStatement& s = *read_changes_;
  SqliteStatement::Scope scope(s);
  s.BindInt(1, static_cast<int64_t>(after_sequence));
  s.BindInt(2, sql_limit);
  while (out.size() < limit) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const size_t before = out.size();
    const std::string problem = DecodeChangeRun(s, &out);
    if (!problem.empty()) {
      return absl::DataLossError(absl::StrCat(path_,
                                              ": change_runs row "
                                              "first_sequence=",
                                              s.ColumnInt(0), ": ", problem));
    }
    // The first run may start at or before `after_sequence`.
    auto first_new = std::find_if(out.begin() + before, out.end(),
                                  [after_sequence](const auto& c) {
                                    return c.sequence > after_sequence;
                                  });
    out.erase(out.begin() + before, first_new);
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<ChangeRun>> SqliteWorkspaceStore::ReadChangeRuns(
    uint64_t after_sequence, size_t max_events) {
  std::vector<ChangeRun> out;
  if (max_events == 0 || after_sequence >= kMaxStoredUint) return out;
  absl::MutexLock lock(&read_mu_);
  SqliteStatement& s = *read_changes_;
  SqliteStatement::Scope scope(s);
  s.BindInt(1, static_cast<int64_t>(after_sequence));
  // Every run holds at least one event.
  s.BindInt(2, static_cast<int64_t>(std::min<uint64_t>(max_events, 1 << 20)));
  size_t events = 0;
  while (events < max_events) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ChangeRun& run = out.emplace_back();
    const std::string problem = DecodeChangeRunRow(s, &run);
    if (!problem.empty()) {
      return absl::DataLossError(absl::StrCat(path_,
                                              ": change_runs row "
                                              "first_sequence=",
                                              s.ColumnInt(0), ": ", problem));
    }
    // The first run may start at or before `after_sequence`.
    if (run.first_sequence <= after_sequence) {
      const size_t skip = after_sequence - run.first_sequence + 1;
      run.contact_ids.erase(run.contact_ids.begin(),
                            run.contact_ids.begin() + skip);
      run.first_sequence = after_sequence + 1;
    }
    if (events + run.contact_ids.size() > max_events) {
      run.contact_ids.resize(max_events - events);
    }
    events += run.contact_ids.size();
  }
  return out;
}

absl::StatusOr<LogRetention> SqliteWorkspaceStore::QueryRetention(
    SqliteDb* db) {
  ASSIGN_OR_RETURN(auto stmt, db->Prepare(kSelectRetentionSql));
  SqliteStatement::Scope scope(*stmt);
  stmt->BindText(1, kLastSequenceKey);
  stmt->BindText(2, kChangesPrunedBeforeKey);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row || stmt->ColumnInt(0) < 1 || stmt->ColumnInt(1) < 0) {
    return absl::DataLossError(
        absl::StrCat(path_, ": the change log's retention does not decode"));
  }
  return LogRetention{static_cast<uint64_t>(stmt->ColumnInt(0)),
                      stmt->ColumnInt(1)};
}

absl::StatusOr<LogRetention> SqliteWorkspaceStore::ReadRetention() {
  absl::MutexLock lock(&read_mu_);
  return QueryRetention(read_db_.get());
}

absl::StatusOr<LogRetention> SqliteWorkspaceStore::PruneChanges(
    UnixSeconds before, size_t max_runs) {
  absl::MutexLock lock(&write_mu_);
  RETURN_IF_ERROR(CheckFileUnchanged());
  SqliteTransaction txn(write_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  RETURN_IF_ERROR(DeleteOldRuns(before, max_runs));
  ASSIGN_OR_RETURN(LogRetention retention, QueryRetention(write_db_.get()));
  ASSIGN_OR_RETURN(const int64_t waiting,
                   write_db_->QueryInt(kCountWaitingRunsSql));
  RETURN_IF_ERROR(txn.Commit());
  waiting_runs_ = static_cast<size_t>(waiting);
  return retention;
}

absl::Status SqliteWorkspaceStore::DeleteOldRuns(UnixSeconds before,
                                                 size_t max_runs) {
  // The prefix of the log older than `before`, up to max_runs runs.
  int64_t through = 0;
  UnixSeconds newest_deleted = 0;
  {
    ASSIGN_OR_RETURN(auto select, write_db_->Prepare(kSelectOldestRunTimesSql));
    SqliteStatement::Scope scope(*select);
    select->BindInt(
        1, static_cast<int64_t>(std::min<uint64_t>(max_runs, kMaxStoredUint)));
    while (true) {
      ASSIGN_OR_RETURN(bool row, select->Step());
      if (!row || select->ColumnInt(1) >= before) break;
      through = select->ColumnInt(0);
      newest_deleted = std::max(newest_deleted, select->ColumnInt(1));
    }
  }
  if (through == 0) return absl::OkStatus();
  // From the history index too, so that it still holds every run up to its
  // last (workspace_rows.h); the waiting runs stay as many or fewer.
  for (const char* sql :
       {kDeleteRunsThroughSql, kDeleteIndexedRunsThroughSql}) {
    ASSIGN_OR_RETURN(auto del, write_db_->Prepare(sql));
    del->BindInt(1, through);
    RETURN_IF_ERROR(del->Run());
  }
  // Runs of the newest deleted second may remain (max_runs cut through
  // them): only the seconds after it are complete.
  ASSIGN_OR_RETURN(LogRetention old, QueryRetention(write_db_.get()));
  write_->put_meta->BindText(1, kChangesPrunedBeforeKey);
  write_->put_meta->BindInt(2,
                            std::max(old.complete_since, newest_deleted + 1));
  return write_->put_meta->Run();
}

absl::StatusOr<SegmentChangeCounts> SqliteWorkspaceStore::CountSegmentChanges(
    const SegmentChangeCountsQuery& query) {
  absl::MutexLock lock(&read_mu_);
  SqliteTransaction txn(read_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  ASSIGN_OR_RETURN(SegmentChangeCounts counts,
                   QuerySegmentChangeCounts(read_db_.get(), query));
  ASSIGN_OR_RETURN(counts.pruned_before,
                   ReadChangesPrunedBefore(read_db_.get()));
  RETURN_IF_ERROR(txn.Commit());
  return counts;
}

absl::StatusOr<ContactChanges> SqliteWorkspaceStore::ReadContactChanges(
    SegmentId segment_id, ContactId contact_id, uint64_t up_to_sequence) {
  absl::MutexLock lock(&read_mu_);
  SqliteTransaction txn(read_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  ContactChanges out;
  ASSIGN_OR_RETURN(out.changes,
                   QueryContactChanges(read_db_.get(), segment_id, contact_id,
                                       up_to_sequence));
  ASSIGN_OR_RETURN(out.pruned_before, ReadChangesPrunedBefore(read_db_.get()));
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

}  // namespace segments
