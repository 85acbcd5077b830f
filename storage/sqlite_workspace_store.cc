#include "storage/sqlite_workspace_store.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/filter_codec.h"
#include "core/status_macros.h"
#include "storage/record_checks.h"
#include "storage/tags_codec.h"

namespace segments {
namespace {

// PRAGMA application_id of a workspace database: "SGWS".
constexpr int32_t kWorkspaceAppId = 0x53475753;

// migrations[i] takes the schema from user_version i to i + 1. Append only;
// never edit a step that has shipped.
const std::vector<const char*>& Migrations() {
  static const auto* const kMigrations = new std::vector<const char*>{
      // 0 -> 1: the initial schema.
      R"sql(
        CREATE TABLE contacts (
          id INTEGER PRIMARY KEY,
          email TEXT NOT NULL,
          company TEXT,
          job_title TEXT,
          country TEXT,
          city TEXT,
          source TEXT,
          tags TEXT NOT NULL,
          lifecycle_stage INTEGER NOT NULL,
          lead_score INTEGER NOT NULL,
          engagement_score INTEGER NOT NULL,
          engagement_trend INTEGER,
          conversion_likelihood INTEGER,
          created_at INTEGER NOT NULL,
          last_engaged_at INTEGER
        ) STRICT;
        CREATE TABLE segments (
          id INTEGER PRIMARY KEY,
          display_name TEXT NOT NULL,
          filter BLOB NOT NULL,
          state INTEGER NOT NULL,
          create_time INTEGER NOT NULL,
          update_time INTEGER NOT NULL,
          frozen_members BLOB NOT NULL,
          frozen_as_of INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE changes (
          sequence INTEGER PRIMARY KEY,
          segment_id INTEGER NOT NULL,
          contact_id INTEGER NOT NULL,
          kind INTEGER NOT NULL,
          cause INTEGER NOT NULL,
          time INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE meta (
          key TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES
          ('next_contact_id', 1), ('next_segment_id', 1), ('last_sequence', 0);
      )sql",
  };
  return *kMigrations;
}

constexpr char kContactColumns[] =
    "id, email, company, job_title, country, city, source, tags, "
    "lifecycle_stage, "
    "lead_score, engagement_score, engagement_trend, conversion_likelihood, "
    "created_at, last_engaged_at";
constexpr char kSegmentColumns[] =
    "id, display_name, filter, state, create_time, update_time, "
    "frozen_members, "
    "frozen_as_of";
constexpr char kChangeColumns[] =
    "sequence, segment_id, contact_id, kind, cause, time";

constexpr char kUpsertContact[] =
    "INSERT INTO contacts (id, email, company, job_title, country, city, "
    "source, tags, "
    "lifecycle_stage, lead_score, engagement_score, engagement_trend, "
    "conversion_likelihood, created_at, last_engaged_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
    "ON CONFLICT (id) DO UPDATE SET email = excluded.email, "
    "company = excluded.company, job_title = excluded.job_title, "
    "country = excluded.country, city = excluded.city, source = "
    "excluded.source, "
    "tags = excluded.tags, lifecycle_stage = excluded.lifecycle_stage, "
    "lead_score = excluded.lead_score, engagement_score = "
    "excluded.engagement_score, "
    "engagement_trend = excluded.engagement_trend, "
    "conversion_likelihood = excluded.conversion_likelihood, "
    "created_at = excluded.created_at, last_engaged_at = "
    "excluded.last_engaged_at";
constexpr char kUpsertSegment[] =
    "INSERT INTO segments (id, display_name, filter, state, create_time, "
    "update_time, "
    "frozen_members, frozen_as_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, "
    "filter = excluded.filter, state = excluded.state, "
    "create_time = excluded.create_time, update_time = excluded.update_time, "
    "frozen_members = excluded.frozen_members, frozen_as_of = "
    "excluded.frozen_as_of";
constexpr char kInsertChange[] =
    "INSERT INTO changes (sequence, segment_id, contact_id, kind, cause, time) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kPutMeta[] =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

constexpr char kNextContactId[] = "next_contact_id";
constexpr char kNextSegmentId[] = "next_segment_id";
constexpr char kLastSequence[] = "last_sequence";

bool FitsInt32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() &&
         v <= std::numeric_limits<int32_t>::max();
}

// Unset optional strings and enums are stored as NULL.
void BindOptionalText(SqliteStatement& s, int index, const std::string& value) {
  if (value.empty()) {
    s.BindNull(index);
  } else {
    s.BindText(index, value);
  }
}
void BindOptionalEnum(SqliteStatement& s, int index, int value) {
  if (value == 0) {
    s.BindNull(index);
  } else {
    s.BindInt(index, value);
  }
}

// Reads a contacts row (kContactColumns) into `*c`; "" or the problem.
std::string DecodeContact(const SqliteStatement& s, Contact* c) {
  const int64_t id = s.ColumnInt(0);
  if (id < 1 || id > std::numeric_limits<ContactId>::max())
    return "id is out of range";
  c->id = static_cast<ContactId>(id);
  const std::string_view email = s.ColumnText(1);
  c->email.assign(email.data(), email.size());
  std::string* strings[] = {&c->company, &c->job_title, &c->country, &c->city,
                            &c->source};
  for (int i = 0; i < 5; ++i) {
    const std::string_view v = s.ColumnText(2 + i);
    strings[i]->assign(v.data(), v.size());
  }
  if (!DecodeTags(s.ColumnText(7), &c->tags)) return "tags do not decode";
  static constexpr const char* kIntColumns[5] = {
      "lifecycle_stage", "lead_score", "engagement_score", "engagement_trend",
      "conversion_likelihood"};
  int64_t ints[5];
  for (int i = 0; i < 5; ++i) {
    ints[i] = s.ColumnInt(8 + i);
    if (!FitsInt32(ints[i])) {
      return absl::StrCat(kIntColumns[i], " ", ints[i], " is out of range");
    }
  }
  c->lifecycle_stage = static_cast<LifecycleStage>(ints[0]);
  c->lead_score = static_cast<int32_t>(ints[1]);
  c->engagement_score = static_cast<int32_t>(ints[2]);
  c->engagement_trend = static_cast<EngagementTrend>(ints[3]);
  c->conversion_likelihood = static_cast<ConversionLikelihood>(ints[4]);
  c->created_at = s.ColumnInt(13);
  if (s.ColumnIsNull(14)) {
    c->last_engaged_at.reset();
  } else {
    c->last_engaged_at = s.ColumnInt(14);
  }
  return ContactProblem(*c);
}

std::string DecodeChange(const SqliteStatement& s, MembershipChange* c) {
  const int64_t v[6] = {s.ColumnInt(0), s.ColumnInt(1), s.ColumnInt(2),
                        s.ColumnInt(3), s.ColumnInt(4), s.ColumnInt(5)};
  if (v[0] < 1 || v[1] < 1) return "sequence or segment_id is out of range";
  if (v[2] < 1 || v[2] > std::numeric_limits<ContactId>::max()) {
    return "contact_id is out of range";
  }
  if (!FitsInt32(v[3]) || !FitsInt32(v[4]))
    return "kind or cause is out of range";
  c->sequence = static_cast<uint64_t>(v[0]);
  c->segment_id = static_cast<SegmentId>(v[1]);
  c->contact_id = static_cast<ContactId>(v[2]);
  c->kind = static_cast<ChangeKind>(v[3]);
  c->cause = static_cast<ChangeCause>(v[4]);
  c->time = v[5];
  return ChangeProblem(*c);
}

}  // namespace

struct SqliteWorkspaceStore::WriteStatements {
  std::unique_ptr<SqliteStatement> upsert_contact;
  std::unique_ptr<SqliteStatement> delete_contact;
  std::unique_ptr<SqliteStatement> upsert_segment;
  std::unique_ptr<SqliteStatement> delete_segment;
  std::unique_ptr<SqliteStatement> insert_change;
  std::unique_ptr<SqliteStatement> put_meta;
};

int SqliteWorkspaceStore::SchemaVersion() {
  return static_cast<int>(Migrations().size());
}

absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>>
SqliteWorkspaceStore::Open(const std::string& path,
                           const SqliteOptions& options) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> write_db,
      OpenAndMigrate(path, options, kWorkspaceAppId, Migrations()));
  auto w = std::make_unique<WriteStatements>();
  ASSIGN_OR_RETURN(w->upsert_contact, write_db->Prepare(kUpsertContact));
  ASSIGN_OR_RETURN(w->delete_contact,
                   write_db->Prepare("DELETE FROM contacts WHERE id = ?1"));
  ASSIGN_OR_RETURN(w->upsert_segment, write_db->Prepare(kUpsertSegment));
  ASSIGN_OR_RETURN(w->delete_segment,
                   write_db->Prepare("DELETE FROM segments WHERE id = ?1"));
  ASSIGN_OR_RETURN(w->insert_change, write_db->Prepare(kInsertChange));
  ASSIGN_OR_RETURN(w->put_meta, write_db->Prepare(kPutMeta));

