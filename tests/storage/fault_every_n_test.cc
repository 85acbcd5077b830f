// Fault injection at every N (issue 11): each Workspace operation over the
// SQLite store is run again and again, the fault VFS (tests/testing/
// fault_vfs.h) failing the N-th read, write, sync or truncate of the
// workspace's files with an I/O error or a full disk, for N = 1, 2, ...
// until the operation completes without reaching the fault. Each attempt
// starts from the same copy of the database. When the operation fails:
//   - its status is UNAVAILABLE (what storage maps I/O errors and SQLITE_FULL
//     to), and nothing crashed;
//   - memory is unchanged: every contact, every segment (view, count,
//     as_of_sequence, members) and the plan, compared with a snapshot taken
//     before;
//   - PRAGMA integrity_check on a fresh connection says "ok";
//   - a crash image (the database and WAL files copied as they are, without
//     the -shm index, as kill -9 at this moment would leave them) loads to
//     exactly that unchanged state;
//   - after every fourth failure the workspace is also closed and reopened
//     from disk, and compared with memory;
//   - with the fault cleared, the retry succeeds, and both its result and the
//     workspace afterwards equal a fault-free run of the operation.
// An attempt in which the fault fired but the operation still succeeded
// (SQLite retried or did not need the call) must equal the fault-free run.
//
// Parameters: SEGMENTS_FAULT_MAX_N (default 4000) bounds N per operation and
// fault; a run that reaches it fails.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_workspace_store.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/drafts.h"
#include "tests/testing/fault_vfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments::testing {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kNow = 1'700'000'000;
constexpr int kBaseContacts = 200;
// GetContact probes ids 1..kProbeIds: past every id the operations assign.
constexpr ContactId kProbeIds = kBaseContacts + 200;

int MaxN() {
  const char* env = std::getenv("SEGMENTS_FAULT_MAX_N");
  return env != nullptr ? std::atoi(env) : 4000;
}

// ------------------------------------------------------------ snapshots

// Everything a client can read from the workspace.
struct Snapshot {
  Plan plan = Plan::kUnspecified;
  std::vector<Contact> contacts;  // ascending id
  struct Seg {
    SegmentView view;
    absl::StatusCode list_code = absl::StatusCode::kOk;
    std::vector<ContactId> members;
  };
  std::vector<Seg> segments;  // ascending id
};

Snapshot Snap(const Workspace& ws) {
  Snapshot s;
  s.plan = ws.plan();
  for (ContactId id = 1; id <= kProbeIds; ++id) {
    absl::StatusOr<Contact> c = ws.GetContact(id);
    if (c.ok()) {
      s.contacts.push_back(*std::move(c));
    } else {
      EXPECT_THAT(c.status(), StatusIs(absl::StatusCode::kNotFound));
    }
  }
  Page<SegmentView> page = ws.ListSegments(0, 1000);
  EXPECT_FALSE(page.more);
  for (SegmentView& view : page.items) {
    Snapshot::Seg seg;
    seg.view = std::move(view);
    ContactId after = 0;
    while (true) {
      absl::StatusOr<Page<Contact>> members =
          ws.ListMembers(seg.view.record.id, after, 1000, ContactView::kId);
      if (!members.ok()) {
        seg.list_code = members.status().code();
        break;
      }
      for (const Contact& c : members->items) seg.members.push_back(c.id);
      if (!members->more || members->items.empty()) break;
      after = members->items.back().id;
    }
    s.segments.push_back(std::move(seg));
  }
  return s;
}

