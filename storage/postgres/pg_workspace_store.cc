#include "storage/postgres/pg_workspace_store.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/model/filter_codec.h"
#include "storage/change_runs.h"
#include "storage/postgres/pg_rows.h"
#include "storage/record_checks.h"
#include "storage/tags_codec.h"

namespace segments {
namespace {

// The indexes of `records` to write: the last of each id, in order.
template <typename T>
std::vector<size_t> LastOfEachId(const std::vector<T>& records) {
  absl::flat_hash_map<uint64_t, size_t> last;
  last.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) last[records[i].id] = i;
  std::vector<size_t> out;
  out.reserve(last.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (last[records[i].id] == i) out.push_back(i);
  }
  return out;
}

}  // namespace

PgWorkspaceStore::PgWorkspaceStore(std::shared_ptr<PgPool> pool, WorkspaceId id,
                                   std::shared_ptr<PgLeases> leases,
                                   int64_t epoch)
    : pool_(std::move(pool)),
      id_(id),
      leases_(std::move(leases)),
      epoch_(epoch) {}

PgWorkspaceStore::~PgWorkspaceStore() {
  if (leases_ != nullptr) leases_->Release(id_, epoch_);
}

absl::Status PgWorkspaceStore::DataLoss(absl::string_view what) const {
  return absl::DataLossError(absl::StrCat("workspace ", id_, ": ", what));
}

