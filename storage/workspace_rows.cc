#include "storage/workspace_rows.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "core/model/filter_codec.h"
#include "storage/change_runs.h"
#include "storage/record_checks.h"
#include "storage/tags_codec.h"

namespace segments {

const std::vector<const char*>& WorkspaceMigrations() {
  // Append only; never edit a step that has shipped.
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
      // 1 -> 2: the change log as runs (change_runs.h); each old row
      // becomes a run of one event.
      R"sql(
        CREATE TABLE change_runs (
          first_sequence INTEGER PRIMARY KEY,
          last_sequence INTEGER NOT NULL,
          segment_id INTEGER NOT NULL,
          kind INTEGER NOT NULL,
          cause INTEGER NOT NULL,
          time INTEGER NOT NULL,
          first_contact_id INTEGER NOT NULL,
          more_contact_ids BLOB NOT NULL
        ) STRICT;
        INSERT INTO change_runs
          SELECT sequence, sequence, segment_id, kind, cause, time, contact_id,
                 X''
          FROM changes;
        DROP TABLE changes;
      )sql",
      // 2 -> 3: how far time-driven flips have been applied (0: not yet
      // recorded; the engine then starts from the time it is opened).
      R"sql(
        INSERT INTO meta (key, value) VALUES ('time_applied_until', 0);
      )sql",
      // 3 -> 4: history (issue 13): one segment's runs by time, covering
      // what its bucket sums read (kind, last_sequence; first_sequence is the
      // rowid), so they never touch the rows and their contact blobs.
      R"sql(
        CREATE INDEX change_runs_by_segment_time
          ON change_runs (segment_id, time, kind, last_sequence);
      )sql",
      // 4 -> 5: audience snapshots, each with its members as a portable
      // Roaring bitmap, and the next snapshot id.
      R"sql(
        CREATE TABLE snapshots (
          id INTEGER PRIMARY KEY,
          segment_id INTEGER NOT NULL,
          as_of_sequence INTEGER NOT NULL,
          member_count INTEGER NOT NULL,
          create_time INTEGER NOT NULL,
          expire_time INTEGER NOT NULL,
          members BLOB NOT NULL
        ) STRICT;
        INSERT INTO meta (key, value) VALUES ('next_snapshot_id', 1);
      )sql",
      // 5 -> 6: the history index on a table of its own, filled a few
      // thousand runs at a time (SqliteOptions::unindexed_runs_limit): an
      // index on change_runs put a leaf page per changed segment into every
      // commit, most of a single update's WAL frames (issue 18). A run's
      // first_sequence is its rowid in both tables.
      R"sql(
        DROP INDEX change_runs_by_segment_time;
        CREATE TABLE indexed_runs (
          first_sequence INTEGER PRIMARY KEY,
          segment_id INTEGER NOT NULL,
          time INTEGER NOT NULL,
          kind INTEGER NOT NULL,
          last_sequence INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX indexed_runs_by_segment_time
          ON indexed_runs (segment_id, time, kind, last_sequence);
        INSERT INTO indexed_runs
          SELECT first_sequence, segment_id, time, kind, last_sequence
          FROM change_runs;
      )sql",
  };
  return *kMigrations;
}

// clang-format off
const char kSelectContactsSql[] =
    "SELECT id, email, company, job_title, country, city, source, tags, "
    "lifecycle_stage, lead_score, engagement_score, engagement_trend, "
    "conversion_likelihood, created_at, last_engaged_at "
    "FROM contacts ORDER BY id";
const char kUpsertContactSql[] =
    "INSERT INTO contacts (id, email, company, job_title, country, city, "
    "source, tags, lifecycle_stage, lead_score, engagement_score, "
    "engagement_trend, conversion_likelihood, created_at, last_engaged_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
    "ON CONFLICT (id) DO UPDATE SET "
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
const char kDeleteContactSql[] = "DELETE FROM contacts WHERE id = ?1";
const char kSelectSegmentsSql[] =
    "SELECT id, display_name, filter, state, create_time, update_time, "
    "frozen_members, frozen_as_of FROM segments ORDER BY id";
const char kUpsertSegmentSql[] =
    "INSERT INTO segments (id, display_name, filter, state, create_time, "
    "update_time, frozen_members, frozen_as_of) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (id) DO UPDATE SET "
    "display_name = excluded.display_name, filter = excluded.filter, "
    "state = excluded.state, create_time = excluded.create_time, "
    "update_time = excluded.update_time, "
    "frozen_members = excluded.frozen_members, "
    "frozen_as_of = excluded.frozen_as_of";