// "" when equal, else what differs first.
std::string Diff(const Snapshot& want, const Snapshot& got) {
  if (want.plan != got.plan) {
    return absl::StrCat("plan ", static_cast<int>(want.plan), " vs ",
                        static_cast<int>(got.plan));
  }
  if (want.contacts.size() != got.contacts.size()) {
    return absl::StrCat(want.contacts.size(), " contacts vs ",
                        got.contacts.size());
  }
  for (size_t i = 0; i < want.contacts.size(); ++i) {
    if (!(want.contacts[i] == got.contacts[i])) {
      return absl::StrCat("contact\n  want ", DescribeContact(want.contacts[i]),
                          "\n  got  ", DescribeContact(got.contacts[i]));
    }
  }
  if (want.segments.size() != got.segments.size()) {
    return absl::StrCat(want.segments.size(), " segments vs ",
                        got.segments.size());
  }
  for (size_t i = 0; i < want.segments.size(); ++i) {
    const Snapshot::Seg& a = want.segments[i];
    const Snapshot::Seg& b = got.segments[i];
    const std::string which = absl::StrCat("segment ", a.view.record.id, " ");
    if (!(a.view.record == b.view.record)) return which + "record";
    if (a.view.kind != b.view.kind) return which + "kind";
    if (a.view.member_count != b.view.member_count) {
      return absl::StrCat(which, "member_count ", a.view.member_count, " vs ",
                          b.view.member_count);
    }
    if (a.view.as_of_sequence != b.view.as_of_sequence) {
      return absl::StrCat(which, "as_of_sequence ", a.view.as_of_sequence,
                          " vs ", b.view.as_of_sequence);
    }
    if (a.list_code != b.list_code) return which + "listing status";
    if (a.members != b.members) {
      return absl::StrCat(which, "members (", a.members.size(), " vs ",
                          b.members.size(), ")");
    }
  }
  return "";
}

// ------------------------------------------------------------ the data

ContactDraft BaseDraft(int i) {
  static const char* const kCountries[] = {"DE", "FR", "US", "BR"};
  ContactDraft d;
  d.email = absl::StrCat("c", i, "@x.example");
  d.country = kCountries[i % 4];
  d.company = i % 3 == 0 ? "" : absl::StrCat("co", i % 7);
  if (i % 2 == 0) d.tags.push_back("a");
  if (i % 5 == 0) d.tags.push_back("vip");
  d.lifecycle_stage = i % 5 + 1;
  d.lead_score = i % 100;
  d.engagement_score = (i * 7) % 101;
  d.conversion_likelihood = i % 5;
  d.created_at = kNow - static_cast<UnixSeconds>(i) * 3600;
  if (i % 3 != 0) d.last_engaged_at = kNow - static_cast<UnixSeconds>(i) * 60;
  return d;
}

// Standard and smart segments over strings, tags, ordered enums, numbers
// and fixed timestamps (no relative date rules: their semantics are
// changing, and they do not matter to storage faults).
std::vector<SegmentDraft> BaseSegments() {
  using O = Operator;
  return {
      SegmentOf("germany", {Cond("country", O::kEquals, {std::string("DE")})}),
      SegmentOf("vip mql+", {Cond("tags", O::kHasAny, {std::string("vip")}),
                             Cond("lifecycle_stage", O::kGreaterOrEqual,
                                  {std::string("MQL")})}),
      SegmentOf("mid score",
                {Cond("lead_score", O::kBetween, {int64_t{20}, int64_t{60}})}),
      SegmentOf("engaged or likely",
                {Cond("engagement_score", O::kGreaterThan, {int64_t{80}}),
                 Cond("conversion_likelihood", O::kGreaterOrEqual,
                      {std::string("LIKELY")})},
                Match::kAny),
      SegmentOf("old", {Cond("created_at", O::kBefore,
                             {TimestampValue{kNow - 100 * 3600}})}),
      SegmentOf(
          "sevens or south",
          {Cond("email", O::kEndsWith, {std::string("7@x.example")}),
           Cond("country", O::kIn, {std::string("FR"), std::string("BR")})},
          Match::kAny),
  };
}

// One operation under test. `run` describes its result in `*result`, so a
// retry can be compared with the fault-free run.
struct Op {
  std::string name;
  Plan plan = Plan::kPro;  // the plan the workspace is opened with
  // Run once, fault-free, on the operation's starting copy (may be null).
  std::function<absl::Status(Workspace&)> prepare;
  std::function<absl::Status(Workspace&, std::string*)> run;
};

