// Time-driven flips of relative date rules (SPEC §4, §6 "Time"), through the
// Workspace with a FakeClock and no scheduler: flips are applied by
// ApplyDueFlips (what the scheduler calls) or by the next write. Each test
// checks what a user sees: membership, counts, as_of_sequence, and the
// change log (kind, cause TIME, time == the second the flip fell due,
// sequence). The expected logs come from a brute-force reading of the rules
// (tests/testing/brute_force.h) evaluated at every candidate second, not
// from core's flip finder.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/engine/workspace.h"
#include "core/time/time_window.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/status_matchers.h"

namespace segments {

// Readable failures: an event as "#seq seg/contact ENTERED|LEFT cause@time".
void PrintTo(const MembershipChange& c, std::ostream* os) {
  *os << "#" << c.sequence << " s" << c.segment_id << "/c" << c.contact_id
      << (c.kind == ChangeKind::kEntered ? " ENTERED" : " LEFT") << " cause"
      << static_cast<int>(c.cause) << "@" << c.time;
}

namespace {

using ::segments::testing::BruteForceMatches;
using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = kSecondsPerDay;

ConditionSpec Cond(std::string field, Operator op,
                   std::vector<RawValue> values) {
  return ConditionSpec{std::move(field), static_cast<int>(op),
                       std::move(values)};
}
ConditionSpec Within(std::string field, int64_t days) {
  return Cond(std::move(field), Operator::kWithinLastDays, {days});
}
ConditionSpec MoreThan(std::string field, int64_t days) {
  return Cond(std::move(field), Operator::kMoreThanDaysAgo, {days});
}

using ::segments::testing::SegmentOf;

ContactDraft Draft(std::string email, std::string country = "") {
  ContactDraft d;
  d.email = std::move(email);
  d.country = std::move(country);
  return d;
}
ContactDraft EngagedAt(std::string email, UnixSeconds t) {
  ContactDraft d = Draft(std::move(email));
  d.last_engaged_at = t;
  return d;
}

MembershipChange Event(uint64_t sequence, SegmentId s, ContactId c,
                       ChangeKind kind, UnixSeconds time,
                       ChangeCause cause = ChangeCause::kTime) {
  MembershipChange e;
  e.sequence = sequence;
  e.segment_id = s;
  e.contact_id = c;
  e.kind = kind;
  e.cause = cause;
  e.time = time;
  return e;
}

// A WorkspaceStore that passes everything to another and records what each
// successful commit carried: how many change events, and the applied moment.
struct CommitLog {
  struct Entry {
    size_t changes = 0;
    UnixSeconds time_applied_until = 0;
  };
  absl::Mutex mu;
  std::vector<Entry> entries ABSL_GUARDED_BY(mu);
  std::vector<Entry> Get() {
    absl::MutexLock l(&mu);
    return entries;
  }
};

class RecordingStore : public WorkspaceStore {
 public:
  RecordingStore(std::unique_ptr<WorkspaceStore> inner,
                 std::shared_ptr<CommitLog> log)
      : inner_(std::move(inner)), log_(std::move(log)) {}
  absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) override {
    return inner_->LoadStreaming(sink);
  }
  absl::Status Commit(const WorkspaceWrite& write) override {
    absl::Status s = inner_->Commit(write);
    if (s.ok()) {
      size_t n = 0;
      for (const ChangeRun& run : write.changes) n += run.contact_ids.size();
      absl::MutexLock l(&log_->mu);
      log_->entries.push_back({n, write.counters.time_applied_until});
    }
    return s;
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) override {
    return inner_->ReadChanges(after_sequence, limit);
  }

 private:
  std::unique_ptr<WorkspaceStore> inner_;
  std::shared_ptr<CommitLog> log_;
};

// One workspace over its own MemoryStorage and FakeClock, reopenable (a
// restart) over the same data.
class TimeWorkspace {
 public:
  explicit TimeWorkspace(UnixSeconds start = kNow) : clock_(start) { Reopen(); }

  void Close() { ws_.reset(); }
  void Reopen() {
    ws_.reset();
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    ASSERT_THAT(store, IsOk());
    auto ws = Workspace::Open(
        1, Plan::kGrowth,
        std::make_unique<RecordingStore>(*std::move(store), commits_), &clock_,
        limits_);
    ASSERT_THAT(ws, IsOk());
    ws_ = *std::move(ws);
  }

  Workspace& ws() { return *ws_; }
  FakeClock& clock() { return clock_; }
  MemoryStorage& storage() { return *storage_; }
  std::vector<CommitLog::Entry> commits() { return commits_->Get(); }

  SegmentId AddSegment(const SegmentDraft& d) {
    auto s = ws_->CreateSegment(d);
    EXPECT_THAT(s, IsOk());
    if (!s.ok()) return 0;
    specs_.emplace_back(s->record.id, d.filter);
    return s->record.id;
  }
  ContactId AddContact(const ContactDraft& d) {
    auto c = ws_->CreateContact(d);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->id : 0;
  }
  // Upserts `drafts` in batches of the batch limit.
  void AddContacts(std::vector<ContactDraft> drafts) {
    const size_t batch = limits_.max_batch_contacts;
    for (size_t i = 0; i < drafts.size(); i += batch) {
      std::vector<ContactDraft> part(
          drafts.begin() + i,
          drafts.begin() + std::min(drafts.size(), i + batch));
      ASSERT_THAT(
          ws_->BatchUpsertContacts(std::move(part), {}, ContactView::kId),
          IsOk());
    }
  }

