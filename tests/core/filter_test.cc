#include "core/model/filter.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/base/errors.h"
#include "core/model/field_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

RawValue S(std::string s) { return RawValue(std::move(s)); }
RawValue N(int64_t n) { return RawValue(n); }
RawValue T(UnixSeconds t) { return RawValue(TimestampValue{t}); }

ConditionSpec C(std::string field, Operator op, std::vector<RawValue> values) {
  return {std::move(field), static_cast<int>(op), std::move(values)};
}

FilterSpec Spec(std::vector<ConditionSpec> conditions, int match = 1) {
  FilterSpec spec;
  spec.match = match;
  spec.conditions = std::move(conditions);
  return spec;
}

FilterSpec One(std::string field, Operator op, std::vector<RawValue> values) {
  return Spec({C(std::move(field), op, std::move(values))});
}

std::vector<std::string> Paths(const absl::Status& status) {
  std::vector<std::string> paths;
  for (const FieldViolation& v : GetFieldViolations(status)) {
    paths.push_back(v.field);
  }
  return paths;
}

std::string Description(const absl::Status& status) {
  std::vector<FieldViolation> v = GetFieldViolations(status);
  return v.empty() ? "" : v[0].description;
}

// Asserts that `spec` is refused with exactly the given violation paths.
#define EXPECT_REFUSED_AT(spec, ...)                                          \
  do {                                                                        \
    absl::StatusOr<Filter> r_ = ValidateFilter((spec), "filter");             \
    EXPECT_THAT(r_, StatusIs(absl::StatusCode::kInvalidArgument));            \
    EXPECT_THAT(Paths(r_.status()), ElementsAre(__VA_ARGS__)) << r_.status(); \
  } while (0)