std::string Describe(const absl::StatusOr<Contact>& c) {
  return c.ok() ? DescribeContact(*c) : c.status().ToString();
}
std::string Describe(const absl::StatusOr<SegmentView>& v) {
  if (!v.ok()) return v.status().ToString();
  return absl::StrCat(v->record.id, " ", v->record.display_name,
                      " n=", v->member_count, " as_of=", v->as_of_sequence,
                      " state=", static_cast<int>(v->record.state));
}

std::vector<Op> Ops() {
  std::vector<Op> ops;
  ops.push_back({"CreateContact", Plan::kPro, nullptr,
                 [](Workspace& ws, std::string* out) {
                   ContactDraft d = BaseDraft(7);
                   d.email = "new@x.example";
                   absl::StatusOr<Contact> c = ws.CreateContact(d);
                   *out = Describe(c);
                   return c.status();
                 }});
  ops.push_back({"UpdateContact", Plan::kPro, nullptr,
                 [](Workspace& ws, std::string* out) {
                   ContactDraft d = BaseDraft(10);
                   d.country = "FR";
                   d.lead_score = 42;
                   d.tags = {"vip", "z"};
                   absl::StatusOr<Contact> c = ws.UpdateContact(
                       11, d, {"country", "lead_score", "tags"});
                   *out = Describe(c);
                   return c.status();
                 }});
  ops.push_back({"DeleteContact", Plan::kPro, nullptr,
                 [](Workspace& ws, std::string* out) {
                   absl::Status s = ws.DeleteContact(25);
                   *out = s.ToString();
                   return s;
                 }});
  ops.push_back({"BatchUpsert300", Plan::kPro, nullptr,
                 [](Workspace& ws, std::string* out) {
                   // 150 existing contacts (in another case) and 150 new.
                   std::vector<ContactDraft> drafts;
                   for (int i = 0; i < 300; ++i) {
                     ContactDraft d = BaseDraft(i < 150 ? i : 1000 + i);
                     if (i < 150) d.email = absl::StrCat("C", i, "@X.example");
                     d.lead_score = (i * 13) % 100;
                     d.country = i % 2 == 0 ? "DE" : "BR";
                     drafts.push_back(std::move(d));
                   }
                   absl::StatusOr<BatchUpsertResult> r = ws.BatchUpsertContacts(
                       std::move(drafts), {}, ContactView::kIdAndEmail);
                   if (!r.ok()) {
                     *out = r.status().ToString();
                     return r.status();
                   }
                   *out = absl::StrCat(r->created, "/", r->updated);
                   for (const Contact& c : r->contacts) {
                     absl::StrAppend(out, " ", c.id, ":", c.email);
                   }
                   return absl::OkStatus();
                 }});
  ops.push_back(
      {"CreateSegment", Plan::kPro, nullptr,
       [](Workspace& ws, std::string* out) {
         absl::StatusOr<SegmentView> v = ws.CreateSegment(SegmentOf(
             "new smart",
             {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{50}}),
              Cond("tags", Operator::kHasAny, {std::string("a")})}));
         *out = Describe(v);
         return v.status();
       }});
  ops.push_back(
      {"UpdateSegment", Plan::kPro, nullptr,
       [](Workspace& ws, std::string* out) {
         absl::StatusOr<SegmentView> v = ws.UpdateSegment(
             2,
             SegmentOf("vip renamed", {Cond("tags", Operator::kHasNone,
                                            {std::string("vip")})}),
             {});
         *out = Describe(v);
         return v.status();
       }});
  ops.push_back({"DeleteSegment", Plan::kPro, nullptr,
                 [](Workspace& ws, std::string* out) {
                   absl::Status s = ws.DeleteSegment(3);
                   *out = s.ToString();
                   return s;
                 }});
  // A downgrade freezes the smart segments; an upgrade rebuilds them.
  ops.push_back(
      {"SetPlanDown", Plan::kPro, nullptr, [](Workspace& ws, std::string* out) {
         absl::Status s = ws.SetPlan(Plan::kStarter);
         *out = s.ToString();
         return s;
       }});
  ops.push_back({"SetPlanUp", Plan::kStarter,
                 [](Workspace& ws) {
                   // While frozen, members change under the smart segments.
                   ContactDraft d = BaseDraft(30);
                   d.lead_score = 99;
                   d.engagement_score = 100;
                   return ws.UpdateContact(31, d, {}).status();
                 },
                 [](Workspace& ws, std::string* out) {
                   absl::Status s = ws.SetPlan(Plan::kPro);
                   *out = s.ToString();
                   return s;
                 }});
  return ops;
}