  std::vector<ContactId> Members(SegmentId id) {
    std::vector<ContactId> all;
    ContactId after = 0;
    while (true) {
      auto page = ws_->ListMembers(id, after, 1000, ContactView::kId);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return all;
      for (const Contact& c : page->items) all.push_back(c.id);
      if (!page->more) return all;
      after = page->items.back().id;
    }
  }
  uint64_t Count(SegmentId id) {
    auto c = ws_->CountMembers(id);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->member_count : ~0ull;
  }
  uint64_t AsOf(SegmentId id) {
    auto c = ws_->CountMembers(id);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->as_of_sequence : ~0ull;
  }
  // The change log after `after`, as stored.
  std::vector<MembershipChange> Changes(uint64_t after = 0) {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    auto changes = (*store)->ReadChanges(after, 10'000'000);
    EXPECT_THAT(changes, IsOk());
    return changes.ok() ? *changes : std::vector<MembershipChange>{};
  }

  // Every contact of the workspace (ids 1..last created), as stored now.
  std::vector<Contact> Contacts(ContactId last) {
    std::vector<Contact> out;
    for (ContactId id = 1; id <= last; ++id) {
      auto c = ws_->GetContact(id);
      if (c.ok()) out.push_back(*c);
    }
    return out;
  }

  // The members each segment must have at `at`, by brute force.
  void ExpectExactMembership(const std::vector<Contact>& contacts,
                             UnixSeconds at) {
    for (const auto& [id, spec] : specs_) {
      std::vector<ContactId> expected;
      for (const Contact& c : contacts) {
        if (BruteForceMatches(spec, c, at)) expected.push_back(c.id);
      }
      EXPECT_EQ(Members(id), expected) << "segment " << id << " at " << at;
      EXPECT_EQ(Count(id), expected.size()) << "segment " << id;
    }
  }

  // The TIME events a brute force expects as time moves from `after` to
  // `until` (exclusive, inclusive) over `contacts`, none of which changes:
  // at each second, segments ascending, entries before exits, contacts
  // ascending; sequences from `first_sequence`.
  std::vector<MembershipChange> ExpectedFlips(
      const std::vector<Contact>& contacts, UnixSeconds after,
      UnixSeconds until, uint64_t first_sequence) const {
    std::vector<MembershipChange> events;
    for (const auto& [id, spec] : specs_) {
      for (const Contact& c : contacts) {
        std::vector<UnixSeconds> moments;
        for (const ConditionSpec& cond : spec.conditions) {
          if (cond.op != static_cast<int>(Operator::kWithinLastDays) &&
              cond.op != static_cast<int>(Operator::kMoreThanDaysAgo)) {
            continue;
          }
          const int64_t days = std::get<int64_t>(cond.values[0]);
          const std::optional<UnixSeconds> t =
              cond.field == "created_at" ? c.created_at : c.last_engaged_at;
          if (!t.has_value()) continue;
          // Candidate seconds around the boundary: the brute force decides.
          for (UnixSeconds m = *t + days * kDay - 1; m <= *t + days * kDay + 2;
               ++m) {
            if (m > after && m <= until) moments.push_back(m);
          }
        }
        std::sort(moments.begin(), moments.end());
        bool was = BruteForceMatches(spec, c, after);
        for (UnixSeconds m : moments) {
          const bool is = BruteForceMatches(spec, c, m);
          if (is == was) continue;
          events.push_back(Event(
              0, id, c.id, is ? ChangeKind::kEntered : ChangeKind::kLeft, m));
          was = is;
        }
      }
    }
    std::sort(events.begin(), events.end(),
              [](const MembershipChange& a, const MembershipChange& b) {
                return std::tuple(a.time, a.segment_id, a.kind, a.contact_id) <
                       std::tuple(b.time, b.segment_id, b.kind, b.contact_id);
              });
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].sequence = first_sequence + i;
    }
    return events;
  }

 private:
  FakeClock clock_;
  Limits limits_;
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::shared_ptr<CommitLog> commits_ = std::make_shared<CommitLog>();
  std::vector<std::pair<SegmentId, FilterSpec>> specs_;
  std::unique_ptr<Workspace> ws_;
};

// ---------------------------------------------------------------------------
// Each operator on each field, alone in an ALL or ANY group with another
// condition that is true or false, at the second before, at and after the
// flip.

struct OperatorCase {
  std::string field;  // "created_at" or "last_engaged_at"
  Operator op;        // kWithinLastDays or kMoreThanDaysAgo
  Match match;
  bool other;  // the other condition's answer
};

std::string Name(const OperatorCase& c) {
  return absl::StrCat(c.field,
                      c.op == Operator::kWithinLastDays ? " WITHIN_LAST_DAYS"
                                                        : " MORE_THAN_DAYS_AGO",
                      c.match == Match::kAll ? " ALL" : " ANY",
                      c.other ? " other=true" : " other=false");
}

void PrintTo(const OperatorCase& c, std::ostream* os) { *os << Name(c); }

class OperatorTest : public ::testing::TestWithParam<OperatorCase> {};

