// Tests of storage/workspace_rows.cc: every record survives Bind, a row of
// the schema and Decode unchanged, and a row that no record could have
// produced is refused with a description. Malformed rows are SELECTed as
// literals, in the column order of the real SELECTs, so that they need not
// pass the tables' STRICT types and NOT NULL constraints.
#include "storage/workspace_rows.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/filter.h"
#include "core/model/filter_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

Contact FullContact() {
  Contact c;
  c.id = std::numeric_limits<ContactId>::max();
  c.email = "ada@example.com";
  c.company = "Acme";
  c.job_title = "CTO";
  c.country = "de";
  c.city = "Zürich";
  c.source = "import";
  c.tags = {"a,b", "vip", "\"quoted\""};
  std::sort(c.tags.begin(), c.tags.end());
  c.lifecycle_stage = LifecycleStage::kCustomer;
  c.lead_score = std::numeric_limits<int32_t>::min();
  c.engagement_score = 100;
  c.engagement_trend = EngagementTrend::kDeclining;
  c.conversion_likelihood = ConversionLikelihood::kVeryLikely;
  c.created_at = kMinTimestamp;
  c.last_engaged_at = kMaxTimestamp;
  return c;
}

Contact MinimalContact() {
  Contact c;
  c.id = 1;
  c.email = "min@example.com";
  c.created_at = -1;
  return c;
}

SegmentRecord MakeSegment() {
  FilterSpec spec;
  spec.match = static_cast<int>(Match::kAny);
  spec.conditions.push_back(
      {"country", static_cast<int>(Operator::kEquals), {std::string("de")}});
  spec.conditions.push_back(
      {"lead_score", static_cast<int>(Operator::kGreaterThan), {int64_t{-5}}});
  absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
  EXPECT_TRUE(filter.ok()) << filter.status();
  SegmentRecord s;
  s.id = 42;
  s.display_name = "Germany or warm — ünïcødé";
  if (filter.ok()) s.filter = *filter;
  s.state = SegmentState::kPlanRestricted;
  s.create_time = 1'700'000'000;
  s.update_time = 1'700'000'100;
  s.frozen_members = std::string("\x3a\x30\0\0", 4);  // opaque to the rows
  s.frozen_as_of = 17;
  return s;
}

class WorkspaceRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, SqliteDb::Open(":memory:", true, 1000));
    ASSERT_OK(MigrateSchema(db_.get(), kWorkspaceAppId, WorkspaceMigrations()));
  }

  std::unique_ptr<SqliteStatement> Prepare(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<SqliteStatement>> s = db_->Prepare(sql);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  // Steps `select` to its first row and returns decode(row), or "no row".
  template <typename Decode>
  std::string DecodeFirstRow(const std::string& select, Decode decode) {
    std::unique_ptr<SqliteStatement> s = Prepare(select);
    if (s == nullptr) return "does not compile";
    SqliteStatement::Scope scope(*s);
    absl::StatusOr<bool> row = s->Step();
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || !*row) return "no row";
    return decode(*s);
  }

  // Stores `c` with the production statement and reads it back.
  Contact RoundTrip(const Contact& c) {
    std::unique_ptr<SqliteStatement> upsert = Prepare(kUpsertContactSql);
    std::string tags;
    BindContact(c, &tags, upsert.get());
    EXPECT_OK(upsert->Run());
    Contact got;
    EXPECT_EQ(DecodeFirstRow(kSelectContactsSql,
                             [&](const SqliteStatement& s) {
                               return DecodeContact(s, &got);
                             }),
              "");
    return got;
  }

  std::string ContactRow(const std::string& columns) {
    Contact c;
    return DecodeFirstRow("SELECT " + columns, [&](const SqliteStatement& s) {
      return DecodeContact(s, &c);
    });
  }
  std::string SegmentRow(const std::string& columns) {
    SegmentRecord r;
    return DecodeFirstRow("SELECT " + columns, [&](const SqliteStatement& s) {
      return DecodeSegment(s, &r);
    });
  }
  // Refusals leave `out` as it was.
  std::string ChangeRunRow(const std::string& columns) {
    std::vector<MembershipChange> out(1);
    const std::string problem = DecodeFirstRow(
        "SELECT " + columns,
        [&](const SqliteStatement& s) { return DecodeChangeRun(s, &out); });
    if (!problem.empty()) {
      EXPECT_EQ(out.size(), 1u) << columns;
    }
    return problem;
  }
  std::string MetaRow(const std::string& columns, bool* known) {
    WorkspaceCounters counters;
    return DecodeFirstRow("SELECT " + columns, [&](const SqliteStatement& s) {
      return DecodeMeta(s, &counters, known);
    });
  }

  std::unique_ptr<SqliteDb> db_;
};