  ASSIGN_OR_RETURN(FileId file, GetFileId(path));

  // The change feed reads through its own connection: in WAL mode it sees
  // the last committed state without waiting for a writer.
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> read_db,
      SqliteDb::Open(path, /*create=*/false, options.busy_timeout_ms));
  RETURN_IF_ERROR(read_db->Exec("PRAGMA query_only=1"));
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteStatement> read_changes,
      read_db->Prepare(absl::StrCat("SELECT ", kChangeColumns,
                                    " FROM changes WHERE sequence > ?1 "
                                    "ORDER BY sequence LIMIT ?2")));
  return std::unique_ptr<SqliteWorkspaceStore>(
      new SqliteWorkspaceStore(path, file, std::move(write_db), std::move(w),
                               std::move(read_db), std::move(read_changes)));
}

SqliteWorkspaceStore::SqliteWorkspaceStore(
    std::string path, FileId file, std::unique_ptr<SqliteDb> write_db,
    std::unique_ptr<WriteStatements> write_stmts,
    std::unique_ptr<SqliteDb> read_db,
    std::unique_ptr<SqliteStatement> read_changes)
    : path_(std::move(path)),
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

absl::StatusOr<WorkspaceData> SqliteWorkspaceStore::Load() {
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
    ASSIGN_OR_RETURN(auto stmt,
                     write_db_->Prepare("SELECT key, value FROM meta"));
    SqliteStatement::Scope scope(*stmt);
    int found = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const std::string_view key = stmt->ColumnText(0);
      const int64_t value = stmt->ColumnInt(1);
      if (key == kNextContactId) {
        if (value < 1 || value > std::numeric_limits<ContactId>::max()) {
          return absl::DataLossError(absl::StrCat(
              path_, ": meta next_contact_id ", value, " is out of range"));
        }
        data.counters.next_contact_id = static_cast<ContactId>(value);
      } else if (key == kNextSegmentId) {
        if (value < 1) {
          return absl::DataLossError(absl::StrCat(
              path_, ": meta next_segment_id ", value, " is out of range"));
        }
        data.counters.next_segment_id = static_cast<SegmentId>(value);
      } else if (key == kLastSequence) {
        if (value < 0) {
          return absl::DataLossError(absl::StrCat(
              path_, ": meta last_sequence ", value, " is out of range"));
        }
        data.counters.last_sequence = static_cast<uint64_t>(value);
      } else {
        continue;  // a key of a later version is not ours to judge
      }
      ++found;
    }
    if (found != 3) {
      return absl::DataLossError(
          absl::StrCat(path_, ": meta table lacks counters"));
    }
  }
  {
    ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(absl::StrCat(
                                    "SELECT ", kContactColumns,
                                    " FROM contacts ORDER BY id")));
    SqliteStatement::Scope scope(*stmt);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      Contact& c = data.contacts.emplace_back();
      const std::string problem = DecodeContact(*stmt, &c);
      if (!problem.empty())
        return data_loss("contacts", stmt->ColumnInt(0), problem);
    }
  }
  {
    ASSIGN_OR_RETURN(auto stmt, write_db_->Prepare(absl::StrCat(
                                    "SELECT ", kSegmentColumns,
                                    " FROM segments ORDER BY id")));
    SqliteStatement::Scope scope(*stmt);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const int64_t id = stmt->ColumnInt(0);
      const int64_t state = stmt->ColumnInt(3);
      const int64_t frozen_as_of = stmt->ColumnInt(7);
      if (id < 1) return data_loss("segments", id, "id is out of range");
      if (!FitsInt32(state) || frozen_as_of < 0) {
        return data_loss("segments", id,
                         "state or frozen_as_of is out of range");
      }
      SegmentRecord& s = data.segments.emplace_back();
      s.id = static_cast<SegmentId>(id);
      s.display_name = std::string(stmt->ColumnText(1));
      absl::StatusOr<Filter> filter = DecodeFilter(stmt->ColumnBlob(2));
      if (!filter.ok())
        return data_loss("segments", id, filter.status().message());
      s.filter = *std::move(filter);
      s.state = static_cast<SegmentState>(state);
      s.create_time = stmt->ColumnInt(4);
      s.update_time = stmt->ColumnInt(5);
      s.frozen_members = std::string(stmt->ColumnBlob(6));
      s.frozen_as_of = static_cast<uint64_t>(frozen_as_of);
      const std::string problem = SegmentProblem(s);
      if (!problem.empty()) return data_loss("segments", id, problem);
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return data;
}