// A valid condition on `info`: its first operator with fitting values.
ConditionSpec SampleCondition(const FieldInfo& info) {
  const Operator op = info.operators[0];
  switch (info.type) {
    case FieldType::kString:
    case FieldType::kTags:
      return C(std::string(info.name), op, {S("x")});
    case FieldType::kOrderedEnum:
    case FieldType::kEnum:
      return C(std::string(info.name), op,
               {S(std::string(info.enum_values[0]))});
    case FieldType::kNumber:
      return C(std::string(info.name), op, {N(1)});
    case FieldType::kTimestamp:
      return C(std::string(info.name), op, {T(1'600'000'000)});
  }
  return {};
}

// ---------------------------------------------------------------------------
// Accepted filters and what validation makes of them.

TEST(ValidateFilter, AcceptsASampleOfEveryField) {
  for (const FieldInfo& info : AllFields()) {
    EXPECT_OK(ValidateFilter(Spec({SampleCondition(info)}), "filter"))
        << info.name;
  }
}

TEST(ValidateFilter, MatchUnspecifiedMeansAll) {
  ASSERT_OK_AND_ASSIGN(
      Filter f,
      ValidateFilter(Spec({C("country", Operator::kIsSet, {})}, 0), "filter"));
  EXPECT_EQ(f.match, Match::kAll);
  ASSERT_OK_AND_ASSIGN(
      f, ValidateFilter(Spec({C("country", Operator::kIsSet, {})}, 2), "f"));
  EXPECT_EQ(f.match, Match::kAny);
}

TEST(ValidateFilter, EqualityStringsAreTrimmedAndLowercased) {
  ASSERT_OK_AND_ASSIGN(
      Filter f,
      ValidateFilter(One("company", Operator::kEquals, {S("  ACME Corp\t")}),
                     "filter"));
  ASSERT_THAT(f.conditions, SizeIs(1));
  const Condition& c = f.conditions[0];
  EXPECT_EQ(c.field, Field::kCompany);
  EXPECT_EQ(c.op, Operator::kEquals);
  EXPECT_THAT(c.strings, ElementsAre("acme corp"));
  EXPECT_THAT(c.original, ElementsAre(S("ACME Corp")));
  EXPECT_THAT(c.numbers, IsEmpty());
}

TEST(ValidateFilter, SubstringValuesKeepTheirSpaces) {
  ASSERT_OK_AND_ASSIGN(
      Filter f,
      ValidateFilter(One("job_title", Operator::kContains, {S(" VP ")}), "f"));
  EXPECT_THAT(f.conditions[0].strings, ElementsAre(" vp "));
  EXPECT_THAT(f.conditions[0].original, ElementsAre(S(" VP ")));
}

TEST(ValidateFilter, ListValuesAreSortedAndDeduplicated) {
  ASSERT_OK_AND_ASSIGN(
      Filter f, ValidateFilter(One("country", Operator::kIn,
                                   {S("FR"), S("de"), S(" De "), S("at")}),
                               "filter"));
  EXPECT_THAT(f.conditions[0].strings, ElementsAre("at", "de", "fr"));
  EXPECT_THAT(f.conditions[0].original,
              ElementsAre(S("FR"), S("de"), S("De"), S("at")));
  ASSERT_OK_AND_ASSIGN(f, ValidateFilter(One("tags", Operator::kHasAll,
                                             {S("VIP"), S("beta"), S("vip")}),
                                         "filter"));
  EXPECT_THAT(f.conditions[0].strings, ElementsAre("beta", "vip"));
}

TEST(ValidateFilter, EnumNamesAreCaseInsensitiveAndBecomeWireValues) {
  ASSERT_OK_AND_ASSIGN(
      Filter f, ValidateFilter(One("lifecycle_stage", Operator::kIn,
                                   {S("customer"), S(" mql "), S("MQL")}),
                               "filter"));
  EXPECT_THAT(f.conditions[0].numbers, ElementsAre(3, 5));
  EXPECT_THAT(f.conditions[0].strings, IsEmpty());
  ASSERT_OK_AND_ASSIGN(
      f, ValidateFilter(One("conversion_likelihood", Operator::kGreaterOrEqual,
                            {S("Very_Likely")}),
                        "filter"));
  EXPECT_THAT(f.conditions[0].numbers, ElementsAre(4));
  ASSERT_OK_AND_ASSIGN(
      f, ValidateFilter(
             One("engagement_trend", Operator::kEquals, {S("declining")}),
             "filter"));
  EXPECT_THAT(f.conditions[0].numbers, ElementsAre(3));
}

TEST(ValidateFilter, NumbersTimestampsAndDays) {
  ASSERT_OK_AND_ASSIGN(
      Filter f,
      ValidateFilter(
          Spec({C("lead_score", Operator::kBetween, {N(-5), N(5)}),
                C("created_at", Operator::kBefore, {T(kMinTimestamp)}),
                C("last_engaged_at", Operator::kWithinLastDays, {N(kMaxDays)}),
                C("created_at", Operator::kMoreThanDaysAgo, {N(kMinDays)}),
                C("lead_score", Operator::kEquals, {N(INT32_MIN)}),
                C("lead_score", Operator::kEquals, {N(INT32_MAX)}),
                C("created_at", Operator::kAfter, {T(kMaxTimestamp)})}),
          "filter"));
  EXPECT_THAT(f.conditions[0].numbers, ElementsAre(-5, 5));
  EXPECT_THAT(f.conditions[1].numbers, ElementsAre(kMinTimestamp));
  EXPECT_THAT(f.conditions[2].numbers, ElementsAre(kMaxDays));
  EXPECT_THAT(f.conditions[3].numbers, ElementsAre(kMinDays));
}

TEST(ValidateFilter, BetweenAcceptsEqualBounds) {
  EXPECT_OK(ValidateFilter(
      One("engagement_score", Operator::kBetween, {N(5), N(5)}), "filter"));
  EXPECT_OK(ValidateFilter(
      One("created_at", Operator::kBetween, {T(100), T(100)}), "filter"));
}

TEST(ValidateFilter, ExactlyTheLimitsAreAccepted) {
  std::vector<RawValue> values;
  for (int i = 0; i < 500; ++i) values.push_back(S("v" + std::to_string(i)));
  EXPECT_OK(ValidateFilter(One("city", Operator::kNotIn, values), "filter"));
  std::vector<ConditionSpec> conditions(50, C("city", Operator::kIsSet, {}));
  EXPECT_OK(ValidateFilter(Spec(conditions), "filter"));
  EXPECT_OK(ValidateFilter(
      One("city", Operator::kEquals, {S(std::string(256, 'a'))}), "filter"));
  EXPECT_OK(ValidateFilter(
      One("tags", Operator::kHasAny, {S(std::string(64, 't'))}), "filter"));
}

TEST(ValidateFilter, ToSpecRoundTrips) {
  const FilterSpec spec =
      Spec({C("email", Operator::kEndsWith, {S("@Acme.com")}),
            C("tags", Operator::kHasNone, {S(" X "), S("y")}),
            C("lifecycle_stage", Operator::kNotIn, {S("lead")}),
            C("created_at", Operator::kBetween, {T(1), T(2)}),
            C("last_engaged_at", Operator::kIsNotSet, {})},
           2);
  ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "filter"));
  const FilterSpec back = ToSpec(f);
  EXPECT_EQ(back.match, 2);
  ASSERT_THAT(back.conditions, SizeIs(5));
  EXPECT_EQ(back.conditions[1].field, "tags");
  EXPECT_EQ(back.conditions[1].op, static_cast<int>(Operator::kHasNone));
  EXPECT_THAT(back.conditions[1].values, ElementsAre(S("X"), S("y")));
  ASSERT_OK_AND_ASSIGN(Filter again, ValidateFilter(back, "filter"));
  EXPECT_EQ(again, f);
}

// ---------------------------------------------------------------------------
// One test per validation rule of rules-semantics.md.

TEST(ValidateFilter, UnknownMatchIsRefusedAtMatch) {
  EXPECT_REFUSED_AT(Spec({C("city", Operator::kIsSet, {})}, 3), "filter.match");
  EXPECT_REFUSED_AT(Spec({C("city", Operator::kIsSet, {})}, -1),
                    "filter.match");
}

TEST(ValidateFilter, ZeroConditionsAreRefused) {
  EXPECT_REFUSED_AT(Spec({}), "filter.conditions");
  absl::StatusOr<Filter> r = ValidateFilter(Spec({}), "filter");
  EXPECT_EQ(Description(r.status()), "must have at least one condition");
}

TEST(ValidateFilter, TooManyConditionsAreRefusedNamingTheLimit) {
  std::vector<ConditionSpec> conditions(51, C("city", Operator::kIsSet, {}));
  absl::StatusOr<Filter> r = ValidateFilter(Spec(conditions), "filter");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Paths(r.status()), ElementsAre("filter.conditions"));
  EXPECT_THAT(Description(r.status()), HasSubstr("at most 50 conditions"));
  // The configured limit is honoured.
  Limits one_condition;
  one_condition.max_conditions = 1;
  r = ValidateFilter(
      Spec({C("city", Operator::kIsSet, {}), C("city", Operator::kIsSet, {})}),
      "filter", one_condition);
  EXPECT_THAT(Paths(r.status()), ElementsAre("filter.conditions"));
  EXPECT_THAT(Description(r.status()), HasSubstr("at most 1 conditions"));
}