struct Fault {
  FaultVfs::Op op;
  int rc;
  const char* name;
};

const std::vector<Fault>& Faults() {
  static const std::vector<Fault>* const faults = new std::vector<Fault>{
      {FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE, "write IOERR_WRITE"},
      {FaultVfs::Op::kWrite, SQLITE_FULL, "write FULL"},
      {FaultVfs::Op::kSync, SQLITE_IOERR_FSYNC, "sync IOERR_FSYNC"},
      {FaultVfs::Op::kRead, SQLITE_IOERR_READ, "read IOERR_READ"},
      {FaultVfs::Op::kRead, SQLITE_IOERR_SHORT_READ, "read IOERR_SHORT_READ"},
      {FaultVfs::Op::kTruncate, SQLITE_IOERR_TRUNCATE,
       "truncate IOERR_TRUNCATE"},
  };
  return *faults;
}

// ------------------------------------------------------------ the fixture

class FaultFixture : public ::testing::Test {
 protected:
  FaultFixture() : faults_(FaultVfs::Install(/*make_default=*/true)) {}
  void TearDown() override { faults_.Clear(); }

  std::string Path(const std::string& name) const {
    return dir_.path() + "/" + name + ".db";
  }

  absl::StatusOr<std::unique_ptr<Workspace>> OpenAt(const std::string& path,
                                                    Plan plan) {
    absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> store =
        SqliteWorkspaceStore::OpenExisting(path, SqliteOptions(), 1);
    if (!store.ok()) return store.status();
    return Workspace::Open(1, plan, *std::move(store), &clock_, Limits());
  }

  // Copies the database `from` (with its WAL, if any; never the -shm index)
  // to `to`, replacing what is there.
  static void CopyDb(const std::string& from, const std::string& to) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      fs::remove(to + suffix);
    }
    fs::copy_file(from, to);
    if (fs::exists(from + "-wal")) fs::copy_file(from + "-wal", to + "-wal");
  }

  // The base workspace: kBaseContacts contacts and BaseSegments(), closed.
  void MakeBase(const std::string& path) {
    {
      absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> store =
          SqliteWorkspaceStore::Create(path, SqliteOptions(), 1);
      ASSERT_THAT(store, IsOk());
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> ws,
                         OpenAt(path, Plan::kPro));
    std::vector<ContactDraft> drafts;
    for (int i = 0; i < kBaseContacts; ++i) drafts.push_back(BaseDraft(i));
    ASSERT_THAT(ws->BatchUpsertContacts(std::move(drafts), {}), IsOk());
    for (const SegmentDraft& d : BaseSegments()) {
      ASSERT_THAT(ws->CreateSegment(d), IsOk()) << d.display_name;
    }
    // A few single writes, so that the change log has more than one run.
    ContactDraft d = BaseDraft(3);
    d.country = "DE";
    ASSERT_THAT(ws->UpdateContact(4, d, {"country"}), IsOk());
    ASSERT_THAT(ws->DeleteContact(kBaseContacts), IsOk());
  }

  std::string IntegrityCheck(const std::string& path) {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(path, /*create=*/false, 1000);
    if (!db.ok()) return db.status().ToString();
    absl::StatusOr<std::string> result =
        (*db)->QueryText("PRAGMA integrity_check");
    return result.ok() ? *result : result.status().ToString();
  }

  // What a crash at this moment leaves: the files as they are, no -shm.
  ::testing::AssertionResult CrashImageEquals(const std::string& path,
                                              Plan plan, const Snapshot& want) {
    const std::string image = Path("crash_image");
    CopyDb(path, image);
    absl::StatusOr<std::unique_ptr<Workspace>> ws = OpenAt(image, plan);
    if (!ws.ok()) {
      return ::testing::AssertionFailure()
             << "crash image does not open: " << ws.status();
    }
    std::string diff = Diff(want, Snap(**ws));
    if (!diff.empty()) {
      return ::testing::AssertionFailure() << "crash image differs: " << diff;
    }
    return ::testing::AssertionSuccess();
  }

  FaultVfs& faults_;
  TempDir dir_{"fault_every_n"};
  FakeClock clock_{kNow};
};