const char kDeleteSegmentSql[] = "DELETE FROM segments WHERE id = ?1";
// From the run holding sequence ?1 + 1 (or the first after it) on.
const char kSelectSnapshotsSql[] =
    "SELECT id, segment_id, as_of_sequence, member_count, create_time, "
    "expire_time, members FROM snapshots ORDER BY id";
const char kUpsertSnapshotSql[] =
    "INSERT INTO snapshots (id, segment_id, as_of_sequence, member_count, "
    "create_time, expire_time, members) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (id) DO UPDATE SET "
    "segment_id = excluded.segment_id, "
    "as_of_sequence = excluded.as_of_sequence, "
    "member_count = excluded.member_count, "
    "create_time = excluded.create_time, expire_time = excluded.expire_time, "
    "members = excluded.members";
const char kDeleteSnapshotSql[] = "DELETE FROM snapshots WHERE id = ?1";
const char kSelectChangeRunsSql[] =
    "SELECT first_sequence, segment_id, first_contact_id, kind, cause, time, "
    "last_sequence, more_contact_ids FROM change_runs "
    "WHERE last_sequence > ?1 AND first_sequence >= IFNULL("
    "(SELECT first_sequence FROM change_runs WHERE first_sequence <= ?1 + 1 "
    "ORDER BY first_sequence DESC LIMIT 1), 0) "
    "ORDER BY first_sequence LIMIT ?2";
const char kInsertChangeRunSql[] =
    "INSERT INTO change_runs (first_sequence, segment_id, first_contact_id, "
    "kind, cause, time, last_sequence, more_contact_ids) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const char kSelectMetaSql[] = "SELECT key, value FROM meta";
const char kPutMetaSql[] =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const char kSelectMetaValueSql[] = "SELECT value FROM meta WHERE key = ?1";
// ?1: the meta key of the last sequence; ?2: of changes_pruned_before.
const char kSelectRetentionSql[] =
    "SELECT IFNULL((SELECT first_sequence FROM change_runs "
    "ORDER BY first_sequence LIMIT 1), "
    "IFNULL((SELECT value FROM meta WHERE key = ?1), 0) + 1), "
    "IFNULL((SELECT value FROM meta WHERE key = ?2), 0)";
// The oldest ?1 runs, oldest first.
const char kSelectOldestRunTimesSql[] =
    "SELECT first_sequence, time FROM change_runs "
    "ORDER BY first_sequence LIMIT ?1";
const char kDeleteRunsThroughSql[] =
    "DELETE FROM change_runs WHERE first_sequence <= ?1";
const char kDeleteIndexedRunsThroughSql[] =
    "DELETE FROM indexed_runs WHERE first_sequence <= ?1";
const char kIndexWaitingRunsSql[] =
    "INSERT INTO indexed_runs "
    "SELECT first_sequence, segment_id, time, kind, last_sequence "
    "FROM change_runs WHERE " SEGMENTS_SQL_WAITING_RUN;
const char kCountWaitingRunsSql[] =
    "SELECT COUNT(*) FROM change_runs WHERE " SEGMENTS_SQL_WAITING_RUN;
const char kSelectLastChangeSequenceSql[] =
    "SELECT IFNULL((SELECT last_sequence FROM change_runs "
    "ORDER BY first_sequence DESC LIMIT 1), 0)";
// clang-format on

const char kNextContactIdKey[] = "next_contact_id";
const char kNextSegmentIdKey[] = "next_segment_id";
const char kLastSequenceKey[] = "last_sequence";
const char kTimeAppliedUntilKey[] = "time_applied_until";
const char kChangesPrunedBeforeKey[] = "changes_pruned_before";
const char kNextSnapshotIdKey[] = "next_snapshot_id";
const char kWorkspaceIdKey[] = "workspace_id";

namespace {

bool FitsInt32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() &&
         v <= std::numeric_limits<int32_t>::max();
}

// Unset optional strings and enums are stored as NULL.
void BindOptionalText(int index, const std::string& value, SqliteStatement* s) {
  if (value.empty()) {
    s->BindNull(index);
  } else {
    s->BindTextUncopied(index, value);
  }
}
void BindOptionalEnum(int index, int value, SqliteStatement* s) {
  if (value == 0) {
    s->BindNull(index);
  } else {
    s->BindInt(index, value);
  }
}

}  // namespace

