// Differential tests of the rule engine against the independent brute-force
// evaluator in tests/testing/brute_force.h (in the style of CRoaring's
// tests/roaring_checked.hh): random valid filters over random contacts at the
// predicate level, then whole workspaces whose materialized memberships are
// compared with a from-scratch recompute after random mutation sequences, a
// restart, and injected commit failures.
//
// Seeds are fixed and printed with every failure; SEGMENTS_DIFF_SEED=<n>
// shifts all of them to explore other sequences.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "core/index/evaluator.h"
#include "core/model/contact.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/pages.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

#define RETURN_IF_FAILED(expr)              \
  do {                                      \
    ::testing::AssertionResult r_ = (expr); \
    if (!r_) return r_;                     \
  } while (0)

// The tests' clock: an arbitrary instant (2023-11-14T22:13:20Z), not on a
// UTC midnight, since day rules count 86400 s back from `now`, not dates.
constexpr UnixSeconds kBase = 1'700'000'000;

constexpr int kOpWithinLastDays = static_cast<int>(Operator::kWithinLastDays);
constexpr int kOpMoreThanDaysAgo = static_cast<int>(Operator::kMoreThanDaysAgo);

uint64_t Seed(uint64_t fixed) {
  const char* env = std::getenv("SEGMENTS_DIFF_SEED");
  if (env == nullptr || *env == '\0') return fixed;
  return fixed + std::strtoull(env, nullptr, 10) * 1000003;
}

std::string SeedTrace(uint64_t seed) {
  return absl::StrCat("seed=", seed,
                      " (rerun with the same build to reproduce)");
}

// The timestamp a relative-date condition reads, if set.
std::optional<UnixSeconds> TimeOf(const Contact& c, const std::string& field) {
  if (field == "created_at") return c.created_at;
  return c.last_engaged_at;
}

bool IsRelative(const ConditionSpec& c) {
  return c.op == kOpWithinLastDays || c.op == kOpMoreThanDaysAgo;
}

// Per-condition answers of both evaluators, to point at the culprit.
std::string ExplainConditions(const FilterSpec& spec, const Contact& contact,
                              UnixSeconds now) {
  auto filter = ValidateFilter(spec, "filter");
  std::string out;
  for (size_t i = 0; i < spec.conditions.size(); ++i) {
    bool want = BruteForceConditionMatches(spec.conditions[i], contact, now);
    std::string got = "?";
    if (filter.ok() && filter->conditions.size() == spec.conditions.size()) {
      got = ConditionMatches(filter->conditions[i], contact, now) ? "true"
                                                                  : "false";
    }
    absl::StrAppend(&out, "\n  [", i, "] ",
                    DescribeCondition(spec.conditions[i]), ": brute force ",
                    want ? "true" : "false", ", core ", got,
                    want == (got == "true") ? "" : "   <== differs");
  }
  return out;
}

std::string ExplainMismatch(const FilterSpec& spec, const Contact& contact,
                            UnixSeconds now, bool want, bool got) {
  return absl::StrCat(
      "now=", now, "\nfilter: ", DescribeFilter(spec),
      "\ncontact: ", DescribeContact(contact), "\nbrute force: ", want,
      ", core: ", got,
      "\nper condition:", ExplainConditions(spec, contact, now));
}