class FaultEveryN : public FaultFixture,
                    public ::testing::WithParamInterface<std::string> {};
using FaultEveryNOpen = FaultFixture;

struct Tally {
  int attempts = 0, failed = 0, absorbed = 0;
};

TEST_P(FaultEveryN, EachFailureIsCleanAndTheRetrySucceeds) {
  const absl::Time start = absl::Now();
  Op op;
  for (Op& o : Ops()) {
    if (o.name == GetParam()) op = o;
  }
  ASSERT_FALSE(op.name.empty());
  const std::string base = Path("base");
  const std::string origin = Path("origin");  // this operation's start
  const std::string attempt = Path("attempt");
  MakeBase(base);
  ASSERT_FALSE(HasFatalFailure());
  CopyDb(base, origin);
  if (op.prepare) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> ws,
                         OpenAt(origin, op.plan));
    ASSERT_THAT(op.prepare(*ws), IsOk());
  }

  // The fault-free run.
  Snapshot want_before, want_after;
  std::string want_result;
  {
    CopyDb(origin, attempt);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> ws,
                         OpenAt(attempt, op.plan));
    want_before = Snap(*ws);
    ASSERT_THAT(op.run(*ws, &want_result), IsOk());
    want_after = Snap(*ws);
    ASSERT_NE(Diff(want_before, want_after), "") << "the operation did nothing";
  }
  const Plan plan_after = want_after.plan;

  const int max_n = MaxN();
  for (const Fault& fault : Faults()) {
    SCOPED_TRACE(fault.name);
    Tally tally;
    int n = 1;
    for (;; ++n) {
      ASSERT_LE(n, max_n) << "the operation never completed";
      SCOPED_TRACE(absl::StrCat("N=", n));
      ++tally.attempts;
      CopyDb(origin, attempt);
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> ws,
                           OpenAt(attempt, op.plan));
      const int injected = faults_.injected();
      faults_.Fail(fault.op, fault.rc, "/attempt.db", /*count=*/1,
                   /*skip=*/n - 1);
      std::string result;
      const absl::Status status = op.run(*ws, &result);
      faults_.Clear();
      const bool fired = faults_.injected() > injected;
      if (status.ok()) {
        ASSERT_EQ(result, want_result);
        ASSERT_EQ(Diff(want_after, Snap(*ws)), "");
        if (!fired) break;  // N is past the operation's last such call
        ++tally.absorbed;
        ASSERT_TRUE(CrashImageEquals(attempt, plan_after, want_after));
        continue;
      }
      ++tally.failed;
      ASSERT_TRUE(fired) << "failed without a fault: " << status;
      ASSERT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
      ASSERT_EQ(Diff(want_before, Snap(*ws)), "") << status;
      ASSERT_EQ(IntegrityCheck(attempt), "ok");
      ASSERT_TRUE(CrashImageEquals(attempt, op.plan, want_before)) << status;
      if (tally.failed % 4 == 0) {
        ws.reset();
        ASSERT_OK_AND_ASSIGN(ws, OpenAt(attempt, op.plan));
        ASSERT_EQ(Diff(want_before, Snap(*ws)), "") << "after reopening";
      }
      // The fault has cleared: the retry succeeds as a fault-free run does.
      ASSERT_THAT(op.run(*ws, &result), IsOk());
      ASSERT_EQ(result, want_result);
      ASSERT_EQ(Diff(want_after, Snap(*ws)), "");
      if (tally.failed % 4 == 0) {
        ws.reset();
        ASSERT_OK_AND_ASSIGN(ws, OpenAt(attempt, plan_after));
        ASSERT_EQ(Diff(want_after, Snap(*ws)), "") << "reopened after retry";
      }
    }
    std::printf("%s, %s: %d attempts, %d failed cleanly, %d absorbed\n",
                op.name.c_str(), fault.name, tally.attempts, tally.failed,
                tally.absorbed);
  }
  std::printf("%s: %.1f s\n", op.name.c_str(),
              absl::ToDoubleSeconds(absl::Now() - start));
}

