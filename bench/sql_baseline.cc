#include "bench/sql_baseline.h"

#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/sqlite_dataset.h"
#include "core/base/status_macros.h"

namespace segments::bench {
namespace {

constexpr int kPlainVersion = 1;

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

// A SQL string literal of an already-lowercased value.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string QuotedList(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const std::string& v : values) quoted.push_back(Quote(Lower(v)));
  return absl::StrJoin(quoted, ", ");
}

std::vector<RawValue> Raw(const std::vector<std::string>& values) {
  return std::vector<RawValue>(values.begin(), values.end());
}

// Contacts having any of `tags`: SQLite scans the side table once (its
// primary key starts with contact_id, so there is no index on tag) and probes
// the resulting set per contact. Of the forms tried (EXISTS per contact, IN,
// INTERSECT, GROUP BY) these are SQLite's fastest.
std::string HasAnySql(const std::vector<std::string>& tags) {
  return absl::StrCat(
      "id IN (SELECT contact_id FROM contact_tags WHERE tag IN (",
      QuotedList(tags), "))");
}

std::string Count(const std::string& where) {
  return absl::StrCat("SELECT COUNT(*) FROM contacts WHERE ", where);
}

absl::Status Check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) {
    return absl::OkStatus();
  }
  return absl::InternalError(
      absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

absl::Status Exec(sqlite3* db, const std::string& sql) {
  return Check(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
               sql.c_str());
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
}

void BindEnum(sqlite3_stmt* s, int i, int v) {
  if (v == 0) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_int(s, i, v);
  }
}

absl::Status BuildPlain(const std::string& path, size_t contacts) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open(path.c_str(), &raw);
  SqliteHandle db(raw);
  RETURN_IF_ERROR(Check(raw, rc, "open"));
  RETURN_IF_ERROR(Exec(raw, R"sql(
    PRAGMA journal_mode = OFF;
    PRAGMA synchronous = OFF;
    CREATE TABLE contacts (
      id INTEGER PRIMARY KEY, email TEXT NOT NULL, company TEXT,
      job_title TEXT, country TEXT, city TEXT, source TEXT,
      lifecycle_stage INTEGER NOT NULL, lead_score INTEGER NOT NULL,
      engagement_score INTEGER NOT NULL, engagement_trend INTEGER,
      conversion_likelihood INTEGER, created_at INTEGER NOT NULL,
      last_engaged_at INTEGER);
    CREATE TABLE contact_tags (
      contact_id INTEGER NOT NULL, tag TEXT NOT NULL,
      PRIMARY KEY (contact_id, tag)) WITHOUT ROWID;
    BEGIN;
  )sql"));
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* insert_tag = nullptr;
  RETURN_IF_ERROR(Check(
      raw,
      sqlite3_prepare_v2(raw,
                         "INSERT INTO contacts VALUES (?1, ?2, ?3, ?4, ?5, "
                         "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                         -1, &insert, nullptr),
      "prepare"));
  RETURN_IF_ERROR(
      Check(raw,
            sqlite3_prepare_v2(raw, "INSERT INTO contact_tags VALUES (?1, ?2)",
                               -1, &insert_tag, nullptr),
            "prepare"));
  const ContactGenerator gen;
  absl::Status status;
  for (size_t i = 0; i < contacts && status.ok(); ++i) {
    // The service's own normalization, so both sides hold the same values.
    absl::StatusOr<Contact> c =
        NormalizeNewContact(gen.Make(i), "contact", kBenchNow);
    if (!c.ok()) {
      status = c.status();
      break;
    }
    const int64_t id = static_cast<int64_t>(i) + 1;
    sqlite3_bind_int64(insert, 1, id);
    BindText(insert, 2, c->email);
    BindText(insert, 3, Lower(c->company));
    BindText(insert, 4, Lower(c->job_title));
    BindText(insert, 5, Lower(c->country));
    BindText(insert, 6, Lower(c->city));
    BindText(insert, 7, Lower(c->source));
    sqlite3_bind_int(insert, 8, static_cast<int>(c->lifecycle_stage));
    sqlite3_bind_int(insert, 9, c->lead_score);
    sqlite3_bind_int(insert, 10, c->engagement_score);
    BindEnum(insert, 11, static_cast<int>(c->engagement_trend));
    BindEnum(insert, 12, static_cast<int>(c->conversion_likelihood));
    sqlite3_bind_int64(insert, 13, c->created_at);
    if (c->last_engaged_at.has_value()) {
      sqlite3_bind_int64(insert, 14, *c->last_engaged_at);
    } else {
      sqlite3_bind_null(insert, 14);
    }
    status.Update(Check(raw, sqlite3_step(insert), "insert contact"));
    sqlite3_reset(insert);
    for (const std::string& tag : c->tags) {
      sqlite3_bind_int64(insert_tag, 1, id);
      BindText(insert_tag, 2, tag);
      status.Update(Check(raw, sqlite3_step(insert_tag), "insert tag"));
      sqlite3_reset(insert_tag);
    }
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(insert_tag);
  RETURN_IF_ERROR(status);
  return Exec(raw, "COMMIT; ANALYZE;");
}

}  // namespace

const std::vector<BuildCase>& BuildCases() {
  static const auto* const kCases = [] {
    auto* cases = new std::vector<BuildCase>();
    const int64_t day = kSecondsPerDay;
    // Popular values, as segments are mostly built on them.
    const std::string germany = Countries()[3];
    const std::vector<std::string> five_countries = {
        Countries()[5], Countries()[8], Countries()[9], Countries()[11],
        Countries()[13]};
    const std::vector<std::string> any3 = {TagByRank(0), TagByRank(5),
                                           TagByRank(20)};
    const std::vector<std::string> all2 = {TagByRank(0), TagByRank(1)};
    const std::vector<std::string> west = {Countries()[0], Countries()[2],
                                           Countries()[6]};
    const std::vector<std::string> all3_tags = {TagByRank(2), TagByRank(7)};
    const std::vector<std::string> any_tag = {TagByRank(3)};

    cases->push_back(
        {"string_equals",
         AllOf({Cond("country", Operator::kEquals, {germany})}),
         Count(absl::StrCat("country = ", Quote(Lower(germany))))});
    cases->push_back(
        {"string_in",
         AllOf({Cond("country", Operator::kIn, Raw(five_countries))}),
         Count(absl::StrCat("country IN (", QuotedList(five_countries), ")"))});
    cases->push_back(
        {"string_contains",
         AllOf({Cond("company", Operator::kContains, {std::string("cor")})}),
         Count("instr(company, 'cor') > 0")});
    cases->push_back({"email_ends_with",
                      AllOf({Cond("email", Operator::kEndsWith,
                                  {std::string("@gmail.com")})}),
                      // LIKE is ASCII case-insensitive, as the service
                      // compares; the needle holds no wildcard.
                      Count("email LIKE '%@gmail.com'")});
    cases->push_back({"tags_has_any",
                      AllOf({Cond("tags", Operator::kHasAny, Raw(any3))}),
                      Count(HasAnySql(any3))});
    cases->push_back(
        {"tags_has_all", AllOf({Cond("tags", Operator::kHasAll, Raw(all2))}),
         Count(absl::StrCat("id IN (SELECT contact_id FROM contact_tags WHERE "
                            "tag IN (",
                            QuotedList(all2),
                            ") GROUP BY contact_id HAVING COUNT(*) = 2)"))});
    cases->push_back({"enum_at_least",
                      AllOf({Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                                  {std::string("MQL")})}),
                      Count("lifecycle_stage >= 3")});
    cases->push_back({"number_between",
                      AllOf({Cond("lead_score", Operator::kBetween,
                                  {int64_t{60}, int64_t{80}})}),
                      Count("lead_score BETWEEN 60 AND 80")});
    cases->push_back(
        {"within_last_days",
         AllOf({Cond("created_at", Operator::kWithinLastDays, {int64_t{90}})}),
         Count(absl::StrCat("created_at >= ", kBenchNow - 90 * day))});
    cases->push_back({"all_of_3",
                      AllOf({Cond("country", Operator::kIn, Raw(west)),
                             Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                                  {std::string("LEAD")}),
                             Cond("tags", Operator::kHasAny, Raw(all3_tags))}),
                      Count(absl::StrCat("country IN (", QuotedList(west),
                                         ") AND lifecycle_stage >= 2 AND ",
                                         HasAnySql(all3_tags)))});
    cases->push_back(
        {"any_of_3",
         AnyOf({Cond("tags", Operator::kHasAny, Raw(any_tag)),
                Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{80}}),
                Cond("last_engaged_at", Operator::kWithinLastDays,
                     {int64_t{7}})}),
         Count(absl::StrCat(HasAnySql(any_tag),
                            " OR lead_score >= 80 OR last_engaged_at >= ",
                            kBenchNow - 7 * day))});
    return cases;
  }();
  return *kCases;
}