TEST_P(OperatorTest, FlipsAtTheExactSecondAndIsLoggedAsTime) {
  const OperatorCase& p = GetParam();
  TimeWorkspace w;
  constexpr int64_t kDays = 30;
  // The rule's answer changes at F: t is more than 30 days ago from F on.
  const UnixSeconds t = kNow - kDays * kDay + 10;
  const UnixSeconds F = t + kDays * kDay + 1;
  ASSERT_EQ(F, kNow + 11);
  ContactDraft d = Draft("a@x.com", "DE");
  if (p.field == "created_at") {
    d.created_at = t;
  } else {
    d.last_engaged_at = t;  // created_at: kNow
  }
  const ContactId c = w.AddContact(d);
  const ConditionSpec rule = p.op == Operator::kWithinLastDays
                                 ? Within(p.field, kDays)
                                 : MoreThan(p.field, kDays);
  const ConditionSpec other =
      Cond("country", Operator::kEquals, {std::string(p.other ? "de" : "FR")});
  const SegmentId s = w.AddSegment(SegmentOf("s", {rule, other}, p.match));

  auto rule_at = [&](UnixSeconds x) {
    return p.op == Operator::kWithinLastDays ? x < F : x >= F;
  };
  auto member_at = [&](UnixSeconds x) {
    return p.match == Match::kAll ? rule_at(x) && p.other
                                  : rule_at(x) || p.other;
  };
  const bool flips = member_at(F - 1) != member_at(F);
  // The filter as a whole flips only when the other condition lets the
  // rule decide.
  EXPECT_EQ(flips, p.match == Match::kAll ? p.other : !p.other);

  auto expect_members = [&](UnixSeconds x) {
    if (member_at(x)) {
      EXPECT_THAT(w.Members(s), ElementsAre(c)) << "at F" << x - F;
      EXPECT_EQ(w.Count(s), 1u) << "at F" << x - F;
    } else {
      EXPECT_THAT(w.Members(s), IsEmpty()) << "at F" << x - F;
      EXPECT_EQ(w.Count(s), 0u) << "at F" << x - F;
    }
  };
  expect_members(kNow);
  if (flips) {
    ASSERT_TRUE(w.ws().next_flip_due().has_value());
    EXPECT_LE(*w.ws().next_flip_due(), F);
    EXPECT_GT(*w.ws().next_flip_due(), kNow);
  }

  for (UnixSeconds x : {F - 1, F, F + 1}) {
    SCOPED_TRACE(absl::StrCat("clock at F", x - F >= 0 ? "+" : "", x - F));
    w.clock().Set(x);
    ASSERT_OK(w.ws().ApplyDueFlips());
    expect_members(x);
    const bool flipped = flips && x >= F;
    EXPECT_EQ(w.AsOf(s), flipped ? 1u : 0u);
    if (flipped) {
      EXPECT_THAT(
          w.Changes(),
          ElementsAre(Event(
              1, s, c, member_at(F) ? ChangeKind::kEntered : ChangeKind::kLeft,
              F)));
      EXPECT_GE(w.ws().time_applied_until(), F);
    } else {
      EXPECT_THAT(w.Changes(), IsEmpty());
    }
  }
  // It stays applied: nothing more falls due for this contact.
  w.clock().Set(F + 400 * kDay);
  ASSERT_OK(w.ws().ApplyDueFlips());
  expect_members(F + 400 * kDay);
  EXPECT_THAT(w.Changes(), SizeIs(flips ? 1 : 0));
}