// Opening the workspace (the store, its schema check, and the load that
// rebuilds every segment), from a crash image whose WAL holds the last
// writes, so that the open also recovers the WAL.
TEST_F(FaultEveryNOpen, FailsCleanlyAndTheRetrySucceeds) {
  const absl::Time start = absl::Now();
  const std::string base = Path("base");
  const std::string origin = Path("origin");
  const std::string attempt = Path("attempt");
  MakeBase(base);
  ASSERT_FALSE(HasFatalFailure());
  Snapshot want;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> ws,
                         OpenAt(base, Plan::kPro));
    for (const Op& op : Ops()) {
      if (op.plan != Plan::kPro || op.name == "SetPlanDown") continue;
      std::string ignored;
      ASSERT_THAT(op.run(*ws, &ignored), IsOk()) << op.name;
    }
    want = Snap(*ws);
    CopyDb(base, origin);  // while open: the WAL is not checkpointed
  }
  ASSERT_TRUE(fs::exists(origin + "-wal"));
  const int max_n = MaxN();
  for (const Fault& fault : Faults()) {
    SCOPED_TRACE(fault.name);
    Tally tally;
    for (int n = 1;; ++n) {
      ASSERT_LE(n, max_n) << "the open never completed";
      SCOPED_TRACE(absl::StrCat("N=", n));
      ++tally.attempts;
      CopyDb(origin, attempt);
      const int injected = faults_.injected();
      faults_.Fail(fault.op, fault.rc, "/attempt.db", /*count=*/1,
                   /*skip=*/n - 1);
      absl::StatusOr<std::unique_ptr<Workspace>> ws =
          OpenAt(attempt, Plan::kPro);
      faults_.Clear();
      const bool fired = faults_.injected() > injected;
      if (ws.ok()) {
        ASSERT_EQ(Diff(want, Snap(**ws)), "");
        if (!fired) break;
        ++tally.absorbed;
        continue;
      }
      ++tally.failed;
      ASSERT_TRUE(fired) << "failed without a fault: " << ws.status();
      ASSERT_THAT(ws.status(), StatusIs(absl::StatusCode::kUnavailable));
      ASSERT_EQ(IntegrityCheck(attempt), "ok");
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Workspace> retry,
                           OpenAt(attempt, Plan::kPro));
      ASSERT_EQ(Diff(want, Snap(*retry)), "");
    }
    std::printf("Open, %s: %d attempts, %d failed cleanly, %d absorbed\n",
                fault.name, tally.attempts, tally.failed, tally.absorbed);
  }
  std::printf("Open: %.1f s\n", absl::ToDoubleSeconds(absl::Now() - start));
}

std::vector<std::string> OpNames() {
  std::vector<std::string> names;
  for (const Op& op : Ops()) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(
    Ops, FaultEveryN, ::testing::ValuesIn(OpNames()),
    [](const ::testing::TestParamInfo<std::string>& param) {
      return param.param;
    });

}  // namespace
}  // namespace segments::testing