// Normalizes random drafts with core and checks each against the reference
// normalization, so the predicate tests start from contacts both agree on.
std::vector<Contact> MakeContacts(RandomData& rd, int n, UnixSeconds now) {
  std::vector<Contact> out;
  for (int i = 0; i < n; ++i) {
    ContactDraft d = rd.Draft();
    absl::StatusOr<Contact> c = NormalizeNewContact(d, "contact", now);
    EXPECT_THAT(c, IsOk()) << DescribeDraft(d);
    if (!c.ok()) continue;
    Contact want = ReferenceApplyDraft(d, {}, nullptr, now);
    EXPECT_TRUE(*c == want) << "normalization differs for " << DescribeDraft(d)
                            << "\ncore:      " << DescribeContact(*c)
                            << "\nreference: " << DescribeContact(want);
    c->id = static_cast<ContactId>(out.size() + 1);
    out.push_back(*c);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The catalog itself agrees with rules-semantics.md (which pairs exist).

TEST(DifferentialCatalog, CatalogAgreesWithRulesSemantics) {
  std::set<std::string> seen;
  for (const FieldInfo& info : AllFields()) {
    const RefField* ref = FindReferenceField(info.name);
    ASSERT_NE(ref, nullptr)
        << "catalog field not in rules-semantics.md: " << info.name;
    seen.insert(std::string(info.name));
    std::set<int> ops;
    for (Operator op : info.operators) ops.insert(static_cast<int>(op));
    EXPECT_EQ(ops, ref->ops) << info.name;
    EXPECT_EQ(info.optional, ref->optional) << info.name;
    EXPECT_EQ(info.family == RuleFamily::kSmart, ref->smart) << info.name;
    std::vector<std::string_view> names(info.enum_values.begin(),
                                        info.enum_values.end());
    EXPECT_EQ(names, ref->enum_names) << info.name;
  }
  EXPECT_EQ(seen.size(), ReferenceFields().size());
}

// ---------------------------------------------------------------------------
// 1. Predicate level.

TEST(DifferentialPredicate, RandomFiltersAgreeWithBruteForce) {
  const uint64_t seed = Seed(1);
  SCOPED_TRACE(SeedTrace(seed));
  RandomData rd(seed, kBase);
  const std::vector<Contact> contacts = MakeContacts(rd, 1500, kBase);
  ASSERT_FALSE(HasFailure());

  constexpr int kFilters = 12000;
  constexpr int kContactsPerFilter = 40;
  int failures = 0;
  int64_t pairs = 0;
  int64_t boundary_hits = 0;
  int64_t matched = 0;
  // (field, op) -> how often a single condition came out false / true.
  std::map<std::pair<std::string, int>, std::array<int64_t, 2>> outcomes;
  for (int i = 0; i < kFilters && failures < 10; ++i) {
    const FilterSpec spec = rd.Filter();
    absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
    if (!filter.ok()) {
      ++failures;
      ADD_FAILURE() << "filter #" << i
                    << " is valid by rules-semantics.md but core says "
                    << filter.status() << "\n"
                    << DescribeFilter(spec);
      continue;
    }
    std::vector<const ConditionSpec*> relative;
    for (const ConditionSpec& c : spec.conditions) {
      if (IsRelative(c)) relative.push_back(&c);
    }
    for (int k = 0; k < kContactsPerFilter; ++k) {
      const Contact& contact = rd.Pick(contacts);
      UnixSeconds now = rd.Now();
      // Aim `now` at the exact day boundary of one relative rule, +-1 s.
      if (!relative.empty() && rd.Percent(40)) {
        const ConditionSpec& c = *rd.Pick(relative);
        std::optional<UnixSeconds> t = TimeOf(contact, c.field);
        if (t.has_value()) {
          now = *t + std::get<int64_t>(c.values[0]) * kDay + rd.Uniform(-1, 1);
        }
      }
      for (const ConditionSpec& c : spec.conditions) {
        bool b = BruteForceConditionMatches(c, contact, now);
        ++outcomes[{c.field, c.op}][b ? 1 : 0];
        if (IsRelative(c)) {
          std::optional<UnixSeconds> t = TimeOf(contact, c.field);
          if (t.has_value() &&
              *t == now - std::get<int64_t>(c.values[0]) * kDay) {
            ++boundary_hits;
          }
        }
      }
      const bool want = BruteForceMatches(spec, contact, now);
      const bool got = FilterMatches(*filter, contact, now);
      ++pairs;
      matched += want ? 1 : 0;
      if (want != got) {
        ++failures;
        ADD_FAILURE() << "filter #" << i << " disagrees\n"
                      << ExplainMismatch(spec, contact, now, want, got);
      }
    }
  }
  EXPECT_EQ(failures, 0);
  // The generators must exercise every pair both ways, and the boundaries.
  for (const FieldOp& p : CatalogPairs()) {
    const auto& o = outcomes[{p.field, p.op}];
    EXPECT_GT(o[0], 0) << p.field << " op " << p.op << " never false";
    EXPECT_GT(o[1], 0) << p.field << " op " << p.op << " never true";
  }
  EXPECT_GT(boundary_hits, 1000);
  EXPECT_GT(matched, pairs / 20) << "too few matches to mean anything";
  EXPECT_LT(matched, pairs - pairs / 20) << "too many matches to mean anything";
}

// Every catalog pair separately, against many contacts at two clocks.
TEST(DifferentialPredicate, EveryFieldOperatorPairAgrees) {
  const uint64_t seed = Seed(2);
  SCOPED_TRACE(SeedTrace(seed));
  RandomData rd(seed, kBase);
  const std::vector<Contact> contacts = MakeContacts(rd, 400, kBase);
  ASSERT_FALSE(HasFailure());
  int failures = 0;
  for (const FieldOp& pair : CatalogPairs()) {
    for (int j = 0; j < 25 && failures < 10; ++j) {
      FilterSpec spec;
      spec.match = static_cast<int>(rd.Uniform(0, 2));
      spec.conditions.push_back(rd.Condition(pair));
      absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
      if (!filter.ok()) {
        ++failures;
        ADD_FAILURE() << "valid by rules-semantics.md but core says "
                      << filter.status() << "\n"
                      << DescribeFilter(spec);
        continue;
      }
      for (const Contact& contact : contacts) {
        for (UnixSeconds now : {kBase, rd.Now()}) {
          const bool want = BruteForceMatches(spec, contact, now);
          const bool got = FilterMatches(*filter, contact, now);
          if (want != got && ++failures <= 10) {
            ADD_FAILURE() << ExplainMismatch(spec, contact, now, want, got);
          }
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// Relative date rules exactly at, one second before and after their day
// boundary, checked against the literal SPEC formulas as well.
TEST(DifferentialPredicate, RelativeDatesAtDayBoundaries) {
  RandomData rd(Seed(3), kBase);
  Contact contact = MakeContacts(rd, 1, kBase).at(0);
  for (const std::string field : {"created_at", "last_engaged_at"}) {
    for (int op : {kOpWithinLastDays, kOpMoreThanDaysAgo}) {
      for (int64_t n : {1, 2, 7, 30, 365, 3650}) {
        for (UnixSeconds t : {kBase, kBase - 12345, kBase + kDay, kMinTimestamp,
                              kMaxTimestamp - 3650 * kDay}) {
          contact.created_at = t;
          contact.last_engaged_at = t;
          FilterSpec spec{1, {ConditionSpec{field, op, {RawValue(n)}}}};
          ASSERT_OK_AND_ASSIGN(Filter filter, ValidateFilter(spec, "filter"));
          for (int64_t delta = -2; delta <= 2; ++delta) {
            const UnixSeconds now = t + n * kDay + delta;
            // WITHIN: t >= now - n*86400, i.e. delta <= 0; MORE: the rest.
            const bool literal =
                op == kOpWithinLastDays ? delta <= 0 : delta > 0;
            const bool want = BruteForceMatches(spec, contact, now);
            const bool got = FilterMatches(filter, contact, now);
            EXPECT_EQ(want, literal)
                << "reference is wrong: " << DescribeFilter(spec);
            EXPECT_EQ(got, literal)
                << ExplainMismatch(spec, contact, now, want, got);
          }
        }
      }
    }
  }
  // Unset last_engaged_at: only the negative twins would match, and relative
  // rules have none, so both are false at any time.
  contact.last_engaged_at.reset();
  for (int op : {kOpWithinLastDays, kOpMoreThanDaysAgo}) {
    FilterSpec spec{
        1, {ConditionSpec{"last_engaged_at", op, {RawValue(int64_t{1})}}}};
    ASSERT_OK_AND_ASSIGN(Filter filter, ValidateFilter(spec, "filter"));
    EXPECT_FALSE(BruteForceMatches(spec, contact, kBase));
    EXPECT_FALSE(FilterMatches(filter, contact, kBase)) << DescribeFilter(spec);
  }
}

// ---------------------------------------------------------------------------
// Workspace level: a Workspace over MemoryStorage next to a shadow copy of
// its contacts and, per segment, the member set the brute force predicts.

struct ShadowSegment {
  std::string name;
  FilterSpec spec;
  std::set<ContactId> members;  // maintained incrementally, by brute force
};

// Every mutation helper takes `fail`: when set, the next commit is made to
// fail and the call must return UNAVAILABLE leaving the shadow untouched.
class Harness {
 public:
  Harness(uint64_t seed, UnixSeconds now, FilterShape shape)
      : rd_(seed, now),
        shape_(shape),
        clock_(now),
        storage_(std::make_shared<MemoryStorage>()),
        catalog_(storage_) {}

  RandomData& rd() { return rd_; }
  Workspace& ws() { return *ws_; }
  MemoryStorage& storage() { return *storage_; }
  size_t contact_count() const { return contacts_.size(); }
  size_t segment_count() const { return segments_.size(); }

  // Opens the workspace, or reopens it over the same storage (a restart).
  AssertionResult Open() {
    ws_.reset();
    absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
        catalog_.OpenWorkspace(1);
    if (!store.ok())
      return AssertionFailure() << "OpenWorkspace: " << store.status();
    absl::StatusOr<std::unique_ptr<Workspace>> ws =
        Workspace::Open(1, Plan::kPro, std::move(*store), &clock_, Limits());
    if (!ws.ok())
      return AssertionFailure() << "Workspace::Open: " << ws.status();
    ws_ = std::move(*ws);
    return AssertionSuccess();
  }

  UnixSeconds now() const { return clock_.Now(); }

  // --- contacts -----------------------------------------------------------

  AssertionResult CreateContact(bool fail) {
    ContactDraft d = rd_.Draft();
    Contact want = ReferenceApplyDraft(d, {}, nullptr, now());
    if (fail) storage_->FailNextCommits(1);
    absl::StatusOr<Contact> got = ws_->CreateContact(d);
    if (fail) return ExpectUnavailable(got.status(), "CreateContact");
    if (!got.ok()) {
      return AssertionFailure()
             << "CreateContact(" << DescribeDraft(d) << "): " << got.status();
    }
    if (got->id != max_contact_id_ + 1) {
      return AssertionFailure()
             << "new contact id " << got->id << ", want " << max_contact_id_ + 1
             << " (ids dense, never reused)";
    }
    want.id = got->id;
    RETURN_IF_FAILED(SameContact(*got, want, d));
    max_contact_id_ = got->id;
    Apply(*got);
    return AssertionSuccess();
  }

  // A new contact whose email (in another case/padding) already exists.
  AssertionResult CreateDuplicateEmail() {
    if (contacts_.empty()) return AssertionSuccess();
    const Contact& other = PickContact();
    ContactDraft d = rd_.Draft(rd_.EmailVariant(other.email));
    absl::StatusOr<Contact> got = ws_->CreateContact(d);
    if (got.status().code() != absl::StatusCode::kAlreadyExists) {
      return AssertionFailure()
             << "CreateContact with the email of contact " << other.id << ": "
             << got.status() << ", want ALREADY_EXISTS";
    }
    return AssertionSuccess();
  }

  AssertionResult UpdateContact(bool fail) {
    if (contacts_.empty()) return CreateContact(fail);
    const Contact before = PickContact();
    std::string email;
    int64_t roll = rd_.Uniform(0, 99);
    if (fail || roll < 60) {
      email = rd_.EmailVariant(before.email);
    } else if (roll < 85) {
      email = rd_.NewEmail();
    } else {
      email = rd_.EmailVariant(PickContact().email);  // may collide
    }
    ContactDraft d = rd_.Draft(email);
    std::vector<std::string> mask = rd_.ContactMask();
    Contact want = ReferenceApplyDraft(d, mask, &before, now());
    if (fail && want == before) {
      // Make sure the write has something to commit.
      mask.push_back("lead_score");
      d.lead_score = before.lead_score == 0 ? 1 : 0;
      want = ReferenceApplyDraft(d, mask, &before, now());
    }
    auto owner = by_email_.find(want.email);
    const bool conflict =
        owner != by_email_.end() && owner->second != before.id;
    if (fail) storage_->FailNextCommits(1);
    absl::StatusOr<Contact> got = ws_->UpdateContact(before.id, d, mask);
    if (fail) return ExpectUnavailable(got.status(), "UpdateContact");
    if (conflict) {
      if (got.status().code() != absl::StatusCode::kAlreadyExists) {
        return AssertionFailure()
               << "UpdateContact(" << before.id << ") to the email of "
               << owner->second << ": " << got.status()
               << ", want ALREADY_EXISTS";
      }
      return AssertionSuccess();
    }
    if (!got.ok()) {
      return AssertionFailure()
             << "UpdateContact(" << before.id << ", " << DescribeDraft(d)
             << ", mask " << MaskString(mask) << "): " << got.status();
    }
    RETURN_IF_FAILED(SameContact(*got, want, d, MaskString(mask)));
    Apply(*got);
    return AssertionSuccess();
  }

  AssertionResult DeleteContact(bool fail) {
    if (contacts_.empty()) return CreateContact(fail);
    const ContactId id = PickContact().id;
    if (fail) storage_->FailNextCommits(1);
    absl::Status s = ws_->DeleteContact(id);
    if (fail) return ExpectUnavailable(s, "DeleteContact");
    if (!s.ok())
      return AssertionFailure() << "DeleteContact(" << id << "): " << s;
    Remove(id);
    return AssertionSuccess();
  }

  // Upserts `n` drafts: about half existing contacts (by an email variant),
  // the rest new, under one random mask.
  AssertionResult BatchUpsert(bool fail, size_t n) {
    std::vector<ContactDraft> drafts;
    std::vector<Contact> want;
    std::vector<bool> existing;
    std::set<ContactId> used;
    const std::vector<std::string> mask = rd_.ContactMask();
    for (size_t i = 0; i < n; ++i) {
      if (!contacts_.empty() && rd_.Percent(50)) {
        const Contact& before = PickContact();
        if (used.insert(before.id).second) {
          drafts.push_back(rd_.Draft(rd_.EmailVariant(before.email)));
          want.push_back(
              ReferenceApplyDraft(drafts.back(), mask, &before, now()));
          existing.push_back(true);
          continue;
        }
      }
      drafts.push_back(rd_.Draft());
      want.push_back(ReferenceApplyDraft(drafts.back(), {}, nullptr, now()));
      existing.push_back(false);
    }
    if (fail && std::count(existing.begin(), existing.end(), false) == 0) {
      drafts.push_back(rd_.Draft());
      want.push_back(ReferenceApplyDraft(drafts.back(), {}, nullptr, now()));
      existing.push_back(false);
    }
    if (fail) storage_->FailNextCommits(1);
    absl::StatusOr<BatchUpsertResult> got =
        ws_->BatchUpsertContacts(drafts, mask);
    if (fail) return ExpectUnavailable(got.status(), "BatchUpsertContacts");
    if (!got.ok()) {
      return AssertionFailure()
             << "BatchUpsertContacts(" << drafts.size() << " drafts, mask "
             << MaskString(mask) << "): " << got.status();
    }
    if (got->contacts.size() != drafts.size()) {
      return AssertionFailure()
             << "BatchUpsertContacts returned " << got->contacts.size()
             << " contacts for " << drafts.size() << " drafts";
    }
    const uint32_t created = static_cast<uint32_t>(
        std::count(existing.begin(), existing.end(), false));
    if (got->created != created || got->updated != drafts.size() - created) {
      return AssertionFailure()
             << "BatchUpsertContacts created/updated " << got->created << "/"
             << got->updated << ", want " << created << "/"
             << drafts.size() - created;
    }
    std::set<ContactId> new_ids;
    for (size_t i = 0; i < drafts.size(); ++i) {
      if (!existing[i]) {
        want[i].id = got->contacts[i].id;
        new_ids.insert(got->contacts[i].id);
      }
      RETURN_IF_FAILED(SameContact(
          got->contacts[i], want[i], drafts[i],
          absl::StrCat("batch item ", i, ", mask ", MaskString(mask))));
    }
    // New ids: the next `created` ids, dense.
    std::set<ContactId> dense;
    for (uint32_t i = 1; i <= created; ++i) dense.insert(max_contact_id_ + i);
    if (new_ids != dense) {
      return AssertionFailure()
             << "batch assigned new ids that are not the next " << created
             << " after " << max_contact_id_;
    }
    max_contact_id_ += created;
    for (const Contact& c : got->contacts) Apply(c);
    return AssertionSuccess();
  }

  // Calls on ids that do not exist (never assigned, or deleted).
  AssertionResult Missing() {
    ContactId id =
        max_contact_id_ + static_cast<ContactId>(rd_.Uniform(1, 1000));
    if (!deleted_.empty() && rd_.Percent(60)) id = rd_.Pick(deleted_);
    const int64_t which = rd_.Uniform(0, 4);
    absl::Status s;
    if (which == 0) s = ws_->GetContact(id).status();
    if (which == 1) s = ws_->UpdateContact(id, rd_.Draft(), {}).status();
    if (which == 2) s = ws_->DeleteContact(id);
    const SegmentId sid =
        max_segment_id_ + static_cast<SegmentId>(rd_.Uniform(1, 100));
    if (which == 3) s = ws_->DeleteSegment(sid);
    if (which == 4) s = ws_->CountMembers(sid).status();
    if (s.code() != absl::StatusCode::kNotFound) {
      return AssertionFailure()
             << "call #" << which << " on missing id " << id << "/" << sid
             << ": " << s << ", want NOT_FOUND";
    }
    return AssertionSuccess();
  }

  // --- segments -----------------------------------------------------------

  AssertionResult CreateSegment(bool fail) {
    SegmentDraft draft{NewSegmentName(), rd_.Filter(shape_)};
    std::set<ContactId> members = Recompute(draft.filter);
    if (fail) storage_->FailNextCommits(1);
    absl::StatusOr<SegmentView> got = ws_->CreateSegment(draft);
    if (fail) return ExpectUnavailable(got.status(), "CreateSegment");
    if (!got.ok()) {
      return AssertionFailure()
             << "CreateSegment(" << DescribeFilter(draft.filter)
             << "): " << got.status();
    }
    const SegmentId id = got->record.id;
    if (id <= max_segment_id_) {
      return AssertionFailure()
             << "segment id " << id << " not above " << max_segment_id_;
    }
    max_segment_id_ = id;
    if (got->record.display_name != draft.display_name) {
      return AssertionFailure() << "segment name " << got->record.display_name;
    }
    if (got->kind != KindOf(draft.filter)) {
      return AssertionFailure()
             << "segment kind " << static_cast<int>(got->kind) << " for "
             << DescribeFilter(draft.filter);
    }
    segments_[id] =
        ShadowSegment{draft.display_name, draft.filter, std::move(members)};
    if (got->member_count != segments_[id].members.size()) {
      return AssertionFailure()
             << "CreateSegment member_count " << got->member_count
             << ", brute force " << segments_[id].members.size() << "\n"
             << ExplainSegment(segments_[id], ListAll(id, 1000, false).second);
    }
    return AssertionSuccess();
  }

  AssertionResult UpdateSegment(bool fail) {
    if (segments_.empty()) return CreateSegment(fail);
    auto it = segments_.begin();
    std::advance(it,
                 rd_.Uniform(0, static_cast<int64_t>(segments_.size()) - 1));
    const SegmentId id = it->first;
    static const std::vector<std::vector<std::string>> kMasks = {
        {}, {"filter"}, {"display_name"}, {"display_name", "filter"}};
    const std::vector<std::string> mask = fail ? kMasks[0] : rd_.Pick(kMasks);
    // The draft always carries both; the mask decides what is taken.
    SegmentDraft draft{NewSegmentName(), rd_.Filter(shape_)};
    const bool take_name =
        mask.empty() ||
        std::find(mask.begin(), mask.end(), "display_name") != mask.end();
    const bool take_filter = mask.empty() || std::find(mask.begin(), mask.end(),
                                                       "filter") != mask.end();
    if (fail) storage_->FailNextCommits(1);
    absl::StatusOr<SegmentView> got = ws_->UpdateSegment(id, draft, mask);
    if (fail) return ExpectUnavailable(got.status(), "UpdateSegment");
    if (!got.ok()) {
      return AssertionFailure()
             << "UpdateSegment(" << id << ", mask " << MaskString(mask) << ", "
             << DescribeFilter(draft.filter) << "): " << got.status();
    }
    ShadowSegment& s = it->second;
    if (take_name) s.name = draft.display_name;
    if (take_filter) {
      s.spec = draft.filter;
      s.members = Recompute(s.spec);
    }
    if (got->record.display_name != s.name ||
        got->member_count != s.members.size()) {
      return AssertionFailure()
             << "UpdateSegment(" << id << ", mask " << MaskString(mask)
             << ") -> name " << got->record.display_name << " count "
             << got->member_count << ", want " << s.name << " "
             << s.members.size() << "\n"
             << ExplainSegment(s, ListAll(id, 1000, false).second);
    }
    return AssertionSuccess();
  }

  AssertionResult DeleteSegment(bool fail) {
    if (segments_.empty()) return CreateSegment(fail);
    auto it = segments_.begin();
    std::advance(it,
                 rd_.Uniform(0, static_cast<int64_t>(segments_.size()) - 1));
    if (fail) storage_->FailNextCommits(1);
    absl::Status s = ws_->DeleteSegment(it->first);
    if (fail) return ExpectUnavailable(s, "DeleteSegment");
    if (!s.ok())
      return AssertionFailure() << "DeleteSegment(" << it->first << "): " << s;
    segments_.erase(it);
    return AssertionSuccess();
  }

  // --- checks -------------------------------------------------------------

  // Every segment's O(1) count against the incrementally kept expectation.
  AssertionResult CheckCounts() const {
    for (const auto& [id, s] : segments_) {
      absl::StatusOr<MemberCount> count = ws_->CountMembers(id);
      if (!count.ok())
        return AssertionFailure()
               << "CountMembers(" << id << "): " << count.status();
      if (count->member_count != s.members.size()) {
        return AssertionFailure()
               << "segment " << id << " count " << count->member_count
               << ", brute force " << s.members.size() << "\n"
               << ExplainSegment(s, ListAll(id, 1000, false).second);
      }
    }
    return AssertionSuccess();
  }

  // Everything, from scratch: each segment's listing and count against a
  // brute-force recompute over all shadow contacts; the segment list; every
  // contact; deleted contacts are gone.
  AssertionResult CheckEverything() {
    for (auto& [id, s] : segments_) {
      const std::set<ContactId> scratch = Recompute(s.spec);
      if (scratch != s.members) {
        return AssertionFailure() << "test bug: incremental shadow of segment "
                                  << id << " differs from its recompute";
      }
      static const std::vector<size_t> kPageSizes = {1, 3, 100, 1000};
      const size_t page_size = rd_.Percent(50)
                                   ? rd_.Pick(kPageSizes)
                                   : static_cast<size_t>(rd_.Uniform(1, 1000));
      const bool full = rd_.Percent(25);
      auto [listed, ids] = ListAll(id, page_size, full);
      RETURN_IF_FAILED(listed);
      if (std::set<ContactId>(ids.begin(), ids.end()) != scratch ||
          ids.size() != scratch.size()) {
        return AssertionFailure() << "segment " << id << " listing (page_size "
                                  << page_size << ") differs from brute force\n"
                                  << ExplainSegment(s, ids);
      }
      absl::StatusOr<MemberCount> count = ws_->CountMembers(id);
      if (!count.ok() || count->member_count != scratch.size()) {
        return AssertionFailure()
               << "segment " << id << " CountMembers "
               << (count.ok() ? absl::StrCat(count->member_count)
                              : count.status().ToString())
               << ", brute force " << scratch.size();
      }
      absl::StatusOr<SegmentView> view = ws_->GetSegment(id);
      if (!view.ok() || view->member_count != scratch.size() ||
          view->record.display_name != s.name) {
        return AssertionFailure() << "GetSegment(" << id << ") disagrees: "
                                  << (view.ok() ? view->record.display_name
                                                : view.status().ToString());
      }
    }
    RETURN_IF_FAILED(CheckSegmentList());
    for (const auto& [id, c] : contacts_) {
      absl::StatusOr<Contact> got = ws_->GetContact(id);
      if (!got.ok())
        return AssertionFailure()
               << "GetContact(" << id << "): " << got.status();
      if (!(*got == c)) {
        return AssertionFailure()
               << "GetContact(" << id << ")\n got:  " << DescribeContact(*got)
               << "\n want: " << DescribeContact(c);
      }
    }
    for (ContactId id : deleted_) {
      if (ws_->GetContact(id).status().code() != absl::StatusCode::kNotFound) {
        return AssertionFailure()
               << "deleted contact " << id << " still readable";
      }
    }
    return AssertionSuccess();
  }

  // The as_of sequence of every segment, to see that a failed write left
  // the change log where it was.
  std::map<SegmentId, uint64_t> Sequences() const {
    std::map<SegmentId, uint64_t> out;
    for (const auto& [id, s] : segments_) {
      absl::StatusOr<MemberCount> count = ws_->CountMembers(id);
      out[id] = count.ok() ? count->as_of_sequence : ~uint64_t{0};
    }
    return out;
  }

  // Fraction of segments with 0 < members < all contacts.
  double NontrivialFraction() const {
    if (segments_.empty()) return 0;
    int n = 0;
    for (const auto& [id, s] : segments_) {
      if (!s.members.empty() && s.members.size() < contacts_.size()) ++n;
    }
    return static_cast<double>(n) / static_cast<double>(segments_.size());
  }

  // Deletes the newest contact and segment, so that a restart which derived
  // the next ids from what exists (instead of the stored counters) would
  // reuse them.
  AssertionResult DeleteNewest() {
    if (!contacts_.empty() && contacts_.rbegin()->first == max_contact_id_) {
      absl::Status s = ws_->DeleteContact(max_contact_id_);
      if (!s.ok()) return AssertionFailure() << "DeleteContact: " << s;
      Remove(max_contact_id_);
    }
    if (!segments_.empty() && segments_.rbegin()->first == max_segment_id_) {
      absl::Status s = ws_->DeleteSegment(max_segment_id_);
      if (!s.ok()) return AssertionFailure() << "DeleteSegment: " << s;
      segments_.erase(max_segment_id_);
    }
    return AssertionSuccess();
  }

 private:
  static AssertionResult ExpectUnavailable(const absl::Status& s,
                                           std::string_view call) {
    if (s.code() != absl::StatusCode::kUnavailable) {
      return AssertionFailure()
             << call << " with a failing commit: " << s << ", want UNAVAILABLE";
    }
    return AssertionSuccess();
  }

  static std::string MaskString(const std::vector<std::string>& mask) {
    std::string out = "[";
    for (const std::string& m : mask)
      absl::StrAppend(&out, out.size() > 1 ? "," : "", m);
    return out + "]";
  }

  static SegmentKind KindOf(const FilterSpec& spec) {
    for (const ConditionSpec& c : spec.conditions) {
      const RefField* f = FindReferenceField(c.field);
      if (f != nullptr && f->smart) return SegmentKind::kSmart;
    }
    return SegmentKind::kStandard;
  }

  static AssertionResult SameContact(const Contact& got, const Contact& want,
                                     const ContactDraft& draft,
                                     std::string_view what = "") {
    if (got == want) return AssertionSuccess();
    return AssertionFailure()
           << "contact differs from the reference normalization " << what
           << "\n draft: " << DescribeDraft(draft)
           << "\n got:   " << DescribeContact(got)
           << "\n want:  " << DescribeContact(want);
  }

  std::string NewSegmentName() {
    return absl::StrCat("segment ", ++segment_counter_);
  }

  const Contact& PickContact() {
    auto it = contacts_.begin();
    std::advance(it,
                 rd_.Uniform(0, static_cast<int64_t>(contacts_.size()) - 1));
    return it->second;
  }

  std::set<ContactId> Recompute(const FilterSpec& spec) const {
    std::set<ContactId> out;
    for (const auto& [id, c] : contacts_) {
      if (BruteForceMatches(spec, c, now())) out.insert(id);
    }
    return out;
  }

  void Apply(const Contact& c) {
    auto old = contacts_.find(c.id);
    if (old != contacts_.end()) by_email_.erase(old->second.email);
    contacts_[c.id] = c;
    by_email_[c.email] = c.id;
    for (auto& [id, s] : segments_) {
      if (BruteForceMatches(s.spec, c, now())) {
        s.members.insert(c.id);
      } else {
        s.members.erase(c.id);
      }
    }
  }

  void Remove(ContactId id) {
    by_email_.erase(contacts_.at(id).email);
    contacts_.erase(id);
    deleted_.push_back(id);
    for (auto& [sid, s] : segments_) s.members.erase(id);
  }

  // All members by paging; checks the paging contract on the way.
  std::pair<AssertionResult, std::vector<ContactId>> ListAll(SegmentId id,
                                                             size_t page_size,
                                                             bool full) const {
    const ContactView view = full ? ContactView::kFull : ContactView::kId;
    std::vector<ContactId> ids;
    ContactId after = 0;
    for (int pages = 0;; ++pages) {
      if (pages > 1'000'000)
        return {AssertionFailure() << "paging does not end", ids};
      absl::StatusOr<Page<Contact>> page =
          ws_->ListMembers(id, after, page_size, view);
      if (!page.ok()) {
        return {AssertionFailure()
                    << "ListMembers(" << id << ", " << after << ", "
                    << page_size << "): " << page.status(),
                ids};
      }
      if (page->items.size() > page_size) {
        return {AssertionFailure()
                    << "page of " << page->items.size() << " > " << page_size,
                ids};
      }
      for (size_t i = 0; i < page->items.size(); ++i) {
        ContactId m = page->items[i].id;
        if (m <= after || (!ids.empty() && m <= ids.back())) {
          return {AssertionFailure()
                      << "ListMembers ids not ascending after " << after,
                  ids};
        }
        ids.push_back(m);
        if (full) {
          auto c = contacts_.find(m);
          if (c == contacts_.end() || !(page->items[i] == c->second)) {
            return {AssertionFailure()
                        << "ListMembers full contact " << m << " differs",
                    ids};
          }
        }
      }
      if (!page->more) break;
      if (page->items.empty()) {
        return {AssertionFailure() << "ListMembers: more=true on an empty page",
                ids};
      }
      after = page->items.back().id;
    }
    return {AssertionSuccess(), ids};
  }

  AssertionResult CheckSegmentList() const {
    std::vector<SegmentView> all;
    SegmentId after = 0;
    for (;;) {
      const Page<SegmentView> page = ws_->ListSegments(after, 7);
      all.insert(all.end(), page.items.begin(), page.items.end());
      if (!page.more || page.items.empty()) break;
      after = page.items.back().record.id;
    }
    if (all.size() != segments_.size()) {
      return AssertionFailure() << "ListSegments has " << all.size()
                                << " segments, want " << segments_.size();
    }
    auto it = segments_.begin();
    for (const SegmentView& v : all) {
      if (v.record.id != it->first ||
          v.record.display_name != it->second.name ||
          v.member_count != it->second.members.size()) {
        return AssertionFailure()
               << "ListSegments entry " << v.record.id << " \""
               << v.record.display_name << "\" count " << v.member_count
               << ", want " << it->first << " \"" << it->second.name
               << "\" count " << it->second.members.size();
      }
      ++it;
    }
    return AssertionSuccess();
  }

  // What differs between the brute force and the engine for one segment,
  // with core's own predicate on the first contacts concerned (so an
  // evaluator bug can be told from an incremental-maintenance bug).
  std::string ExplainSegment(const ShadowSegment& s,
                             const std::vector<ContactId>& got) const {
    const std::set<ContactId> want = Recompute(s.spec);
    const std::set<ContactId> have(got.begin(), got.end());
    std::string out =
        absl::StrCat("now=", now(), " filter: ", DescribeFilter(s.spec));
    absl::StatusOr<Filter> filter = ValidateFilter(s.spec, "filter");
    int shown = 0;
    auto show = [&](ContactId id, const char* what) {
      if (++shown > 4) return;
      auto c = contacts_.find(id);
      if (c == contacts_.end()) {
        absl::StrAppend(&out, "\n", what, " contact ", id,
                        " (not in the shadow)");
        return;
      }
      absl::StrAppend(
          &out, "\n", what, ": ", DescribeContact(c->second), "\n brute force ",
          BruteForceMatches(s.spec, c->second, now()) ? "true" : "false",
          ", core FilterMatches ",
          filter.ok()
              ? (FilterMatches(*filter, c->second, now()) ? "true" : "false")
              : "invalid",
          ExplainConditions(s.spec, c->second, now()));
    };
    for (ContactId id : want) {
      if (have.count(id) == 0) show(id, "member missing from the engine");
    }
    for (ContactId id : have) {
      if (want.count(id) == 0) show(id, "engine lists a non-member");
    }
    return out;
  }

  RandomData rd_;
  const FilterShape shape_;
  FakeClock clock_;
  std::shared_ptr<MemoryStorage> storage_;
  MemoryCatalogStore catalog_;
  std::unique_ptr<Workspace> ws_;

  std::map<ContactId, Contact> contacts_;
  std::map<std::string, ContactId> by_email_;
  std::vector<ContactId> deleted_;
  std::map<SegmentId, ShadowSegment> segments_;
  ContactId max_contact_id_ = 0;  // the highest id ever assigned
  SegmentId max_segment_id_ = 0;
  int segment_counter_ = 0;
};

// Segments for workspaces: fewer conditions than the predicate test, so that
// memberships are neither always empty nor always everyone.
FilterShape SegmentShape() {
  FilterShape shape;
  shape.single_percent = 45;
  shape.many_percent = 4;
  return shape;
}

enum class Op {
  kCreateContact,
  kUpdateContact,
  kDeleteContact,
  kBatchUpsert,
  kCreateSegment,
  kUpdateSegment,
  kDeleteSegment,
  kDuplicateEmail,
  kMissing,
};
constexpr Op kWrites[] = {Op::kCreateContact, Op::kUpdateContact,
                          Op::kDeleteContact, Op::kBatchUpsert,
                          Op::kCreateSegment, Op::kUpdateSegment,
                          Op::kDeleteSegment};

AssertionResult Do(Harness& h, Op op, bool fail) {
  switch (op) {
    case Op::kCreateContact:
      return h.CreateContact(fail);
    case Op::kUpdateContact:
      return h.UpdateContact(fail);
    case Op::kDeleteContact:
      return h.DeleteContact(fail);
    case Op::kBatchUpsert:
      return h.BatchUpsert(fail, static_cast<size_t>(h.rd().Uniform(1, 40)));
    case Op::kCreateSegment:
      return h.CreateSegment(fail);
    case Op::kUpdateSegment:
      return h.UpdateSegment(fail);
    case Op::kDeleteSegment:
      return h.DeleteSegment(fail);
    case Op::kDuplicateEmail:
      return h.CreateDuplicateEmail();
    case Op::kMissing:
      return h.Missing();
  }
  return AssertionFailure() << "unknown op";
}

// A random operation, keeping 40..2000 contacts and 5..60 segments.
Op RandomOp(Harness& h) {
  const int64_t r = h.rd().Uniform(0, 99);
  Op op = r < 14   ? Op::kCreateContact
          : r < 48 ? Op::kUpdateContact
          : r < 57 ? Op::kDeleteContact
          : r < 66 ? Op::kBatchUpsert
          : r < 75 ? Op::kCreateSegment
          : r < 86 ? Op::kUpdateSegment
          : r < 92 ? Op::kDeleteSegment
          : r < 96 ? Op::kDuplicateEmail
                   : Op::kMissing;
  if (op == Op::kDeleteContact && h.contact_count() < 40)
    op = Op::kCreateContact;
  if ((op == Op::kCreateContact || op == Op::kBatchUpsert) &&
      h.contact_count() > 2000) {
    op = Op::kDeleteContact;
  }
  if (op == Op::kDeleteSegment && h.segment_count() < 5)
    op = Op::kCreateSegment;
  if (op == Op::kCreateSegment && h.segment_count() > 60)
    op = Op::kUpdateSegment;
  return op;
}

// ---------------------------------------------------------------------------
// 2. Segments built from scratch over a few thousand contacts.

TEST(DifferentialWorkspace, SegmentsBuiltFromScratchMatchBruteForce) {
  const uint64_t seed = Seed(11);
  SCOPED_TRACE(SeedTrace(seed));
  Harness h(seed, kBase, SegmentShape());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 1500));
  ASSERT_TRUE(h.BatchUpsert(false, 1200));  // about half of them updates
  for (int i = 0; i < 600; ++i)
    ASSERT_TRUE(h.CreateContact(false)) << "contact " << i;
  ASSERT_GT(h.contact_count(), 2500u);
  for (int i = 0; i < 250; ++i)
    ASSERT_TRUE(h.CreateSegment(false)) << "segment " << i;
  ASSERT_TRUE(h.CheckEverything());
  EXPECT_GT(h.NontrivialFraction(), 0.4)
      << "segments too often empty or everyone";

  // 4. Restart: the rebuilt memberships equal the brute force as well.
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.CheckEverything());
}

// Batches big enough to be diffed and applied on two threads
// (kParallelMinItems), into live segments: new contacts, then about half
// updates, then a batch whose commit fails.
TEST(DifferentialWorkspace, BigBatchesIntoLiveSegmentsMatchBruteForce) {
  const uint64_t seed = Seed(12);
  SCOPED_TRACE(SeedTrace(seed));
  Harness h(seed, kBase, SegmentShape());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 400));
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(h.CreateSegment(false)) << "segment " << i;
  ASSERT_TRUE(h.BatchUpsert(false, 2500));
  ASSERT_TRUE(h.CheckEverything()) << "after a batch of new contacts";
  ASSERT_TRUE(h.BatchUpsert(false, 3000));  // updates among them
  ASSERT_TRUE(h.CheckEverything()) << "after a batch with updates";
  const std::map<SegmentId, uint64_t> sequences = h.Sequences();
  ASSERT_TRUE(h.BatchUpsert(true, 2000));
  ASSERT_TRUE(h.CheckEverything()) << "after a failed batch";
  EXPECT_EQ(h.Sequences(), sequences);
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.CheckEverything()) << "after restart";
}

// ---------------------------------------------------------------------------
// 3 and 4. Long random mutation sequences, then restarts.

class DifferentialSequence : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DifferentialSequence, EverySegmentMatchesBruteForceAfterEveryStep) {
  const uint64_t seed = Seed(GetParam());
  SCOPED_TRACE(SeedTrace(seed));
  Harness h(seed, kBase, SegmentShape());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 300));
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(h.CreateSegment(false));

  constexpr int kSteps = 1500;
  constexpr int kFullCheckEvery = 50;
  for (int step = 0; step < kSteps; ++step) {
    const Op op = RandomOp(h);
    ASSERT_TRUE(Do(h, op, false))
        << "step " << step << " op " << static_cast<int>(op);
    ASSERT_TRUE(h.CheckCounts())
        << "after step " << step << " op " << static_cast<int>(op);
    if (step % kFullCheckEvery == kFullCheckEvery - 1) {
      ASSERT_TRUE(h.CheckEverything()) << "after step " << step;
    }
  }
  ASSERT_TRUE(h.CheckEverything());

  // Restart over the same storage; the newest contact and segment are
  // deleted first so that reused ids would show.
  ASSERT_TRUE(h.DeleteNewest());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.CheckEverything()) << "after restart";
  for (int step = 0; step < 200; ++step) {
    const Op op = RandomOp(h);
    ASSERT_TRUE(Do(h, op, false)) << "post-restart step " << step;
    ASSERT_TRUE(h.CheckCounts()) << "after post-restart step " << step;
  }
  ASSERT_TRUE(h.CheckEverything());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.CheckEverything()) << "after second restart";
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialSequence,
                         ::testing::Values(101, 202, 303));