TEST_F(WorkspaceRowsTest, ContactsRoundTrip) {
  EXPECT_EQ(RoundTrip(FullContact()), FullContact());
}

TEST_F(WorkspaceRowsTest, UnsetContactFieldsAreStoredAsNull) {
  EXPECT_EQ(RoundTrip(MinimalContact()), MinimalContact());
  ASSERT_OK_AND_ASSIGN(
      int64_t nulls,
      db_->QueryInt("SELECT (company IS NULL) + (job_title IS NULL) + "
                    "(country IS NULL) + (city IS NULL) + (source IS NULL) + "
                    "(engagement_trend IS NULL) + "
                    "(conversion_likelihood IS NULL) + "
                    "(last_engaged_at IS NULL) FROM contacts"));
  EXPECT_EQ(nulls, 8);
  ASSERT_OK_AND_ASSIGN(std::string tags,
                       db_->QueryText("SELECT tags FROM contacts"));
  EXPECT_EQ(tags, "[]");
}

TEST_F(WorkspaceRowsTest, AContactUpsertReplacesTheRow) {
  RoundTrip(FullContact());
  Contact changed = FullContact();
  changed.company.clear();
  changed.tags.clear();
  changed.last_engaged_at.reset();
  EXPECT_EQ(RoundTrip(changed), changed);
  ASSERT_OK_AND_ASSIGN(int64_t rows,
                       db_->QueryInt("SELECT COUNT(*) FROM contacts"));
  EXPECT_EQ(rows, 1);
}

// A good row to start from, as literals in kSelectContactsSql's order.
constexpr char kGoodContact[] =
    "1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, NULL, "
    "0, NULL";