void BindContact(const Contact& c, std::string* tags_buffer,
                 SqliteStatement* s) {
  s->BindInt(1, c.id);
  s->BindTextUncopied(2, c.email);
  BindOptionalText(3, c.company, s);
  BindOptionalText(4, c.job_title, s);
  BindOptionalText(5, c.country, s);
  BindOptionalText(6, c.city, s);
  BindOptionalText(7, c.source, s);
  EncodeTags(c.tags, tags_buffer);
  s->BindTextUncopied(8, *tags_buffer);
  s->BindInt(9, static_cast<int>(c.lifecycle_stage));
  s->BindInt(10, c.lead_score);
  s->BindInt(11, c.engagement_score);
  BindOptionalEnum(12, static_cast<int>(c.engagement_trend), s);
  BindOptionalEnum(13, static_cast<int>(c.conversion_likelihood), s);
  s->BindInt(14, c.created_at);
  if (c.last_engaged_at.has_value()) {
    s->BindInt(15, *c.last_engaged_at);
  } else {
    s->BindNull(15);
  }
}

std::string DecodeContact(const SqliteStatement& s, Contact* c) {
  const int64_t id = s.ColumnInt(0);
  if (id < 1 || id > std::numeric_limits<ContactId>::max()) {
    return "id is out of range";
  }
  c->id = static_cast<ContactId>(id);
  std::string* const strings[] = {&c->email,   &c->company, &c->job_title,
                                  &c->country, &c->city,    &c->source};
  for (int i = 0; i < 6; ++i) {
    const std::string_view v = s.ColumnText(1 + i);  // NULL reads as ""
    strings[i]->assign(v.data(), v.size());
  }
  if (!DecodeTags(s.ColumnText(7), &c->tags)) return "tags do not decode";
  static constexpr const char* kIntColumns[5] = {
      "lifecycle_stage", "lead_score", "engagement_score", "engagement_trend",
      "conversion_likelihood"};
  int64_t ints[5];
  for (int i = 0; i < 5; ++i) {
    ints[i] = s.ColumnInt(8 + i);  // NULL reads as 0 (unset)
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

void BindSegment(const SegmentRecord& r, SqliteStatement* s) {
  s->BindInt(1, static_cast<int64_t>(r.id));
  s->BindText(2, r.display_name);
  s->BindBlob(3, EncodeFilter(r.filter));
  s->BindInt(4, static_cast<int>(r.state));
  s->BindInt(5, r.create_time);
  s->BindInt(6, r.update_time);
  s->BindBlob(7, r.frozen_members);
  s->BindInt(8, static_cast<int64_t>(r.frozen_as_of));
}

std::string DecodeSegment(const SqliteStatement& s, SegmentRecord* r) {
  const int64_t id = s.ColumnInt(0);
  const int64_t state = s.ColumnInt(3);
  const int64_t frozen_as_of = s.ColumnInt(7);
  if (id < 1) return "id is out of range";
  if (!FitsInt32(state)) return "state is out of range";
  if (frozen_as_of < 0) return "frozen_as_of is out of range";
  r->id = static_cast<SegmentId>(id);
  r->display_name = std::string(s.ColumnText(1));
  absl::StatusOr<Filter> filter = DecodeFilter(s.ColumnBlob(2));
  if (!filter.ok()) return std::string(filter.status().message());
  r->filter = *std::move(filter);
  r->state = static_cast<SegmentState>(state);
  r->create_time = s.ColumnInt(4);
  r->update_time = s.ColumnInt(5);
  r->frozen_members = std::string(s.ColumnBlob(6));
  r->frozen_as_of = static_cast<uint64_t>(frozen_as_of);
  return SegmentProblem(*r);
}

void BindSnapshot(const SnapshotRecord& r, SqliteStatement* s) {
  s->BindInt(1, static_cast<int64_t>(r.id));
  s->BindInt(2, static_cast<int64_t>(r.segment_id));
  s->BindInt(3, static_cast<int64_t>(r.as_of_sequence));
  s->BindInt(4, static_cast<int64_t>(r.member_count));
  s->BindInt(5, r.create_time);
  s->BindInt(6, r.expire_time);
  s->BindBlob(7, r.members);
}

std::string DecodeSnapshot(const SqliteStatement& s, SnapshotRecord* r) {
  const int64_t v[4] = {s.ColumnInt(0), s.ColumnInt(1), s.ColumnInt(2),
                        s.ColumnInt(3)};
  static constexpr const char* kNames[4] = {"id", "segment_id",
                                            "as_of_sequence", "member_count"};
  for (int i = 0; i < 4; ++i) {
    if (v[i] < 0) return absl::StrCat(kNames[i], " is out of range");
  }
  r->id = static_cast<SnapshotId>(v[0]);
  r->segment_id = static_cast<SegmentId>(v[1]);
  r->as_of_sequence = static_cast<uint64_t>(v[2]);
  r->member_count = static_cast<uint64_t>(v[3]);
  r->create_time = s.ColumnInt(4);
  r->expire_time = s.ColumnInt(5);
  r->members = std::string(s.ColumnBlob(6));
  return SnapshotProblem(*r);
}

void BindChangeRun(const ChangeRun& run, std::string* blob_buffer,
                   SqliteStatement* s) {
  s->BindInt(1, static_cast<int64_t>(run.first_sequence));
  s->BindInt(2, static_cast<int64_t>(run.segment_id));
  s->BindInt(3, run.contact_ids.front());
  s->BindInt(4, static_cast<int>(run.kind));
  s->BindInt(5, static_cast<int>(run.cause));
  s->BindInt(6, run.time);
  s->BindInt(7, static_cast<int64_t>(run.last_sequence()));
  EncodeMoreContactIds(run.contact_ids, blob_buffer);
  s->BindBlob(8, *blob_buffer);
}

namespace {

// A change_runs row's columns but the blob: its first event and its last
// sequence number.
std::string DecodeRunHead(const SqliteStatement& s, MembershipChange* first,
                          uint64_t* last_sequence) {
  const int64_t v[7] = {s.ColumnInt(0), s.ColumnInt(1), s.ColumnInt(2),
                        s.ColumnInt(3), s.ColumnInt(4), s.ColumnInt(5),
                        s.ColumnInt(6)};
  if (v[0] < 1) return "first_sequence is out of range";
  if (v[6] < v[0]) return "last_sequence is before first_sequence";
  if (v[1] < 1) return "segment_id is out of range";
  // 0 is a segment deletion's (ChangeProblem checks which kind it is).
  if (v[2] < 0 || v[2] > std::numeric_limits<ContactId>::max()) {
    return "first_contact_id is out of range";
  }
  if (!FitsInt32(v[3]) || !FitsInt32(v[4])) {
    return "kind or cause is out of range";
  }
  first->sequence = static_cast<uint64_t>(v[0]);
  first->segment_id = static_cast<SegmentId>(v[1]);
  first->contact_id = static_cast<ContactId>(v[2]);
  first->kind = static_cast<ChangeKind>(v[3]);
  first->cause = static_cast<ChangeCause>(v[4]);
  first->time = v[5];
  *last_sequence = static_cast<uint64_t>(v[6]);
  if (std::string problem = ChangeProblem(*first); !problem.empty()) {
    return problem;
  }
  if (first->kind == ChangeKind::kSegmentDeleted &&
      *last_sequence != first->sequence) {
    return "a segment deletion is one event";
  }
  return "";
}

}  // namespace

std::string DecodeChangeRun(const SqliteStatement& s,
                            std::vector<MembershipChange>* out) {
  MembershipChange first;
  uint64_t last = 0;
  if (std::string problem = DecodeRunHead(s, &first, &last); !problem.empty()) {
    return problem;
  }
  return ExpandRun(first, last, s.ColumnBlob(7), out);
}

std::string DecodeChangeRunRow(const SqliteStatement& s, ChangeRun* run) {
  MembershipChange first;
  uint64_t last = 0;
  if (std::string problem = DecodeRunHead(s, &first, &last); !problem.empty()) {
    return problem;
  }
  *run = {first.sequence, first.segment_id, first.kind,
          first.cause,    first.time,       {}};
  return DecodeMoreContactIds(first.contact_id, last - first.sequence,
                              s.ColumnBlob(7), &run->contact_ids);
}

std::string DecodeMeta(const SqliteStatement& s, WorkspaceCounters* counters,
                       bool* known) {
  const std::string_view key = s.ColumnText(0);
  const int64_t value = s.ColumnInt(1);
  *known = true;
  if (key == kNextContactIdKey) {
    if (value < 1 || value > std::numeric_limits<ContactId>::max()) {
      return absl::StrCat("next_contact_id ", value, " is out of range");
    }
    counters->next_contact_id = static_cast<ContactId>(value);
  } else if (key == kNextSegmentIdKey) {
    if (value < 1) {
      return absl::StrCat("next_segment_id ", value, " is out of range");
    }
    counters->next_segment_id = static_cast<SegmentId>(value);
  } else if (key == kLastSequenceKey) {
    if (value < 0) {
      return absl::StrCat("last_sequence ", value, " is out of range");
    }
    counters->last_sequence = static_cast<uint64_t>(value);
  } else if (key == kTimeAppliedUntilKey) {
    if (value < 0) {
      return absl::StrCat("time_applied_until ", value, " is out of range");
    }
    counters->time_applied_until = value;
  } else if (key == kNextSnapshotIdKey) {
    if (value < 1) {
      return absl::StrCat("next_snapshot_id ", value, " is out of range");
    }
    counters->next_snapshot_id = static_cast<SnapshotId>(value);
  } else {
    *known = false;
  }
  return "";
}

}  // namespace segments