// ---------------------------------------------------------------------------
// 5. A failed commit changes nothing: contacts, counts, memberships, the
// segment list and the change-log position are exactly as before.

TEST(DifferentialWorkspace, FailedCommitChangesNothing) {
  const uint64_t seed = Seed(21);
  SCOPED_TRACE(SeedTrace(seed));
  Harness h(seed, kBase, SegmentShape());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 250));
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(h.CreateSegment(false));
  ASSERT_TRUE(h.CheckEverything());

  for (int round = 0; round < 20; ++round) {
    for (Op op : kWrites) {
      SCOPED_TRACE(absl::StrCat("round ", round, " op ", static_cast<int>(op)));
      const std::map<SegmentId, uint64_t> sequences = h.Sequences();
      const int commits = h.storage().commit_count();
      ASSERT_TRUE(Do(h, op, /*fail=*/true));
      EXPECT_EQ(h.storage().commit_count(), commits);
      ASSERT_TRUE(h.CheckEverything()) << "after a failed write";
      EXPECT_EQ(h.Sequences(), sequences)
          << "as_of sequence moved on a failed write";
      // The same kind of write then succeeds (and the injected failure was
      // consumed by the failed one).
      ASSERT_TRUE(Do(h, op, /*fail=*/false));
      ASSERT_TRUE(h.CheckCounts());
    }
  }
  ASSERT_TRUE(h.CheckEverything());
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.CheckEverything()) << "after restart";
}

}  // namespace
}  // namespace segments::testing