TEST(ValidateFilter, UnknownFieldIsRefusedAtField) {
  EXPECT_REFUSED_AT(One("favourite_color", Operator::kEquals, {S("x")}),
                    "filter.conditions[0].field");
  EXPECT_REFUSED_AT(One("", Operator::kEquals, {S("x")}),
                    "filter.conditions[0].field");
  // Field names are exact (case-sensitive), like proto field names.
  EXPECT_REFUSED_AT(One("Country", Operator::kEquals, {S("x")}),
                    "filter.conditions[0].field");
  // "id" is not a rule field.
  EXPECT_REFUSED_AT(One("id", Operator::kEquals, {N(1)}),
                    "filter.conditions[0].field");
}

TEST(ValidateFilter, MissingOrUnknownOperatorIsRefusedAtOperator) {
  for (int op : {0, -1, 23, 1000}) {
    FilterSpec spec;
    spec.conditions.push_back({"country", op, {S("x")}});
    EXPECT_REFUSED_AT(spec, "filter.conditions[0].operator");
  }
}

TEST(ValidateFilter, UnknownFieldAndOperatorAreBothReported) {
  FilterSpec spec;
  spec.conditions.push_back({"nope", 99, {S("x")}});
  EXPECT_REFUSED_AT(spec, "filter.conditions[0].field",
                    "filter.conditions[0].operator");
}