absl::StatusOr<WorkspaceData> PgWorkspaceStore::LoadStreaming(
    const ContactSink& sink) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  // One snapshot of every table.
  RETURN_IF_ERROR(txn.Begin("ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PgParams id;
  id.Int(static_cast<int64_t>(id_));
  WorkspaceData data;
  WorkspaceCounters& counters = data.counters;
  {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn->Query("SELECT next_contact_id, next_segment_id, last_sequence, "
                    "time_applied_until, next_snapshot_id FROM "
                    "workspace_state WHERE workspace_id = $1",
                    id));
    if (r.rows() != 1) {
      return DataLoss("its workspace_state row is missing: its data is lost");
    }
    const int64_t next_contact = r.Int(0, 0), next_segment = r.Int(0, 1),
                  last = r.Int(0, 2), applied = r.Int(0, 3),
                  next_snapshot = r.Int(0, 4);
    if (next_contact < 1 ||
        next_contact > std::numeric_limits<ContactId>::max()) {
      return DataLoss(
          absl::StrCat("next_contact_id ", next_contact, " is out of range"));
    }
    if (next_segment < 1 || last < 0 || applied < 0 || next_snapshot < 1) {
      return DataLoss("workspace_state holds a counter out of range");
    }
    counters.next_contact_id = static_cast<ContactId>(next_contact);
    counters.next_segment_id = static_cast<SegmentId>(next_segment);
    counters.last_sequence = static_cast<uint64_t>(last);
    counters.time_applied_until = applied;
    counters.next_snapshot_id = static_cast<SnapshotId>(next_snapshot);
  }
  auto row_loss = [this](absl::string_view table, int64_t row_id,
                         absl::string_view problem) {
    return DataLoss(absl::StrCat(table, " row id=", row_id, ": ", problem));
  };
  {
    // A cursor, so a million contacts stream in pages, never all at once.
    RETURN_IF_ERROR(conn->Query(absl::StrCat("DECLARE load_contacts NO SCROLL "
                                             "CURSOR FOR SELECT ",
                                             kContactColumns,
                                             " FROM contacts WHERE "
                                             "workspace_id = $1 ORDER BY id"),
                                id)
                        .status());
    Contact contact;
    absl::flat_hash_map<uint64_t, ContactId> by_email_hash;
    by_email_hash.reserve(
        std::min<size_t>(counters.next_contact_id, size_t{1} << 22));
    std::vector<std::pair<ContactId, ContactId>> same_hash;
    while (true) {
      ASSIGN_OR_RETURN(PgResult page,
                       conn->Query("FETCH 4096 FROM load_contacts"));
      if (page.rows() == 0) break;
      for (int i = 0; i < page.rows(); ++i) {
        std::string problem = DecodeContactRow(page, i, &contact);
        if (problem.empty() && contact.id >= counters.next_contact_id) {
          problem = absl::StrCat("id is not below next_contact_id ",
                                 counters.next_contact_id,
                                 " (it would be assigned again)");
        }
        if (!problem.empty()) {
          return row_loss("contacts", page.Int(i, 0), problem);
        }
        auto [it, inserted] =
            by_email_hash.try_emplace(absl::HashOf(contact.email), contact.id);
        if (!inserted) same_hash.emplace_back(it->second, contact.id);
        sink(contact);
      }
    }
    RETURN_IF_ERROR(conn->Exec("CLOSE load_contacts"));
    for (const auto& [first, second] : same_hash) {
      PgParams p;
      p.Int(static_cast<int64_t>(id_));
      p.Int(first);
      p.Int(second);
      ASSIGN_OR_RETURN(
          PgResult r,
          conn->Query("SELECT 1 FROM contacts a JOIN contacts b ON a.email = "
                      "b.email AND b.workspace_id = $1 AND b.id = $3 WHERE "
                      "a.workspace_id = $1 AND a.id = $2",
                      p));
      if (r.rows() > 0) {
        return DataLoss(absl::StrCat("contacts rows id=", first, " and id=",
                                     second, " have the same email"));
      }
    }
  }
  {
    ASSIGN_OR_RETURN(PgResult r,
                     conn->Query(absl::StrCat("SELECT ", kSegmentColumns,
                                              " FROM segments WHERE "
                                              "workspace_id = $1 ORDER BY id"),
                                 id));
    absl::flat_hash_map<std::string, SegmentId> by_name;
    for (int i = 0; i < r.rows(); ++i) {
      SegmentRecord& segment = data.segments.emplace_back();
      std::string problem = DecodeSegmentRow(r, i, &segment);
      if (problem.empty() && segment.id >= counters.next_segment_id) {
        problem = absl::StrCat("id is not below next_segment_id ",
                               counters.next_segment_id,
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
      if (!problem.empty()) return row_loss("segments", r.Int(i, 0), problem);
    }
  }
  {
    ASSIGN_OR_RETURN(PgResult r,
                     conn->Query(absl::StrCat("SELECT ", kSnapshotColumns,
                                              " FROM snapshots WHERE "
                                              "workspace_id = $1 ORDER BY id"),
                                 id));
    for (int i = 0; i < r.rows(); ++i) {
      SnapshotRecord& snapshot = data.snapshots.emplace_back();
      std::string problem = DecodeSnapshotRow(r, i, &snapshot);
      if (problem.empty() && snapshot.id >= counters.next_snapshot_id) {
        problem = absl::StrCat("id is not below next_snapshot_id ",
                               counters.next_snapshot_id,
                               " (it would be assigned again)");
      }
      if (problem.empty() && snapshot.as_of_sequence > counters.last_sequence) {
        problem = absl::StrCat("as_of_sequence is beyond last_sequence ",
                               counters.last_sequence);
      }
      if (!problem.empty()) return row_loss("snapshots", r.Int(i, 0), problem);
    }
  }
  {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn->Query("SELECT last_sequence FROM change_runs WHERE workspace_id "
                    "= $1 ORDER BY first_sequence DESC LIMIT 1",
                    id));
    const int64_t last = r.rows() == 0 ? 0 : r.Int(0, 0);
    if (last < 0 || static_cast<uint64_t>(last) > counters.last_sequence) {
      return DataLoss(
          absl::StrCat("change_runs reach sequence ", last,
                       ", beyond the stored "
                       "last_sequence ",
                       counters.last_sequence,
                       " (sequence numbers would be assigned again)"));
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return data;
}

absl::Status PgWorkspaceStore::LockState(PgConn* conn) {
  PgParams id;
  id.Int(static_cast<int64_t>(id_));
  if (leases_ != nullptr) {
    PgParams p;
    p.Int(static_cast<int64_t>(id_));
    p.Bytes(leases_->node_id());
    p.Int(epoch_);
    // Both rows locked to the end of the commit: a takeover (which updates
    // the lease row) waits for it, and a commit after a takeover finds
    // another owner or epoch here.
    ASSIGN_OR_RETURN(
        PgResult fenced,
        conn->Query("SELECT 1 FROM workspace_state s JOIN workspace_leases l "
                    "ON l.workspace_id = s.workspace_id WHERE s.workspace_id "
                    "= $1 AND l.owner = $2 AND l.epoch = $3 AND l.expires_at "
                    "> clock_timestamp() FOR UPDATE OF s, l",
                    p));
    if (fenced.rows() == 1) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(PgResult r, conn->Query("SELECT 1 FROM workspace_state "
                                           "WHERE workspace_id = $1 FOR UPDATE",
                                           id));
  if (r.rows() == 0) {
    return WithStorageFailure(
        absl::FailedPreconditionError(absl::StrCat(
            "workspace ", id_, " was deleted since its store was opened")),
        StorageFailure::kOther);
  }
  if (leases_ != nullptr) {
    // Not a storage failure: the workspace moves (or moved) to another
    // node, where the client's retry lands (docs/scale-out.md).
    return WorkspaceNotOwnedError(
        id_,
        absl::StrCat("is no longer served here: node ", leases_->node_id(),
                     " no longer holds the lease at epoch ", epoch_,
                     " (it expired or another node took it over); nothing "
                     "stored"),
        leases_->ttl() / 3);
  }
  return absl::OkStatus();
}

absl::Status PgWorkspaceStore::Commit(const WorkspaceWrite& write) {
  RETURN_IF_ERROR(CheckWriteRows(write));
  RETURN_IF_ERROR(CheckWriteChanges(write));
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(LockState(conn.get()));
  RETURN_IF_ERROR(WriteRows(conn.get(), write));
  RETURN_IF_ERROR(WriteChanges(conn.get(), write));
  return txn.Commit();
}

absl::Status PgWorkspaceStore::CommitCompleting(
    WorkspaceWrite* write, absl::FunctionRef<void()> complete) {
  RETURN_IF_ERROR(CheckWriteRows(*write));
  absl::StatusOr<PgPool::Lease> conn = pool_->Acquire();
  absl::Status rows = conn.status();
  std::unique_ptr<PgTransaction> txn;
  if (rows.ok()) {
    txn = std::make_unique<PgTransaction>(conn->get());
    rows = txn->Begin();
  }
  if (rows.ok()) rows = LockState(conn->get());
  // The rows on this thread, the changes on the other; they read and write
  // different parts of `write`.
  RunConcurrently(
      [&] {
        if (rows.ok()) rows = WriteRows(conn->get(), *write);
      },
      complete);
  RETURN_IF_ERROR(rows);
  RETURN_IF_ERROR(CheckWriteChanges(*write));  // rolls back on error
  RETURN_IF_ERROR(WriteChanges(conn->get(), *write));
  return txn->Commit();
}

namespace {

// The columns of a batch, one PgArray each.
std::vector<PgArray> Columns(std::initializer_list<PgArray::Type> types) {
  std::vector<PgArray> out;
  for (PgArray::Type t : types) out.emplace_back(t);
  return out;
}

constexpr PgArray::Type kI = PgArray::Type::kInt8;
constexpr PgArray::Type kB = PgArray::Type::kBytea;

void OptionalBytes(const std::string& v, PgArray* a) {
  if (v.empty()) {
    a->Null();
  } else {
    a->Bytes(v);
  }
}
void OptionalEnum(int v, PgArray* a) {
  if (v == 0) {
    a->Null();
  } else {
    a->Int(v);
  }
}

// "$2::bigint[], $3::bytea[], ...": the unnest arguments of `columns`.
std::string UnnestArgs(const std::vector<PgArray>& columns) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", "$", i + 2,
                    columns[i].type() == kI ? "::bigint[]" : "::bytea[]");
  }
  return out;
}

}  // namespace

absl::Status PgWorkspaceStore::SendBatch(PgConn* conn, const char* table,
                                         const char* columns,
                                         const char* update,
                                         const std::vector<PgArray>& values) {
  if (values.empty() || values[0].size() == 0) return absl::OkStatus();
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  for (const PgArray& a : values) p.Array(a);
  std::string sql =
      absl::StrCat("INSERT INTO ", table, " (workspace_id, ", columns,
                   ") SELECT $1, * FROM unnest(", UnnestArgs(values), ")");
  if (update != nullptr) {
    absl::StrAppend(&sql, " ON CONFLICT (workspace_id, id) DO UPDATE SET ",
                    update);
  }
  return conn->Query(sql, p).status();
}

absl::Status PgWorkspaceStore::WriteRows(PgConn* conn,
                                         const WorkspaceWrite& write) {
  const int64_t ws = static_cast<int64_t>(id_);
  auto remove = [&](const char* table, const auto& ids) -> absl::Status {
    std::vector<int64_t> stored;
    for (uint64_t id : ids) {
      if (id <= kMaxStoredUint) stored.push_back(static_cast<int64_t>(id));
    }
    if (stored.empty()) return absl::OkStatus();
    PgParams p;
    p.Int(ws);
    p.IntArray(stored);
    return conn
        ->Query(absl::StrCat("DELETE FROM ", table,
                             " WHERE workspace_id = $1 AND id = ANY($2)"),
                p)
        .status();
  };
  {
    std::vector<PgArray> cols =
        Columns({kI, kB, kB, kB, kB, kB, kB, kB, kI, kI, kI, kI, kI, kI, kI});
    std::string tags;
    for (size_t i : LastOfEachId(write.put_contacts)) {
      const Contact& c = write.put_contacts[i];
      cols[0].Int(c.id);
      cols[1].Bytes(c.email);
      OptionalBytes(c.company, &cols[2]);
      OptionalBytes(c.job_title, &cols[3]);
      OptionalBytes(c.country, &cols[4]);
      OptionalBytes(c.city, &cols[5]);
      OptionalBytes(c.source, &cols[6]);
      EncodeTags(c.tags, &tags);
      cols[7].Bytes(tags);
      cols[8].Int(static_cast<int>(c.lifecycle_stage));
      cols[9].Int(c.lead_score);
      cols[10].Int(c.engagement_score);
      OptionalEnum(static_cast<int>(c.engagement_trend), &cols[11]);
      OptionalEnum(static_cast<int>(c.conversion_likelihood), &cols[12]);
      cols[13].Int(c.created_at);
      if (c.last_engaged_at.has_value()) {
        cols[14].Int(*c.last_engaged_at);
      } else {
        cols[14].Null();
      }
    }
    RETURN_IF_ERROR(
        SendBatch(conn, "contacts", kContactColumns, kContactUpdate, cols));
  }
  RETURN_IF_ERROR(remove("contacts", write.deleted_contacts));
  {
    std::vector<PgArray> cols = Columns({kI, kB, kB, kI, kI, kI, kB, kI});
    for (size_t i : LastOfEachId(write.put_segments)) {
      const SegmentRecord& s = write.put_segments[i];
      cols[0].Int(static_cast<int64_t>(s.id));
      cols[1].Bytes(s.display_name);
      cols[2].Bytes(EncodeFilter(s.filter));
      cols[3].Int(static_cast<int>(s.state));
      cols[4].Int(s.create_time);
      cols[5].Int(s.update_time);
      cols[6].Bytes(s.frozen_members);
      cols[7].Int(static_cast<int64_t>(s.frozen_as_of));
    }
    RETURN_IF_ERROR(
        SendBatch(conn, "segments", kSegmentColumns, kSegmentUpdate, cols));
  }
  RETURN_IF_ERROR(remove("segments", write.deleted_segments));
  {
    std::vector<PgArray> cols = Columns({kI, kI, kI, kI, kI, kI, kB});
    for (size_t i : LastOfEachId(write.put_snapshots)) {
      const SnapshotRecord& s = write.put_snapshots[i];
      cols[0].Int(static_cast<int64_t>(s.id));
      cols[1].Int(static_cast<int64_t>(s.segment_id));
      cols[2].Int(static_cast<int64_t>(s.as_of_sequence));
      cols[3].Int(static_cast<int64_t>(s.member_count));
      cols[4].Int(s.create_time);
      cols[5].Int(s.expire_time);
      cols[6].Bytes(s.members);
    }
    RETURN_IF_ERROR(
        SendBatch(conn, "snapshots", kSnapshotColumns, kSnapshotUpdate, cols));
  }
  return remove("snapshots", write.deleted_snapshots);
}

absl::Status PgWorkspaceStore::WriteChanges(PgConn* conn,
                                            const WorkspaceWrite& write) {
  {
    std::vector<PgArray> cols = Columns({kI, kI, kI, kI, kI, kI, kI, kB});
    std::string blob;
    for (const ChangeRun& run : write.changes) {
      cols[0].Int(static_cast<int64_t>(run.first_sequence));
      cols[1].Int(static_cast<int64_t>(run.segment_id));
      cols[2].Int(run.contact_ids.front());
      cols[3].Int(static_cast<int>(run.kind));
      cols[4].Int(static_cast<int>(run.cause));
      cols[5].Int(run.time);
      cols[6].Int(static_cast<int64_t>(run.last_sequence()));
      EncodeMoreContactIds(run.contact_ids, &blob);
      cols[7].Bytes(blob);
    }
    RETURN_IF_ERROR(SendBatch(conn, "change_runs", kRunColumns, nullptr, cols));
  }
  const WorkspaceCounters& c = write.counters;
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  p.Int(c.next_contact_id);
  p.Int(static_cast<int64_t>(c.next_segment_id));
  p.Int(static_cast<int64_t>(c.last_sequence));
  p.Int(c.time_applied_until);
  p.Int(static_cast<int64_t>(c.next_snapshot_id));
  return conn
      ->Query(
          "UPDATE workspace_state SET next_contact_id = $2, "
          "next_segment_id = $3, last_sequence = $4, "
          "time_applied_until = $5, next_snapshot_id = $6 "
          "WHERE workspace_id = $1",
          p)
      .status();
}

absl::StatusOr<PgResult> PgWorkspaceStore::QueryRuns(PgConn* conn,
                                                     uint64_t after_sequence,
                                                     size_t runs) {
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  p.Int(static_cast<int64_t>(after_sequence));
  p.Int(static_cast<int64_t>(std::min<uint64_t>(runs, kMaxStoredUint)));
  // Runs do not overlap: from the one holding after + 1 (or the first
  // after it) on, through the primary key.
  return conn->Query(
      absl::StrCat(
          "SELECT ", kRunColumns,
          " FROM change_runs WHERE workspace_id = $1 AND last_sequence > $2 "
          "AND first_sequence >= COALESCE((SELECT first_sequence FROM "
          "change_runs WHERE workspace_id = $1 AND first_sequence <= $2 + 1 "
          "ORDER BY first_sequence DESC LIMIT 1), 0) "
          "ORDER BY first_sequence LIMIT $3"),
      p);
}

absl::StatusOr<std::vector<ChangeRun>> PgWorkspaceStore::ReadChangeRuns(
    uint64_t after_sequence, size_t max_events) {
  std::vector<ChangeRun> out;
  if (max_events == 0 || after_sequence >= kMaxStoredUint) return out;
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  // Every run holds at least one event.
  ASSIGN_OR_RETURN(PgResult r,
                   QueryRuns(conn.get(), after_sequence,
                             std::min<size_t>(max_events, 1 << 20)));
  size_t events = 0;
  for (int i = 0; i < r.rows() && events < max_events; ++i) {
    ChangeRun& run = out.emplace_back();
    if (std::string problem = DecodeRunRow(r, i, &run); !problem.empty()) {
      return DataLoss(absl::StrCat(
          "change_runs row first_sequence=", r.Int(i, 0), ": ", problem));
    }
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

absl::StatusOr<std::vector<MembershipChange>> PgWorkspaceStore::ReadChanges(
    uint64_t after_sequence, size_t limit) {
  ASSIGN_OR_RETURN(std::vector<ChangeRun> runs,
                   ReadChangeRuns(after_sequence, limit));
  std::vector<MembershipChange> out;
  for (const ChangeRun& run : runs) {
    for (size_t i = 0; i < run.contact_ids.size(); ++i) {
      out.push_back({run.first_sequence + i, run.segment_id, run.contact_ids[i],
                     run.kind, run.cause, run.time});
    }
  }
  return out;
}

absl::StatusOr<LogRetention> PgWorkspaceStore::QueryRetention(PgConn* conn) {
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query("SELECT COALESCE((SELECT first_sequence FROM change_runs "
                  "WHERE workspace_id = $1 ORDER BY first_sequence LIMIT 1), "
                  "last_sequence + 1), changes_pruned_before FROM "
                  "workspace_state WHERE workspace_id = $1",
                  p));
  if (r.rows() != 1 || r.Int(0, 0) < 1 || r.Int(0, 1) < 0) {
    return DataLoss("the change log's retention does not decode");
  }
  return LogRetention{static_cast<uint64_t>(r.Int(0, 0)), r.Int(0, 1)};
}

absl::StatusOr<LogRetention> PgWorkspaceStore::ReadRetention() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin("ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  ASSIGN_OR_RETURN(LogRetention retention, QueryRetention(conn.get()));
  RETURN_IF_ERROR(txn.Commit());
  return retention;
}

absl::StatusOr<LogRetention> PgWorkspaceStore::PruneChanges(UnixSeconds before,
                                                            size_t max_runs) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(LockState(conn.get()));
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  p.Int(static_cast<int64_t>(std::min<uint64_t>(max_runs, kMaxStoredUint)));
  ASSIGN_OR_RETURN(
      PgResult oldest,
      conn->Query("SELECT first_sequence, time FROM change_runs WHERE "
                  "workspace_id = $1 ORDER BY first_sequence LIMIT $2",
                  p));
  // The prefix of the log older than `before`, up to max_runs runs.
  int64_t through = 0;
  UnixSeconds newest_deleted = 0;
  for (int i = 0; i < oldest.rows() && oldest.Int(i, 1) < before; ++i) {
    through = oldest.Int(i, 0);
    newest_deleted = std::max(newest_deleted, oldest.Int(i, 1));
  }
  if (through != 0) {
    p.clear();
    p.Int(static_cast<int64_t>(id_));
    p.Int(through);
    RETURN_IF_ERROR(conn->Query("DELETE FROM change_runs WHERE workspace_id = "
                                "$1 AND first_sequence <= $2",
                                p)
                        .status());
    // Runs of the newest deleted second may remain (max_runs cut through
    // them): only the seconds after it are complete.
    p.clear();
    p.Int(static_cast<int64_t>(id_));
    p.Int(newest_deleted + 1);
    RETURN_IF_ERROR(
        conn->Query("UPDATE workspace_state SET changes_pruned_before = "
                    "GREATEST(changes_pruned_before, $2) WHERE workspace_id "
                    "= $1",
                    p)
            .status());
  }
  ASSIGN_OR_RETURN(LogRetention retention, QueryRetention(conn.get()));
  RETURN_IF_ERROR(txn.Commit());
  return retention;
}

absl::StatusOr<UnixSeconds> PgWorkspaceStore::QueryPrunedBefore(PgConn* conn) {
  PgParams p;
  p.Int(static_cast<int64_t>(id_));
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Query("SELECT changes_pruned_before FROM "
                               "workspace_state WHERE workspace_id = $1",
                               p));
  if (r.rows() != 1 || r.Int(0, 0) < 0) {
    return DataLoss("changes_pruned_before does not decode");
  }
  return r.Int(0, 0);
}