TEST_F(WorkspaceRowsTest, RefusesMalformedContactRows) {
  EXPECT_EQ(ContactRow(kGoodContact), "");
  // Each case changes one column of the good row.
  struct Case {
    const char* row;
    const char* problem;
  };
  const Case cases[] = {
      {"0, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, "
       "NULL, 0, NULL",
       "id is out of range"},
      {"4294967296, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, "
       "NULL, NULL, 0, NULL",
       "id is out of range"},
      {"-1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, "
       "NULL, 0, NULL",
       "id is out of range"},
      {"1, '', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, NULL, 0, "
       "NULL",
       "email is empty"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, 'not json', 1, 0, 0, "
       "NULL, NULL, 0, NULL",
       "tags do not decode"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[\"b\",\"a\"]', 1, 0, 0, "
       "NULL, NULL, 0, NULL",
       "not sorted"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 6, 0, 0, NULL, "
       "NULL, 0, NULL",
       "lifecycle_stage 6"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 4294967297, 0, 0, "
       "NULL, NULL, 0, NULL",
       "lifecycle_stage 4294967297 is out of range"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 2147483648, 0, "
       "NULL, NULL, 0, NULL",
       "lead_score 2147483648 is out of range"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 101, NULL, "
       "NULL, 0, NULL",
       "engagement_score 101"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, 4, NULL, "
       "0, NULL",
       "engagement_trend 4"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, 5, "
       "0, NULL",
       "conversion_likelihood 5"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, "
       "NULL, 253402300800, NULL",
       "created_at 253402300800"},
      {"1, 'a@x.com', NULL, NULL, NULL, NULL, NULL, '[]', 1, 0, 0, NULL, "
       "NULL, 0, -62135596801",
       "last_engaged_at -62135596801"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ContactRow(c.row), HasSubstr(c.problem)) << c.row;
  }
}

TEST_F(WorkspaceRowsTest, SegmentsRoundTrip) {
  const SegmentRecord want = MakeSegment();
  std::unique_ptr<SqliteStatement> upsert = Prepare(kUpsertSegmentSql);
  BindSegment(want, upsert.get());
  ASSERT_OK(upsert->Run());
  SegmentRecord got;
  EXPECT_EQ(DecodeFirstRow(kSelectSegmentsSql,
                           [&](const SqliteStatement& s) {
                             return DecodeSegment(s, &got);
                           }),
            "");
  EXPECT_EQ(got, want);
}

TEST_F(WorkspaceRowsTest, RefusesMalformedSegmentRows) {
  const std::string filter = absl::StrCat(
      "X'",
      [] {
        std::string hex;
        for (unsigned char ch : EncodeFilter(MakeSegment().filter)) {
          absl::StrAppend(&hex, absl::Hex(ch, absl::kZeroPad2));
        }
        return hex;
      }(),
      "'");
  auto row = [](const std::string& id, const std::string& f,
                const std::string& state, const std::string& as_of) {
    return absl::StrCat(id, ", 'name', ", f, ", ", state, ", 1, 2, X'', ",
                        as_of);
  };
  EXPECT_EQ(SegmentRow(row("1", filter, "1", "0")), "");
  EXPECT_THAT(SegmentRow(row("0", filter, "1", "0")), HasSubstr("id"));
  EXPECT_THAT(SegmentRow(row("-5", filter, "1", "0")), HasSubstr("id"));
  EXPECT_THAT(SegmentRow(row("1", filter, "3", "0")), HasSubstr("state 3"));
  EXPECT_THAT(SegmentRow(row("1", filter, "0", "0")), HasSubstr("state 0"));
  EXPECT_THAT(SegmentRow(row("1", filter, "4294967297", "0")),
              HasSubstr("state is out of range"));
  EXPECT_THAT(SegmentRow(row("1", filter, "1", "-1")),
              HasSubstr("frozen_as_of"));
  EXPECT_THAT(SegmentRow(row("1", "X'00ff'", "1", "0")), Not(IsEmpty()));
  EXPECT_THAT(SegmentRow(row("1", "X''", "1", "0")), Not(IsEmpty()));
}

TEST_F(WorkspaceRowsTest, ChangeRunsRoundTrip) {
  ChangeRun run;
  run.first_sequence = 100;
  run.segment_id = 3;
  run.kind = ChangeKind::kLeft;
  run.cause = ChangeCause::kPlanChanged;
  run.time = -7;
  run.contact_ids = {9, 4, std::numeric_limits<ContactId>::max(), 1};
  std::unique_ptr<SqliteStatement> insert = Prepare(kInsertChangeRunSql);
  std::string blob;
  BindChangeRun(run, &blob, insert.get());
  ASSERT_OK(insert->Run());
  std::unique_ptr<SqliteStatement> select = Prepare(kSelectChangeRunsSql);
  select->BindInt(1, 0);
  select->BindInt(2, 10);
  SqliteStatement::Scope scope(*select);
  ASSERT_OK_AND_ASSIGN(bool row, select->Step());
  ASSERT_TRUE(row);
  std::vector<MembershipChange> got;
  EXPECT_EQ(DecodeChangeRun(*select, &got), "");
  std::vector<MembershipChange> want;
  for (size_t i = 0; i < run.contact_ids.size(); ++i) {
    want.push_back({run.first_sequence + i, run.segment_id, run.contact_ids[i],
                    run.kind, run.cause, run.time});
  }
  EXPECT_EQ(got, want);
  ASSERT_OK_AND_ASSIGN(row, select->Step());
  EXPECT_FALSE(row);
}

TEST_F(WorkspaceRowsTest, RefusesMalformedChangeRunRows) {
  // Columns: first_sequence, segment_id, first_contact_id, kind, cause,
  // time, last_sequence, more_contact_ids.
  EXPECT_EQ(ChangeRunRow("5, 1, 1, 1, 1, 0, 6, X'02'"), "");
  EXPECT_THAT(ChangeRunRow("0, 1, 1, 1, 1, 0, 0, X''"),
              HasSubstr("first_sequence"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, 1, 0, 4, X''"),
              HasSubstr("before first_sequence"));
  EXPECT_THAT(ChangeRunRow("5, 0, 1, 1, 1, 0, 5, X''"),
              HasSubstr("segment_id"));
  // Contact id 0 is a segment deletion's only (kind 3, one event).
  EXPECT_THAT(ChangeRunRow("5, 1, 0, 1, 1, 0, 5, X''"),
              HasSubstr("contact_id is 0"));
  EXPECT_THAT(ChangeRunRow("5, 1, -1, 3, 4, 0, 5, X''"),
              HasSubstr("first_contact_id"));
  EXPECT_EQ(ChangeRunRow("5, 1, 0, 3, 4, 0, 5, X''"), "");
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 3, 4, 0, 5, X''"),
              HasSubstr("a segment deletion has a contact_id"));
  EXPECT_THAT(ChangeRunRow("5, 1, 0, 3, 4, 0, 6, X'02'"),
              HasSubstr("a segment deletion is one event"));
  EXPECT_THAT(ChangeRunRow("5, 1, 4294967296, 1, 1, 0, 5, X''"),
              HasSubstr("first_contact_id"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 4294967297, 1, 0, 5, X''"),
              HasSubstr("kind or cause"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, -4294967297, 0, 5, X''"),
              HasSubstr("kind or cause"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 4, 1, 0, 5, X''"), HasSubstr("kind 4"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, 6, 0, 5, X''"), HasSubstr("cause 6"));
  // The blob against the sequences.
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, 1, 0, 7, X'02'"),
              HasSubstr("fewer ids"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, 1, 0, 5, X'02'"),
              HasSubstr("more ids"));
  EXPECT_THAT(ChangeRunRow("5, 1, 1, 1, 1, 0, 6, X'01'"),
              HasSubstr("out of range"));
  // A run claiming 2^62 events with no blob fails fast.
  EXPECT_THAT(ChangeRunRow("1, 1, 1, 1, 1, 0, 4611686018427387904, X''"),
              HasSubstr("fewer ids"));
}

TEST_F(WorkspaceRowsTest, MetaRowsSetTheCounters) {
  WorkspaceCounters counters;
  bool known = false;
  for (const char* row :
       {"'next_contact_id', 4294967295", "'next_segment_id', 12",
        "'last_sequence', 0", "'last_sequence', 99"}) {
    EXPECT_EQ(DecodeFirstRow(std::string("SELECT ") + row,
                             [&](const SqliteStatement& s) {
                               return DecodeMeta(s, &counters, &known);
                             }),
              "")
        << row;
    EXPECT_TRUE(known) << row;
  }
  EXPECT_EQ(counters.next_contact_id, std::numeric_limits<ContactId>::max());
  EXPECT_EQ(counters.next_segment_id, 12u);
  EXPECT_EQ(counters.last_sequence, 99u);
  // Keys of later schema versions are left alone.
  EXPECT_EQ(MetaRow("'from_the_future', -1", &known), "");
  EXPECT_FALSE(known);
}

TEST_F(WorkspaceRowsTest, RefusesMalformedMetaRows) {
  bool known = false;
  EXPECT_THAT(MetaRow("'next_contact_id', 0", &known),
              HasSubstr("next_contact_id 0 is out of range"));
  EXPECT_THAT(MetaRow("'next_contact_id', 4294967296", &known),
              HasSubstr("next_contact_id 4294967296 is out of range"));
  EXPECT_THAT(MetaRow("'next_segment_id', 0", &known),
              HasSubstr("next_segment_id 0 is out of range"));
  EXPECT_THAT(MetaRow("'last_sequence', -1", &known),
              HasSubstr("last_sequence -1 is out of range"));
  EXPECT_THAT(MetaRow("'next_snapshot_id', 0", &known),
              HasSubstr("next_snapshot_id 0 is out of range"));
}

// The stored schema is what the statements expect: every statement
// compiles against the migrated database, and a fresh database starts with
// the counters' initial values.
TEST_F(WorkspaceRowsTest, MigratedSchemaMatchesTheStatements) {
  for (const char* sql :
       {kSelectContactsSql, kUpsertContactSql, kDeleteContactSql,
        kSelectSegmentsSql, kUpsertSegmentSql, kDeleteSegmentSql,
        kSelectSnapshotsSql, kUpsertSnapshotSql, kDeleteSnapshotSql,
        kSelectChangeRunsSql, kInsertChangeRunSql, kSelectMetaSql,
        kPutMetaSql}) {
    EXPECT_OK(db_->Prepare(sql)) << sql;
  }
  std::unique_ptr<SqliteStatement> meta = Prepare(kSelectMetaSql);
  SqliteStatement::Scope scope(*meta);
  WorkspaceCounters counters;
  counters.next_contact_id = 5;
  counters.next_segment_id = 5;
  counters.last_sequence = 5;
  counters.time_applied_until = 5;
  counters.next_snapshot_id = 5;
  int rows = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool row, meta->Step());
    if (!row) break;
    bool known = false;
    EXPECT_EQ(DecodeMeta(*meta, &counters, &known), "");
    EXPECT_TRUE(known);
    ++rows;
  }
  EXPECT_EQ(rows, 5);
  EXPECT_EQ(counters, WorkspaceCounters());
}

}  // namespace
}  // namespace segments