absl::Status SqliteWorkspaceStore::Commit(const WorkspaceWrite& write) {
  // Refuse what could not be loaded back, before touching the database.
  auto refuse = [](absl::string_view what, uint64_t id,
                   absl::string_view problem) {
    return absl::InternalError(
        absl::StrCat("refusing to store ", what, " ", id, ": ", problem));
  };
  for (const Contact& c : write.put_contacts) {
    if (std::string p = ContactProblem(c); !p.empty())
      return refuse("contact", c.id, p);
  }
  for (const SegmentRecord& s : write.put_segments) {
    if (std::string p = SegmentProblem(s); !p.empty())
      return refuse("segment", s.id, p);
  }
  for (const MembershipChange& c : write.changes) {
    if (std::string p = ChangeProblem(c); !p.empty())
      return refuse("change", c.sequence, p);
  }
  if (std::string p = CountersProblem(write.counters); !p.empty()) {
    return refuse("counters of", 0, p);
  }
  absl::MutexLock lock(&write_mu_);
  absl::StatusOr<FileId> current = GetFileId(path_);
  if (!current.ok() && !absl::IsNotFound(current.status()))
    return current.status();
  if (!current.ok() || !(*current == file_)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " was deleted or replaced since it was opened"));
  }
  return CommitLocked(write);
}