std::vector<OperatorCase> AllOperatorCases() {
  std::vector<OperatorCase> cases;
  for (std::string field : {"created_at", "last_engaged_at"}) {
    for (Operator op :
         {Operator::kWithinLastDays, Operator::kMoreThanDaysAgo}) {
      for (Match match : {Match::kAll, Match::kAny}) {
        for (bool other : {true, false}) {
          cases.push_back({field, op, match, other});
        }
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    EveryOperatorFieldAndGroup, OperatorTest,
    ::testing::ValuesIn(AllOperatorCases()),
    [](const ::testing::TestParamInfo<OperatorCase>& param) {
      std::string name = Name(param.param);
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

// ---------------------------------------------------------------------------
// Every write applies the flips due by its `now` first, so it is prepared
// against exact memberships and logged after them; so does a write that is
// then refused.

struct WriteCase {
  std::string name;
  // Runs the write; returns its status.
  std::function<absl::Status(Workspace&)> write;
  absl::StatusCode code = absl::StatusCode::kOk;
};

void PrintTo(const WriteCase& c, std::ostream* os) { *os << c.name; }

class WritePathTest : public ::testing::TestWithParam<WriteCase> {};

// Segment 1: engaged within 30 days; contact 1 flips out of it at F.
// Segment 2: Germany; contact 2 (DE, engaged now) is in both.
TEST_P(WritePathTest, AppliesDueFlipsBeforeItsOwnChanges) {
  const WriteCase& p = GetParam();
  TimeWorkspace w;
  const UnixSeconds F = kNow + 11;
  const ContactId a = w.AddContact(EngagedAt("a@x.com", F - 1 - 30 * kDay));
  ContactDraft b = EngagedAt("b@x.com", kNow);
  b.country = "DE";
  ASSERT_EQ(w.AddContact(b), 2u);
  const SegmentId engaged =
      w.AddSegment(SegmentOf("engaged", {Within("last_engaged_at", 30)}));
  ASSERT_EQ(w.AddSegment(SegmentOf(
                "Germany", {Cond("country", Operator::kEquals, {"DE"})})),
            2u);
  ASSERT_EQ(w.Count(engaged), 2u);

  w.clock().Set(F + 5);
  EXPECT_THAT(p.write(w.ws()), StatusIs(p.code));
  // The flip, at its second, first in the log.
  const std::vector<MembershipChange> log = w.Changes();
  ASSERT_THAT(log, ::testing::Not(IsEmpty()));
  EXPECT_EQ(log[0], Event(1, engaged, a, ChangeKind::kLeft, F));
  EXPECT_THAT(w.Members(engaged), ::testing::Not(::testing::Contains(a)));
  // The write's own events come after it, at the write's moment.
  for (size_t i = 1; i < log.size(); ++i) {
    EXPECT_EQ(log[i].sequence, i + 1);
    EXPECT_NE(log[i].cause, ChangeCause::kTime)
        << ::testing::PrintToString(log[i]);
    EXPECT_EQ(log[i].time, F + 5);
  }
  EXPECT_GE(w.ws().time_applied_until(), F);
}

std::vector<WriteCase> AllWrites() {
  auto ok = [](auto s) { return s.status(); };
  return {
      {"CreateContact",
       [ok](Workspace& ws) {
         return ok(ws.CreateContact(EngagedAt("c@x.com", kNow)));
       }},
      {"UpdateContact",
       [ok](Workspace& ws) {
         return ok(ws.UpdateContact(2, Draft("", "FR"), {"country"}));
       }},
      {"DeleteContact", [](Workspace& ws) { return ws.DeleteContact(2); }},
      {"BatchUpsertContacts",
       [ok](Workspace& ws) {
         return ok(ws.BatchUpsertContacts({Draft("b@x.com", "FR")}, {"country"},
                                          ContactView::kId));
       }},
      {"CreateSegment",
       [ok](Workspace& ws) {
         return ok(ws.CreateSegment(SegmentOf(
             "France", {Cond("country", Operator::kEquals, {"FR"})})));
       }},
      {"UpdateSegment",
       [ok](Workspace& ws) {
         return ok(ws.UpdateSegment(
             2,
             SegmentOf("Germany", {Cond("country", Operator::kEquals, {"FR"})}),
             {"filter"}));
       }},
      {"DeleteSegment", [](Workspace& ws) { return ws.DeleteSegment(2); }},
      {"SetPlan", [](Workspace& ws) { return ws.SetPlan(Plan::kStarter); }},
      // Refused writes: the flips are applied all the same.
      {"CreateContactInvalid",
       [ok](Workspace& ws) {
         return ok(ws.CreateContact(Draft("not-an-email")));
       },
       absl::StatusCode::kInvalidArgument},
      {"CreateContactDuplicate",
       [ok](Workspace& ws) { return ok(ws.CreateContact(Draft("A@x.com"))); },
       absl::StatusCode::kAlreadyExists},
      {"UpdateContactMissing",
       [ok](Workspace& ws) {
         return ok(ws.UpdateContact(99, Draft("", "FR"), {"country"}));
       },
       absl::StatusCode::kNotFound},
      {"BatchUpsertInvalid",
       [ok](Workspace& ws) {
         return ok(ws.BatchUpsertContacts({Draft("d@x.com"), Draft("bad")}, {},
                                          ContactView::kId));
       },
       absl::StatusCode::kInvalidArgument},
      {"CreateSegmentInvalid",
       [ok](Workspace& ws) {
         return ok(ws.CreateSegment(
             SegmentOf("bad", {Within("last_engaged_at", 0)})));
       },
       absl::StatusCode::kInvalidArgument},
      {"CreateSegmentDuplicateName",
       [ok](Workspace& ws) {
         return ok(ws.CreateSegment(SegmentOf(
             "GERMANY", {Cond("country", Operator::kEquals, {"DE"})})));
       },
       absl::StatusCode::kAlreadyExists},
      {"UpdateSegmentMissing",
       [ok](Workspace& ws) {
         return ok(ws.UpdateSegment(
             99, SegmentOf("x", {Cond("country", Operator::kEquals, {"FR"})}),
             {}));
       },
       absl::StatusCode::kNotFound},
      {"DeleteSegmentMissing",
       [](Workspace& ws) { return ws.DeleteSegment(99); },
       absl::StatusCode::kNotFound},
  };
}

INSTANTIATE_TEST_SUITE_P(EveryWrite, WritePathTest,
                         ::testing::ValuesIn(AllWrites()),
                         [](const ::testing::TestParamInfo<WriteCase>& param) {
                           return param.param.name;
                         });

// ---------------------------------------------------------------------------

TEST(TimeFlipsTest, UnsetLastEngagedAtNeverFlips) {
  TimeWorkspace w;
  const ContactId unset = w.AddContact(Draft("u@x.com"));
  const SegmentId within =
      w.AddSegment(SegmentOf("within", {Within("last_engaged_at", 30)}));
  const SegmentId ago =
      w.AddSegment(SegmentOf("ago", {MoreThan("last_engaged_at", 30)}));
  // Nothing will ever flip: the scheduler is told nothing is due.
  EXPECT_EQ(w.ws().next_flip_due(), std::nullopt);
  const ContactId set = w.AddContact(EngagedAt("e@x.com", kNow - 10));
  EXPECT_THAT(w.Members(within), ElementsAre(set));
  ASSERT_TRUE(w.ws().next_flip_due().has_value());
  EXPECT_LE(*w.ws().next_flip_due(), kNow - 10 + 30 * kDay + 1);

  for (int64_t days : {29, 31, 400, 3700}) {
    w.clock().Set(kNow + days * kDay);
    ASSERT_OK(w.ws().ApplyDueFlips());
    const std::vector<ContactId> in{set};
    EXPECT_EQ(w.Members(within), days < 30 ? in : std::vector<ContactId>{});
    EXPECT_EQ(w.Members(ago), days < 30 ? std::vector<ContactId>{} : in);
  }
  const std::vector<MembershipChange> log = w.Changes();
  // Its creation put it in "within" (a contact write, at kNow); then time.
  EXPECT_THAT(
      log,
      ElementsAre(
          Event(1, within, set, ChangeKind::kEntered, kNow,
                ChangeCause::kContactChanged),
          Event(2, within, set, ChangeKind::kLeft, kNow - 10 + 30 * kDay + 1),
          Event(3, ago, set, ChangeKind::kEntered, kNow - 10 + 30 * kDay + 1)));
  for (const MembershipChange& e : log) EXPECT_NE(e.contact_id, unset);
}

// A create only looks up the windows it brings into use (the others' flips
// are unchanged): the next flip comes forward for a new, nearer window, and
// stays where it was for a window already in use or a farther new one.
TEST(TimeFlipsTest, ACreateMovesTheNextFlipOnlyThroughItsNewWindows) {
  TimeWorkspace w;
  const ContactId c = w.AddContact(EngagedAt("e@x.com", kNow - 10));
  const UnixSeconds week_flip = kNow - 10 + 7 * kDay + 1;
  const UnixSeconds month_flip = kNow - 10 + 30 * kDay + 1;
  EXPECT_EQ(w.ws().next_flip_due(), std::nullopt);

  const SegmentId month =
      w.AddSegment(SegmentOf("month", {Within("last_engaged_at", 30)}));
  EXPECT_EQ(w.ws().next_flip_due(), month_flip);
  const SegmentId week =
      w.AddSegment(SegmentOf("week", {Within("last_engaged_at", 7)}));
  EXPECT_EQ(w.ws().next_flip_due(), week_flip);
  // The month's window again, and a farther new one: nothing nearer.
  w.AddSegment(SegmentOf("month again", {MoreThan("last_engaged_at", 30)}));
  w.AddSegment(SegmentOf("quarter", {Within("last_engaged_at", 90)}));
  EXPECT_EQ(w.ws().next_flip_due(), week_flip);

  w.clock().Set(week_flip);
  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_THAT(w.Members(week), ElementsAre());
  EXPECT_THAT(w.Members(month), ElementsAre(c));
  EXPECT_EQ(w.ws().next_flip_due(), month_flip);
}

// Several segments with different windows, on both fields, and one segment
// whose two windows of one field make a contact enter and then leave within
// one catch-up: every event, in order, at its second, as the brute force
// finds them; the whole jump as one write.
TEST(TimeFlipsTest, ManyWindowsAtOnceInOneCatchUp) {
  TimeWorkspace w;
  std::vector<ContactDraft> drafts;
  for (int i = 0; i < 60; ++i) {
    ContactDraft d = Draft(absl::StrCat("c", i, "@x.com"), i % 2 ? "DE" : "FR");
    // Spread over the last 40 days, some on a window's edge exactly.
    d.created_at = kNow - (i * 15'000) % (40 * kDay);
    if (i % 5 != 0) d.last_engaged_at = kNow - (i * 37'001) % (35 * kDay);
    if (i == 7) d.last_engaged_at = kNow - 7 * kDay;  // flips at kNow + 1
    drafts.push_back(d);
  }
  w.AddContacts(drafts);
  w.AddSegment(SegmentOf("1d", {Within("last_engaged_at", 1)}));
  w.AddSegment(SegmentOf("7d", {Within("last_engaged_at", 7)}));
  w.AddSegment(SegmentOf("30d or DE",
                         {Within("last_engaged_at", 30),
                          Cond("country", Operator::kEquals, {"DE"})},
                         Match::kAny));
  w.AddSegment(SegmentOf("lapsed 14", {MoreThan("last_engaged_at", 14)}));
  w.AddSegment(SegmentOf(
      "new DE",
      {Within("created_at", 10), Cond("country", Operator::kEquals, {"DE"})}));
  // Entered 1 day after creation, left 3 days after it.
  const SegmentId second_day = w.AddSegment(SegmentOf(
      "days 1-3", {MoreThan("created_at", 1), Within("created_at", 3)}));
  const ContactId fresh = w.AddContact(Draft("fresh@x.com"));  // created kNow
  const std::vector<Contact> contacts = w.Contacts(fresh);
  ASSERT_THAT(contacts, SizeIs(61));
  ASSERT_THAT(w.Changes(), IsEmpty());
  const size_t commits_before = w.commits().size();

  const UnixSeconds until = kNow + 45 * kDay;
  w.clock().Set(until);
  ASSERT_OK(w.ws().ApplyDueFlips());
  const std::vector<MembershipChange> expected =
      w.ExpectedFlips(contacts, kNow, until, 1);
  ASSERT_GT(expected.size(), 100u);
  EXPECT_EQ(w.Changes(), expected);
  EXPECT_EQ(w.commits().size(), commits_before + 1);
  EXPECT_EQ(w.ws().time_applied_until(), until);
  w.ExpectExactMembership(contacts, until);

  // The contact created at kNow entered "days 1-3" then left it.
  std::vector<MembershipChange> mine;
  for (const MembershipChange& e : w.Changes()) {
    if (e.contact_id == fresh && e.segment_id == second_day) mine.push_back(e);
  }
  ASSERT_THAT(mine, SizeIs(2));
  EXPECT_EQ(mine[0].kind, ChangeKind::kEntered);
  EXPECT_EQ(mine[0].time, kNow + kDay + 1);
  EXPECT_EQ(mine[1].kind, ChangeKind::kLeft);
  EXPECT_EQ(mine[1].time, kNow + 3 * kDay + 1);
  EXPECT_LT(mine[0].sequence, mine[1].sequence);
}

// The log does not depend on how time got there: one jump of three months,
// steps of a day, and steps of an odd number of hours read the same.
TEST(TimeFlipsTest, ClockJumpsLogTheSameAsSmallSteps) {
  auto setup = [](TimeWorkspace& w) {
    std::vector<ContactDraft> drafts;
    for (int i = 0; i < 40; ++i) {
      ContactDraft d = Draft(absl::StrCat("c", i, "@x.com"));
      d.created_at = kNow - i * 50'000;
      if (i % 4 != 0) d.last_engaged_at = kNow - i * 70'001;
      drafts.push_back(d);
    }
    w.AddContacts(drafts);
    w.AddSegment(SegmentOf("a", {Within("last_engaged_at", 30)}));
    w.AddSegment(SegmentOf("b", {MoreThan("last_engaged_at", 60)}));
    w.AddSegment(
        SegmentOf("c", {MoreThan("created_at", 20), Within("created_at", 50)}));
  };
  const UnixSeconds until = kNow + 92 * kDay;
  TimeWorkspace jump, daily, hourly;
  setup(jump);
  setup(daily);
  setup(hourly);
  jump.clock().Set(until);
  ASSERT_OK(jump.ws().ApplyDueFlips());
  for (UnixSeconds t = kNow; t < until;) {
    t = std::min(until, t + kDay);
    daily.clock().Set(t);
    ASSERT_OK(daily.ws().ApplyDueFlips());
  }
  for (UnixSeconds t = kNow; t < until;) {
    t = std::min(until, t + 7 * 3600 + 13);
    hourly.clock().Set(t);
    ASSERT_OK(hourly.ws().ApplyDueFlips());
  }
  const std::vector<MembershipChange> log = jump.Changes();
  EXPECT_EQ(log, jump.ExpectedFlips(jump.Contacts(40), kNow, until, 1));
  EXPECT_GT(log.size(), 40u);
  EXPECT_EQ(daily.Changes(), log);
  EXPECT_EQ(hourly.Changes(), log);
  for (size_t i = 1; i < log.size(); ++i) {
    EXPECT_LE(log[i - 1].time, log[i].time);
  }
  jump.ExpectExactMembership(jump.Contacts(40), until);
}

// The clock steps back (an NTP correction, a VM restored): nothing flips
// back, writes still work and are made at the applied moment (what we
// observe: a contact created then gets created_at = the applied moment,
// not the clock's reading, and its events that time), and the log's times
// never decrease. Once the clock passes the applied moment again, flips
// resume.
TEST(TimeFlipsTest, ClockMovingBackwardsNeverUndoesAFlip) {
  TimeWorkspace w;
  const UnixSeconds F = kNow + 11;
  const UnixSeconds G = kNow + 2 * kDay;
  const ContactId a = w.AddContact(EngagedAt("a@x.com", F - 1 - 30 * kDay));
  const ContactId b = w.AddContact(EngagedAt("b@x.com", G - 1 - 30 * kDay));
  const SegmentId s =
      w.AddSegment(SegmentOf("engaged", {Within("last_engaged_at", 30)}));
  w.clock().Set(F + 100);
  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_THAT(w.Members(s), ElementsAre(b));
  const UnixSeconds applied = w.ws().time_applied_until();
  EXPECT_EQ(applied, F + 100);

  // Back by a day, before F.
  w.clock().Set(kNow - kDay);
  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_THAT(w.Members(s), ElementsAre(b));
  EXPECT_EQ(w.ws().time_applied_until(), applied);
  ASSERT_THAT(w.Changes(), SizeIs(1));
  // A write while behind: made at the applied moment.
  ASSERT_OK_AND_ASSIGN(Contact c,
                       w.ws().CreateContact(EngagedAt("c@x.com", kNow - kDay)));
  EXPECT_EQ(c.created_at, applied);
  EXPECT_THAT(w.Members(s), ElementsAre(b, c.id));
  // A rule update while behind is evaluated at the applied moment too: a
  // contact that would be in at the clock's reading stays out.
  ASSERT_OK(w.ws()
                .UpdateSegment(
                    s, SegmentOf("engaged", {Within("last_engaged_at", 30)}),
                    {"filter"})
                .status());
  EXPECT_THAT(w.Members(s), ElementsAre(b, c.id));
  EXPECT_EQ(w.ws().time_applied_until(), applied);

  // Forward again, past G: b leaves at G, nothing else moves.
  w.clock().Set(G + 5);
  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_THAT(w.Members(s), ElementsAre(c.id));
  const std::vector<MembershipChange> log = w.Changes();
  EXPECT_THAT(log, ElementsAre(Event(1, s, a, ChangeKind::kLeft, F),
                               Event(2, s, c.id, ChangeKind::kEntered, applied,
                                     ChangeCause::kContactChanged),
                               Event(3, s, b, ChangeKind::kLeft, G)));
  for (size_t i = 1; i < log.size(); ++i) {
    EXPECT_LE(log[i - 1].time, log[i].time);
  }
}

// A restart after downtime spanning flips: Open rebuilds the memberships at
// the applied moment and logs each flip due since with cause TIME at its
// second, exactly as a workspace that stayed up; a second restart logs
// nothing more.
TEST(TimeFlipsTest, RestartAfterDowntimeLogsTheMissedFlipsOnce) {
  auto setup = [](TimeWorkspace& w) {
    std::vector<ContactDraft> drafts;
    for (int i = 0; i < 50; ++i) {
      ContactDraft d = Draft(absl::StrCat("c", i, "@x.com"), i % 3 ? "DE" : "");
      d.created_at = kNow - i * 40'000;
      if (i % 6 != 0) d.last_engaged_at = kNow - i * 55'003;
      drafts.push_back(d);
    }
    w.AddContacts(drafts);
    w.AddSegment(SegmentOf("engaged", {Within("last_engaged_at", 30)}));
    w.AddSegment(SegmentOf("lapsed", {MoreThan("last_engaged_at", 45)}));
    w.AddSegment(SegmentOf(
        "young or DE",
        {Within("created_at", 20), Cond("country", Operator::kEquals, {"DE"})},
        Match::kAny));
  };
  TimeWorkspace restarted, stayed_up;
  setup(restarted);
  setup(stayed_up);
  // A first flip applied before going down, so the applied moment stored
  // is not the start.
  const UnixSeconds down_at = kNow + 3 * kDay;
  restarted.clock().Set(down_at);
  stayed_up.clock().Set(down_at);
  ASSERT_OK(restarted.ws().ApplyDueFlips());
  ASSERT_OK(stayed_up.ws().ApplyDueFlips());
  const size_t before = restarted.Changes().size();
  ASSERT_GT(before, 0u);

  restarted.Close();
  const UnixSeconds up_at = kNow + 70 * kDay;
  restarted.clock().Set(up_at);
  restarted.Reopen();
  stayed_up.clock().Set(up_at);
  ASSERT_OK(stayed_up.ws().ApplyDueFlips());

  const std::vector<MembershipChange> log = restarted.Changes();
  EXPECT_GT(log.size(), before + 20);
  EXPECT_EQ(log, stayed_up.Changes());
  EXPECT_EQ(log,
            restarted.ExpectedFlips(restarted.Contacts(50), kNow, up_at, 1));
  for (size_t i = before; i < log.size(); ++i) {
    EXPECT_EQ(log[i].cause, ChangeCause::kTime);
    EXPECT_GT(log[i].time, down_at);
    EXPECT_LE(log[i].time, up_at);
  }
  EXPECT_EQ(restarted.ws().time_applied_until(), up_at);
  restarted.ExpectExactMembership(restarted.Contacts(50), up_at);
  for (SegmentId s : {1u, 2u, 3u}) {
    EXPECT_EQ(restarted.AsOf(s), log.back().sequence);
  }

  // Restarting again, at the same or a later moment without flips due,
  // logs nothing twice.
  restarted.Reopen();
  EXPECT_EQ(restarted.Changes(), log);
  restarted.clock().Advance(1);
  restarted.Reopen();
  EXPECT_EQ(restarted.Changes(), log);
  restarted.ExpectExactMembership(restarted.Contacts(50), up_at + 1);
}

// Downtime with the clock behind the stored moment at restart: the
// memberships are rebuilt at the stored moment; nothing flips back.
TEST(TimeFlipsTest, RestartWithTheClockBehindKeepsTheAppliedMoment) {
  TimeWorkspace w;
  const UnixSeconds F = kNow + 11;
  const ContactId a = w.AddContact(EngagedAt("a@x.com", F - 1 - 30 * kDay));
  const SegmentId s =
      w.AddSegment(SegmentOf("engaged", {Within("last_engaged_at", 30)}));
  w.clock().Set(F + 100);
  ASSERT_OK(w.ws().ApplyDueFlips());
  ASSERT_THAT(w.Changes(), SizeIs(1));
  w.Close();
  w.clock().Set(kNow);  // before F
  w.Reopen();
  EXPECT_THAT(w.Members(s), IsEmpty());
  EXPECT_EQ(w.ws().time_applied_until(), F + 100);
  EXPECT_THAT(w.Changes(), ElementsAre(Event(1, s, a, ChangeKind::kLeft, F)));
}

TEST(TimeFlipsTest, FailedCommitLeavesTheFlipsDueAndMemoryUnchanged) {
  TimeWorkspace w;
  const UnixSeconds F = kNow + 11;
  const ContactId a = w.AddContact(EngagedAt("a@x.com", F - 1 - 30 * kDay));
  const SegmentId s =
      w.AddSegment(SegmentOf("engaged", {Within("last_engaged_at", 30)}));
  const std::optional<UnixSeconds> due = w.ws().next_flip_due();
  const UnixSeconds applied = w.ws().time_applied_until();
  w.clock().Set(F + 5);

  w.storage().FailNextCommits(1);
  EXPECT_THAT(w.ws().ApplyDueFlips(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(w.Members(s), ElementsAre(a));
  EXPECT_EQ(w.Count(s), 1u);
  EXPECT_EQ(w.AsOf(s), 0u);
  EXPECT_EQ(w.ws().time_applied_until(), applied);
  EXPECT_EQ(w.ws().next_flip_due(), due);
  EXPECT_THAT(w.Changes(), IsEmpty());

  // A write whose catch-up fails is refused, and does nothing either.
  w.storage().FailNextCommits(1);
  EXPECT_THAT(w.ws().CreateContact(Draft("b@x.com")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(w.ws().GetContact(2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(w.Members(s), ElementsAre(a));

  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_THAT(w.Members(s), IsEmpty());
  EXPECT_EQ(w.AsOf(s), 1u);
  EXPECT_EQ(w.ws().time_applied_until(), F + 5);
  EXPECT_THAT(w.Changes(), ElementsAre(Event(1, s, a, ChangeKind::kLeft, F)));
  // And the write goes through on a retry.
  ASSERT_OK(w.ws().CreateContact(Draft("b@x.com")).status());
}

// A burst: 130,000 contacts engaged (and created) in the same second, in 20
// segments, flip at one moment: 260,000 (contact, window) flips, more than
// kMaxFlipsPerWrite, and still ONE write, because the flips of one second
// are never split. Its events are consecutive sequences, one run per
// segment and kind, segments ascending, contacts ascending.
TEST(TimeFlipsTest, ABurstInOneSecondIsOneWrite) {
  constexpr int kContacts = 130'000;
  constexpr int kSegments = 20;
  constexpr uint64_t kPerSegment = kContacts / kSegments;
  static_assert(2 * kContacts > Workspace::kMaxFlipsPerWrite);
  const absl::Time started = absl::Now();
  TimeWorkspace w;
  const UnixSeconds t = kNow - 30 * kDay + 100;
  const UnixSeconds F = t + 30 * kDay + 1;
  std::vector<ContactDraft> drafts(kContacts);
  for (int i = 0; i < kContacts; ++i) {
    drafts[i].email = absl::StrCat("c", i, "@x.com");
    drafts[i].lead_score = i % kSegments;
    drafts[i].created_at = t;
    drafts[i].last_engaged_at = t;
  }
  w.AddContacts(std::move(drafts));
  // Segment i+1 holds the contacts with lead_score i: the first half leave
  // (engaged within 30 days), the second half enter (created more than 30
  // days ago).
  for (int i = 0; i < kSegments; ++i) {
    const ConditionSpec rule = i < kSegments / 2 ? Within("last_engaged_at", 30)
                                                 : MoreThan("created_at", 30);
    w.AddSegment(
        SegmentOf(absl::StrCat("s", i),
                  {rule, Cond("lead_score", Operator::kEquals, {int64_t{i}})}));
  }
  for (SegmentId s = 1; s <= kSegments / 2; ++s) {
    ASSERT_EQ(w.Count(s), kPerSegment);
  }
  const size_t commits_before = w.commits().size();
  const uint64_t last_before = w.AsOf(1);
  const absl::Time setup_done = absl::Now();

  w.clock().Set(F - 1);
  ASSERT_OK(w.ws().ApplyDueFlips());
  EXPECT_EQ(w.commits().size(), commits_before);  // nothing due yet
  w.clock().Set(F + 2);
  ASSERT_OK(w.ws().ApplyDueFlips());
  const absl::Time applied = absl::Now();
  ASSERT_EQ(w.commits().size(), commits_before + 1);
  EXPECT_EQ(w.commits().back().changes, static_cast<size_t>(kContacts));

  const std::vector<MembershipChange> log = w.Changes(last_before);
  ASSERT_THAT(log, SizeIs(static_cast<size_t>(kContacts)));
  SegmentId segment = 0;
  size_t runs = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const MembershipChange& e = log[i];
    ASSERT_EQ(e.sequence, last_before + 1 + i);
    ASSERT_EQ(e.time, F);
    ASSERT_EQ(e.cause, ChangeCause::kTime);
    ASSERT_EQ((e.contact_id - 1) % kSegments, e.segment_id - 1);
    ASSERT_EQ(e.kind, e.segment_id <= kSegments / 2 ? ChangeKind::kLeft
                                                    : ChangeKind::kEntered);
    if (e.segment_id != segment) {
      ASSERT_GT(e.segment_id, segment);
      segment = e.segment_id;
      ++runs;
    } else {
      ASSERT_GT(e.contact_id, log[i - 1].contact_id);
    }
  }
  EXPECT_EQ(runs, static_cast<size_t>(kSegments));
  for (SegmentId s = 1; s <= kSegments; ++s) {
    EXPECT_EQ(w.Count(s), s <= kSegments / 2 ? 0u : kPerSegment);
    EXPECT_EQ(w.AsOf(s), last_before + kContacts);
  }
  // Observed: the write ends at the burst's second (StepEnd stops there
  // when more than kMaxFlipsPerWrite flips are due by the clock), and with
  // nothing due after it the catch-up stops without moving the moment on;
  // nothing falls due in (F, F + 2], so memberships are exact either way.
  EXPECT_GE(w.ws().time_applied_until(), F);
  EXPECT_LE(w.ws().time_applied_until(), F + 2);
  std::printf("burst: setup %s, %d flips in %d segments applied in %s\n",
              absl::FormatDuration(setup_done - started).c_str(), 2 * kContacts,
              kSegments, absl::FormatDuration(applied - setup_done).c_str());
}

// More than kMaxFlipsPerWrite flips due in distinct seconds: a catch-up of
// several writes, each of at most kMaxFlipsPerWrite flips, together logging
// every flip at its second.
TEST(TimeFlipsTest, ALongCatchUpIsSplitIntoWritesOfAtMostTheLimit) {
  constexpr int kContacts = 90'000;  // one second apart
  constexpr int kWindows = 3;        // 30, 32 and 34 days: 270,000 flips
  static_assert(kContacts * kWindows > Workspace::kMaxFlipsPerWrite);
  const absl::Time started = absl::Now();
  TimeWorkspace w;
  const UnixSeconds base = kNow - 30 * kDay + 10;
  std::vector<ContactDraft> drafts(kContacts);
  for (int i = 0; i < kContacts; ++i) {
    drafts[i].email = absl::StrCat("c", i, "@x.com");
    drafts[i].last_engaged_at = base + i;
  }
  w.AddContacts(std::move(drafts));
  for (int i = 0; i < kWindows; ++i) {
    w.AddSegment(SegmentOf(absl::StrCat("w", i),
                           {Within("last_engaged_at", 30 + 2 * i)}));
  }
  const size_t commits_before = w.commits().size();
  const absl::Time setup_done = absl::Now();

  const UnixSeconds until = base + kContacts + 40 * kDay;
  w.clock().Set(until);
  ASSERT_OK(w.ws().ApplyDueFlips());
  const absl::Time applied = absl::Now();
  const std::vector<CommitLog::Entry> commits = w.commits();
  ASSERT_EQ(commits.size(), commits_before + 2);
  size_t total = 0;
  for (size_t i = commits_before; i < commits.size(); ++i) {
    EXPECT_LE(commits[i].changes, Workspace::kMaxFlipsPerWrite);
    EXPECT_GT(commits[i].changes, 0u);
    total += commits[i].changes;
  }
  EXPECT_EQ(total, static_cast<size_t>(kContacts * kWindows));
  // The first write stops at a second; the second carries on from there.
  const UnixSeconds split = commits[commits_before].time_applied_until;
  EXPECT_EQ(commits.back().time_applied_until, until);

  const std::vector<MembershipChange> log = w.Changes();
  ASSERT_THAT(log, SizeIs(static_cast<size_t>(kContacts * kWindows)));
  for (size_t i = 0; i < log.size(); ++i) {
    const MembershipChange& e = log[i];
    ASSERT_EQ(e.sequence, i + 1);
    ASSERT_EQ(e.kind, ChangeKind::kLeft);
    const int64_t days = 30 + 2 * static_cast<int64_t>(e.segment_id - 1);
    ASSERT_EQ(e.time,
              base + static_cast<int64_t>(e.contact_id - 1) + days * kDay + 1);
    if (i > 0) {
      ASSERT_LT(log[i - 1].time, e.time);  // all distinct seconds
    }
    // Events in the first write are due by its end, the others after it.
    ASSERT_EQ(i < commits[commits_before].changes, e.time <= split);
  }
  for (SegmentId s = 1; s <= kWindows; ++s) EXPECT_EQ(w.Count(s), 0u);
  std::printf("split: setup %s, %d flips applied in %zu writes in %s\n",
              absl::FormatDuration(setup_done - started).c_str(),
              kContacts * kWindows, commits.size() - commits_before,
              absl::FormatDuration(applied - setup_done).c_str());
}

}  // namespace
}  // namespace segments