TEST(ValidateFilter, EveryPairOutsideTheCatalogIsRefusedAtOperator) {
  int refused = 0;
  for (const FieldInfo& info : AllFields()) {
    for (int op = 1; op <= kMaxOperator; ++op) {
      if (OperatorApplies(info, static_cast<Operator>(op))) continue;
      ConditionSpec c = SampleCondition(info);
      c.op = op;
      absl::StatusOr<Filter> r = ValidateFilter(Spec({c}), "filter");
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument))
          << info.name << " " << OperatorName(static_cast<Operator>(op));
      EXPECT_THAT(Paths(r.status()),
                  ElementsAre("filter.conditions[0].operator"))
          << info.name << " " << OperatorName(static_cast<Operator>(op));
      // The description says which operators do apply.
      EXPECT_THAT(
          Description(r.status()),
          AllOf(HasSubstr("does not apply"),
                HasSubstr(std::string(OperatorName(info.operators[0])))));
      ++refused;
    }
  }
  // 14 fields x 24 operators (the two references take no field), minus the
  // 113 pairs of the catalog.
  EXPECT_EQ(refused, 14 * 24 - 113);
}

TEST(ValidateFilter, SpecificInapplicablePairs) {
  EXPECT_REFUSED_AT(One("email", Operator::kIsSet, {}),
                    "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(One("lifecycle_stage", Operator::kIsNotSet, {}),
                    "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(
      One("engagement_trend", Operator::kGreaterThan, {S("RISING")}),
      "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(One("lead_score", Operator::kIn, {N(1)}),
                    "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(One("tags", Operator::kEquals, {S("vip")}),
                    "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(One("created_at", Operator::kIsSet, {}),
                    "filter.conditions[0].operator");
  EXPECT_REFUSED_AT(One("country", Operator::kBetween, {S("a"), S("b")}),
                    "filter.conditions[0].operator");
}

