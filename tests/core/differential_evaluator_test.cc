// Differential tests of the rule evaluator against the independent
// brute-force evaluator in tests/testing/brute_force.h (in the style of
// CRoaring's tests/roaring_checked.hh): the rule catalog against
// rules-semantics.md, then random valid filters over random contacts at the
// predicate level, including relative date rules at their day boundaries.
// The workspace-level checks are in differential_workspace_test.cc.
//
// Seeds are fixed and printed with every failure; SEGMENTS_DIFF_SEED=<n>
// shifts all of them to explore other sequences.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "core/index/evaluator.h"
#include "core/model/contact.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

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

}  // namespace
}  // namespace segments::testing