absl::Status SqliteWorkspaceStore::CommitLocked(const WorkspaceWrite& write) {
  SqliteTransaction txn(write_db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));

  SqliteStatement& put_contact = *write_->upsert_contact;
  for (const Contact& c : write.put_contacts) {
    put_contact.BindInt(1, c.id);
    put_contact.BindText(2, c.email);
    BindOptionalText(put_contact, 3, c.company);
    BindOptionalText(put_contact, 4, c.job_title);
    BindOptionalText(put_contact, 5, c.country);
    BindOptionalText(put_contact, 6, c.city);
    BindOptionalText(put_contact, 7, c.source);
    EncodeTags(c.tags, &tags_buffer_);
    put_contact.BindText(8, tags_buffer_);
    put_contact.BindInt(9, static_cast<int>(c.lifecycle_stage));
    put_contact.BindInt(10, c.lead_score);
    put_contact.BindInt(11, c.engagement_score);
    BindOptionalEnum(put_contact, 12, static_cast<int>(c.engagement_trend));
    BindOptionalEnum(put_contact, 13,
                     static_cast<int>(c.conversion_likelihood));
    put_contact.BindInt(14, c.created_at);
    if (c.last_engaged_at.has_value()) {
      put_contact.BindInt(15, *c.last_engaged_at);
    } else {
      put_contact.BindNull(15);
    }
    RETURN_IF_ERROR(put_contact.Run());
  }
  for (ContactId id : write.deleted_contacts) {
    write_->delete_contact->BindInt(1, id);
    RETURN_IF_ERROR(write_->delete_contact->Run());
  }

  SqliteStatement& put_segment = *write_->upsert_segment;
  for (const SegmentRecord& s : write.put_segments) {
    put_segment.BindInt(1, static_cast<int64_t>(s.id));
    put_segment.BindText(2, s.display_name);
    put_segment.BindBlob(3, EncodeFilter(s.filter));
    put_segment.BindInt(4, static_cast<int>(s.state));
    put_segment.BindInt(5, s.create_time);
    put_segment.BindInt(6, s.update_time);
    put_segment.BindBlob(7, s.frozen_members);
    put_segment.BindInt(8, static_cast<int64_t>(s.frozen_as_of));
    RETURN_IF_ERROR(put_segment.Run());
  }
  for (SegmentId id : write.deleted_segments) {
    if (id > kMaxStoredUint) continue;  // cannot be stored, so cannot exist
    write_->delete_segment->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(write_->delete_segment->Run());
  }

  SqliteStatement& insert_change = *write_->insert_change;
  for (const MembershipChange& c : write.changes) {
    insert_change.BindInt(1, static_cast<int64_t>(c.sequence));
    insert_change.BindInt(2, static_cast<int64_t>(c.segment_id));
    insert_change.BindInt(3, c.contact_id);
    insert_change.BindInt(4, static_cast<int>(c.kind));
    insert_change.BindInt(5, static_cast<int>(c.cause));
    insert_change.BindInt(6, c.time);
    RETURN_IF_ERROR(insert_change.Run());
  }

  const std::pair<const char*, int64_t> counters[] = {
      {kNextContactId, write.counters.next_contact_id},
      {kNextSegmentId, static_cast<int64_t>(write.counters.next_segment_id)},
      {kLastSequence, static_cast<int64_t>(write.counters.last_sequence)},
  };
  for (const auto& [key, value] : counters) {
    write_->put_meta->BindText(1, key);
    write_->put_meta->BindInt(2, value);
    RETURN_IF_ERROR(write_->put_meta->Run());
  }
  return txn.Commit();
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
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    MembershipChange& c = out.emplace_back();
    const std::string problem = DecodeChange(s, &c);
    if (!problem.empty()) {
      return absl::DataLossError(absl::StrCat(
          path_, ": changes row sequence=", s.ColumnInt(0), ": ", problem));
    }
  }
  return out;
}

}  // namespace segments