TEST(ValidateFilter, IsSetTakesNoValues) {
  EXPECT_REFUSED_AT(One("city", Operator::kIsSet, {S("x")}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("tags", Operator::kIsNotSet, {S("x")}),
                    "filter.conditions[0].values");
}

TEST(ValidateFilter, BetweenTakesExactlyTwoValues) {
  EXPECT_REFUSED_AT(One("lead_score", Operator::kBetween, {N(1)}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("lead_score", Operator::kBetween, {N(1), N(2), N(3)}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("created_at", Operator::kBetween, {}),
                    "filter.conditions[0].values");
}

TEST(ValidateFilter, BetweenLowAboveHighIsRefusedAtValues) {
  EXPECT_REFUSED_AT(One("lead_score", Operator::kBetween, {N(5), N(4)}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("engagement_score", Operator::kBetween, {N(90), N(10)}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(
      One("last_engaged_at", Operator::kBetween, {T(200), T(199)}),
      "filter.conditions[0].values");
}

TEST(ValidateFilter, EmptyListsAreRefused) {
  for (auto [field, op] : std::vector<std::pair<std::string, Operator>>{
           {"country", Operator::kIn},
           {"country", Operator::kNotIn},
           {"lifecycle_stage", Operator::kIn},
           {"engagement_trend", Operator::kNotIn},
           {"tags", Operator::kHasAny},
           {"tags", Operator::kHasAll},
           {"tags", Operator::kHasNone}}) {
    absl::StatusOr<Filter> r = ValidateFilter(One(field, op, {}), "filter");
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(Paths(r.status()), ElementsAre("filter.conditions[0].values"));
    EXPECT_EQ(Description(r.status()), "must not be empty");
  }
}

TEST(ValidateFilter, ListsOverFiveHundredAreRefusedNamingTheLimit) {
  std::vector<RawValue> values;
  for (int i = 0; i < 501; ++i) values.push_back(S("t" + std::to_string(i)));
  for (Operator op :
       {Operator::kHasAny, Operator::kHasAll, Operator::kHasNone}) {
    absl::StatusOr<Filter> r = ValidateFilter(One("tags", op, values), "f");
    EXPECT_THAT(Paths(r.status()), ElementsAre("f.conditions[0].values"));
    EXPECT_THAT(Description(r.status()), HasSubstr("at most 500 values"));
  }
  absl::StatusOr<Filter> r =
      ValidateFilter(One("source", Operator::kIn, values), "f");
  EXPECT_THAT(Paths(r.status()), ElementsAre("f.conditions[0].values"));
}

TEST(ValidateFilter, SingleValueOperatorsTakeExactlyOne) {
  EXPECT_REFUSED_AT(One("city", Operator::kEquals, {}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("city", Operator::kContains, {S("a"), S("b")}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("lead_score", Operator::kGreaterThan, {N(1), N(2)}),
                    "filter.conditions[0].values");
  EXPECT_REFUSED_AT(One("created_at", Operator::kWithinLastDays, {}),
                    "filter.conditions[0].values");
}

TEST(ValidateFilter, UnknownEnumNameIsRefusedAtTheValue) {
  EXPECT_REFUSED_AT(
      One("lifecycle_stage", Operator::kIn, {S("LEAD"), S("PROSPECT")}),
      "filter.conditions[0].values[1]");
  EXPECT_REFUSED_AT(One("engagement_trend", Operator::kEquals, {S("UP")}),
                    "filter.conditions[0].values[0]");
  // The unspecified names are not values.
  EXPECT_REFUSED_AT(One("conversion_likelihood", Operator::kEquals,
                        {S("CONVERSION_LIKELIHOOD_UNSPECIFIED")}),
                    "filter.conditions[0].values[0]");
  absl::StatusOr<Filter> r = ValidateFilter(
      One("lifecycle_stage", Operator::kEquals, {S("nope")}), "filter");
  EXPECT_THAT(Description(r.status()),
              HasSubstr("SUBSCRIBER, LEAD, MQL, SQL, CUSTOMER"));
}

TEST(ValidateFilter, NumbersMustFitInt32) {
  EXPECT_REFUSED_AT(
      One("lead_score", Operator::kEquals, {N(int64_t{INT32_MAX} + 1)}),
      "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(
      One("lead_score", Operator::kBetween, {N(int64_t{INT32_MIN} - 1), N(0)}),
      "filter.conditions[0].values[0]");
}

TEST(ValidateFilter, WrongValueKindIsRefusedAtTheValue) {
  EXPECT_REFUSED_AT(One("lead_score", Operator::kEquals, {S("5")}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("country", Operator::kEquals, {N(5)}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("tags", Operator::kHasAny, {S("a"), T(5)}),
                    "filter.conditions[0].values[1]");
  EXPECT_REFUSED_AT(One("lifecycle_stage", Operator::kEquals, {N(3)}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("created_at", Operator::kBefore, {N(5)}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("created_at", Operator::kWithinLastDays, {T(5)}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("engagement_score", Operator::kBetween, {N(1), T(5)}),
                    "filter.conditions[0].values[1]");
  // An empty oneof.
  EXPECT_REFUSED_AT(One("city", Operator::kEquals, {RawValue(NoValue{})}),
                    "filter.conditions[0].values[0]");
}

TEST(ValidateFilter, TimestampsAreRangeChecked) {
  EXPECT_REFUSED_AT(
      One("created_at", Operator::kBefore, {T(kMaxTimestamp + 1)}),
      "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(
      One("last_engaged_at", Operator::kBetween, {T(kMinTimestamp - 1), T(0)}),
      "filter.conditions[0].values[0]");
}

TEST(ValidateFilter, DayCountsMustBeOneTo3650) {
  for (int64_t days : {int64_t{0}, int64_t{-1}, int64_t{3651}}) {
    EXPECT_REFUSED_AT(One("created_at", Operator::kWithinLastDays, {N(days)}),
                      "filter.conditions[0].values[0]");
    EXPECT_REFUSED_AT(
        One("last_engaged_at", Operator::kMoreThanDaysAgo, {N(days)}),
        "filter.conditions[0].values[0]");
  }
}

TEST(ValidateFilter, InvalidUtf8IsRefusedAtTheValue) {
  EXPECT_REFUSED_AT(One("city", Operator::kEquals, {S("Mu\xC3")}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("tags", Operator::kHasAny, {S("ok"), S("\xFF")}),
                    "filter.conditions[0].values[1]");
  EXPECT_REFUSED_AT(One("lifecycle_stage", Operator::kEquals, {S("\xC0\xAF")}),
                    "filter.conditions[0].values[0]");
  absl::StatusOr<Filter> r = ValidateFilter(
      One("city", Operator::kContains, {S("\xED\xA0\x80")}), "f");
  EXPECT_EQ(Description(r.status()), "must be valid UTF-8");
}

TEST(ValidateFilter, EmptyStringsAreRefused) {
  EXPECT_REFUSED_AT(One("city", Operator::kEquals, {S("")}),
                    "filter.conditions[0].values[0]");
  // Equality values are trimmed first.
  EXPECT_REFUSED_AT(One("city", Operator::kNotEquals, {S("  \t")}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("tags", Operator::kHasAll, {S("a"), S(" ")}),
                    "filter.conditions[0].values[1]");
  EXPECT_REFUSED_AT(One("city", Operator::kStartsWith, {S("")}),
                    "filter.conditions[0].values[0]");
  // Substring values are kept as sent, so a space is a real value.
  EXPECT_OK(ValidateFilter(One("city", Operator::kContains, {S(" ")}), "f"));
}

TEST(ValidateFilter, OverlongStringsAreRefused) {
  EXPECT_REFUSED_AT(
      One("company", Operator::kEquals, {S(std::string(257, 'a'))}),
      "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(One("tags", Operator::kHasAny, {S(std::string(65, 'a'))}),
                    "filter.conditions[0].values[0]");
  EXPECT_REFUSED_AT(
      One("source", Operator::kContains, {S(std::string(257, ' '))}),
      "filter.conditions[0].values[0]");
  // Trimming comes before the length check for equality values.
  EXPECT_OK(ValidateFilter(One("company", Operator::kEquals,
                               {S("  " + std::string(256, 'a') + " ")}),
                           "filter"));
}

TEST(ValidateFilter, ReportsEveryViolationAtOnce) {
  FilterSpec spec = Spec(
      {C("country", Operator::kIn, {}),                        // 0: empty list
       C("color", Operator::kEquals, {S("red")}),              // 1: field
       C("lead_score", Operator::kBetween, {N(9), N(1)}),      // 2: low > high
       C("tags", Operator::kHasAny, {S("ok"), N(1), S("")}),   // 3: two values
       C("lifecycle_stage", Operator::kContains, {S("MQL")}),  // 4: operator
       C("created_at", Operator::kWithinLastDays, {N(0)}),     // 5: days
       C("city", Operator::kIsSet, {})},                       // 6: fine
      7);
  absl::StatusOr<Filter> r = ValidateFilter(spec, "segment.filter");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      Paths(r.status()),
      ElementsAre("segment.filter.match", "segment.filter.conditions[0].values",
                  "segment.filter.conditions[1].field",
                  "segment.filter.conditions[2].values",
                  "segment.filter.conditions[3].values[1]",
                  "segment.filter.conditions[3].values[2]",
                  "segment.filter.conditions[4].operator",
                  "segment.filter.conditions[5].values[0]"));
  EXPECT_THAT(
      std::string(r.status().message()),
      AllOf(HasSubstr("segment.filter.match"), HasSubstr("(and 7 more)")));
}

TEST(ValidateFilter, EmptyPathGivesRelativePaths) {
  absl::StatusOr<Filter> r =
      ValidateFilter(One("city", Operator::kEquals, {}), "");
  EXPECT_THAT(Paths(r.status()), ElementsAre("conditions[0].values"));
}

// ---------------------------------------------------------------------------
// Kinds and plans.

Filter Valid(const FilterSpec& spec) {
  absl::StatusOr<Filter> f = ValidateFilter(spec, "filter");
  EXPECT_OK(f);
  return f.ok() ? *f : Filter();
}

TEST(Plans, EverySmartFieldNeedsGrowth) {
  int smart = 0;
  for (const FieldInfo& info : AllFields()) {
    if (info.family != RuleFamily::kSmart) continue;
    ++smart;
    SCOPED_TRACE(info.name);
    const Filter f = Valid(Spec({SampleCondition(info)}));
    EXPECT_EQ(KindOf(f), SegmentKind::kSmart);
    EXPECT_EQ(RequiredPlan(f), Plan::kGrowth);
    for (Plan plan : {Plan::kUnspecified, Plan::kFree, Plan::kStarter}) {
      absl::Status s = CheckPlanAllows(f, plan);
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
      ErrorInfo info_out = GetErrorInfo(s);
      EXPECT_EQ(info_out.reason, "PLAN_UPGRADE_REQUIRED");
      EXPECT_EQ(info_out.metadata["required_plan"], "GROWTH");
      EXPECT_EQ(info_out.metadata["field"], std::string(info.name));
    }
    EXPECT_OK(CheckPlanAllows(f, Plan::kGrowth));
    EXPECT_OK(CheckPlanAllows(f, Plan::kPro));
  }
  EXPECT_EQ(smart, 4);
}

TEST(Plans, EveryStandardFieldNeedsStarter) {
  int standard = 0;
  for (const FieldInfo& info : AllFields()) {
    if (info.family != RuleFamily::kStandard) continue;
    ++standard;
    SCOPED_TRACE(info.name);
    const Filter f = Valid(Spec({SampleCondition(info)}));
    EXPECT_EQ(KindOf(f), SegmentKind::kStandard);
    EXPECT_EQ(RequiredPlan(f), Plan::kStarter);
    absl::Status s = CheckPlanAllows(f, Plan::kFree);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
    ErrorInfo info_out = GetErrorInfo(s);
    EXPECT_EQ(info_out.reason, "PLAN_UPGRADE_REQUIRED");
    EXPECT_EQ(info_out.metadata["required_plan"], "STARTER");
    EXPECT_EQ(info_out.metadata["field"], std::string(info.name));
    for (Plan plan : {Plan::kStarter, Plan::kGrowth, Plan::kPro}) {
      EXPECT_OK(CheckPlanAllows(f, plan));
    }
  }
  EXPECT_EQ(standard, 10);
}

TEST(Plans, MixedFilterNamesTheUpgradeThatSuffices) {
  const Filter f =
      Valid(Spec({C("country", Operator::kEquals, {S("de")}),
                  C("engagement_score", Operator::kGreaterThan, {N(50)}),
                  C("lead_score", Operator::kGreaterThan, {N(50)})}));
  EXPECT_EQ(KindOf(f), SegmentKind::kSmart);
  EXPECT_EQ(RequiredPlan(f), Plan::kGrowth);
  for (Plan plan : {Plan::kFree, Plan::kStarter}) {
    absl::Status s = CheckPlanAllows(f, plan);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied,
                            HasSubstr("engagement_score")));
    ErrorInfo info = GetErrorInfo(s);
    EXPECT_EQ(info.reason, "PLAN_UPGRADE_REQUIRED");
    EXPECT_EQ(info.metadata,
              (std::map<std::string, std::string>{
                  {"required_plan", "GROWTH"}, {"field", "engagement_score"}}));
  }
}

TEST(Plans, FieldsReadAndRelativeDates) {
  const Filter f = Valid(Spec({C("country", Operator::kEquals, {S("de")}),
                               C("tags", Operator::kHasAny, {S("x")}),
                               C("country", Operator::kIsSet, {})}));
  EXPECT_EQ(FieldsRead(f),
            FieldBit(ContactField::kCountry) | FieldBit(ContactField::kTags));
  EXPECT_FALSE(HasRelativeDateRule(f));
  EXPECT_FALSE(HasRelativeDateRule(
      Valid(One("created_at", Operator::kBefore, {T(100)}))));
  EXPECT_TRUE(HasRelativeDateRule(
      Valid(One("created_at", Operator::kWithinLastDays, {N(3)}))));
  EXPECT_TRUE(HasRelativeDateRule(
      Valid(One("last_engaged_at", Operator::kMoreThanDaysAgo, {N(3)}))));
}

TEST(FilterEquality, ComparesEveryMember) {
  const Filter a = Valid(One("city", Operator::kEquals, {S("Berlin")}));
  Filter b = Valid(One("city", Operator::kEquals, {S("berlin")}));
  EXPECT_FALSE(a == b);  // the originals differ
  b = a;
  EXPECT_TRUE(a == b);
  b.match = Match::kAny;
  EXPECT_FALSE(a == b);
  b = a;
  b.conditions[0].op = Operator::kNotEquals;
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace segments