absl::StatusOr<SegmentChangeCounts> PgWorkspaceStore::CountSegmentChanges(
    const SegmentChangeCountsQuery& query) {
  SegmentChangeCounts counts;
  StartCounts(query, &counts);
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin("ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  if (query.segment_id <= kMaxStoredUint && query.bucket_seconds > 0) {
    PgParams p;
    p.Int(static_cast<int64_t>(id_));
    p.Int(static_cast<int64_t>(query.segment_id));
    p.Int(query.start);
    p.Int(static_cast<int64_t>(
        std::min<uint64_t>(query.up_to_sequence, kMaxStoredUint)));
    // Every event of a run has the run's time and kind: sums per run,
    // through the (workspace_id, segment_id, time) index, with no blob
    // decoded; a run cut by up_to_sequence counts its events up to it.
    ASSIGN_OR_RETURN(
        PgResult r,
        conn->Query("SELECT time, kind, SUM(LEAST(last_sequence, $4) - "
                    "first_sequence + 1)::bigint FROM change_runs WHERE "
                    "workspace_id = $1 AND segment_id = $2 AND time >= $3 AND "
                    "first_sequence <= $4 GROUP BY time, kind",
                    p));
    for (int i = 0; i < r.rows(); ++i) {
      const bool entered =
          r.Int(i, 1) == static_cast<int64_t>(ChangeKind::kEntered);
      const uint64_t n = static_cast<uint64_t>(r.Int(i, 2));
      const uint64_t bucket = static_cast<uint64_t>(r.Int(i, 0) - query.start) /
                              static_cast<uint64_t>(query.bucket_seconds);
      if (bucket >= query.buckets) {
        (entered ? counts.entered_after : counts.left_after) += n;
      } else {
        (entered ? counts.entered : counts.left)[bucket] += n;
      }
    }
  }
  ASSIGN_OR_RETURN(counts.pruned_before, QueryPrunedBefore(conn.get()));
  RETURN_IF_ERROR(txn.Commit());
  return counts;
}