absl::StatusOr<SqliteHandle> OpenPlainDatabase(size_t contacts) {
  const std::string path = absl::StrCat(BenchCacheDir(), "/plain-v",
                                        kPlainVersion, "-c", contacts, ".db");
  std::error_code ec;
  if (!std::filesystem::exists(path)) {
    Progress(absl::StrCat("building the plain SQLite baseline ", path));
    const int64_t start = NowNs();
    std::filesystem::create_directories(BenchCacheDir(), ec);
    const std::string tmp = path + ".tmp";
    std::filesystem::remove(tmp, ec);
    RETURN_IF_ERROR(BuildPlain(tmp, contacts));
    // Complete only once renamed.
    std::filesystem::rename(tmp, path, ec);
    if (ec) return absl::InternalError(ec.message());
    Progress(absl::StrCat("baseline built in ", SecondsSince(start), " s"));
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteHandle db(raw);
  RETURN_IF_ERROR(Check(raw, rc, "open"));
  // Up to 4 GiB of page cache: the whole database stays in memory.
  RETURN_IF_ERROR(Exec(raw, "PRAGMA cache_size = -4000000"));
  // Warm the cache: every page of both tables.
  RETURN_IF_ERROR(QueryCount(raw,
                             "SELECT COUNT(*) FROM contacts WHERE "
                             "length(email) + ifnull(length(company), 0) > 0")
                      .status());
  RETURN_IF_ERROR(
      QueryCount(raw, "SELECT COUNT(*) FROM contact_tags WHERE tag <> ''")
          .status());
  return db;
}

absl::StatusOr<int64_t> QueryCount(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  RETURN_IF_ERROR(Check(db,
                        sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr),
                        sql.c_str()));
  int rc = sqlite3_step(stmt);
  int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  RETURN_IF_ERROR(Check(db, rc, sql.c_str()));
  return n;
}

}  // namespace segments::bench