absl::StatusOr<ContactChanges> PgWorkspaceStore::ReadContactChanges(
    SegmentId segment_id, ContactId contact_id, uint64_t up_to_sequence) {
  ContactChanges out;
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin("ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  if (segment_id <= kMaxStoredUint) {
    PgParams p;
    p.Int(static_cast<int64_t>(id_));
    p.Int(static_cast<int64_t>(segment_id));
    p.Int(static_cast<int64_t>(
        std::min<uint64_t>(up_to_sequence, kMaxStoredUint)));
    p.Int(contact_id);
    // Single events of other contacts are skipped in SQL; runs of more
    // than one event are decoded.
    ASSIGN_OR_RETURN(
        PgResult r,
        conn->Query(
            absl::StrCat("SELECT ", kRunColumns,
                         " FROM change_runs WHERE workspace_id = $1 AND "
                         "segment_id = $2 AND first_sequence <= $3 AND "
                         "(first_contact_id = $4 OR last_sequence > "
                         "first_sequence) ORDER BY first_sequence"),
            p));
    ChangeRun run;
    for (int i = 0; i < r.rows(); ++i) {
      if (std::string problem = DecodeRunRow(r, i, &run); !problem.empty()) {
        return DataLoss(absl::StrCat(
            "change_runs row first_sequence=", r.Int(i, 0), ": ", problem));
      }
      for (size_t k = 0; k < run.contact_ids.size(); ++k) {
        const uint64_t sequence = run.first_sequence + k;
        if (sequence > up_to_sequence) break;
        if (run.contact_ids[k] == contact_id) {
          out.changes.push_back({sequence, run.segment_id, contact_id, run.kind,
                                 run.cause, run.time});
        }
      }
    }
  }
  ASSIGN_OR_RETURN(out.pruned_before, QueryPrunedBefore(conn.get()));
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

}  // namespace segments
