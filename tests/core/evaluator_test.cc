#include "core/index/evaluator.h"

#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

constexpr UnixSeconds kNow = 1'700'000'000;
constexpr int64_t kDay = 86400;

RawValue S(std::string s) { return RawValue(std::move(s)); }
RawValue N(int64_t n) { return RawValue(n); }
RawValue T(UnixSeconds t) { return RawValue(TimestampValue{t}); }

// A validated condition; fails the test (and returns an IS_SET placeholder)
// when the spec is refused.
Condition Make(std::string_view field, Operator op,
               std::vector<RawValue> values) {
  FilterSpec spec;
  spec.conditions.push_back(
      {std::string(field), static_cast<int>(op), std::move(values)});
  absl::StatusOr<Filter> f = ValidateFilter(spec, "filter");
  if (!f.ok()) {
    ADD_FAILURE() << "refused " << field << " " << OperatorName(op) << ": "
                  << f.status();
    return Condition{Field::kTags, Operator::kIsSet, {}, {}, {}};
  }
  return f->conditions[0];
}

bool IsNegative(Operator op) {
  return op == Operator::kNotEquals || op == Operator::kNotIn ||
         op == Operator::kNotContains || op == Operator::kHasNone ||
         op == Operator::kIsNotSet;
}

// A contact with every field set to something no row below expects.
Contact Base() {
  Contact c;
  c.id = 7;
  c.email = "base@base.test";
  c.company = "Base Co";
  c.job_title = "Base Title";
  c.country = "Base Country";
  c.city = "Base City";
  c.source = "Base Source";
  c.tags = {"base"};
  c.lifecycle_stage = LifecycleStage::kSubscriber;
  c.lead_score = 0;
  c.engagement_score = 0;
  c.engagement_trend = EngagementTrend::kStable;
  c.conversion_likelihood = ConversionLikelihood::kPossible;
  c.created_at = kNow - 1000 * kDay;
  c.last_engaged_at = kNow - 1000 * kDay;
  return c;
}

// Makes `field` unset (only for fields that can be).
void Unset(Field field, Contact* c) {
  switch (field) {
    case Field::kCompany:
      c->company.clear();
      break;
    case Field::kJobTitle:
      c->job_title.clear();
      break;
    case Field::kCountry:
      c->country.clear();
      break;
    case Field::kCity:
      c->city.clear();
      break;
    case Field::kSource:
      c->source.clear();
      break;
    case Field::kTags:
      c->tags.clear();
      break;
    case Field::kEngagementTrend:
      c->engagement_trend = EngagementTrend::kUnset;
      break;
    case Field::kConversionLikelihood:
      c->conversion_likelihood = ConversionLikelihood::kUnset;
      break;
    case Field::kLastEngagedAt:
      c->last_engaged_at.reset();
      break;
    default:
      ADD_FAILURE() << "field " << ContactFieldName(field)
                    << " cannot be unset";
  }
}

using Setter = std::function<void(Contact*)>;

// One (field, operator) pair: a contact that matches, one that does not, and
// (where a string is involved) a mixed-case variant with its expected result.
// The unset case is derived: for optional fields, negatives match unset and
// every other operator does not.
struct Row {
  Field field;
  Operator op;
  std::vector<RawValue> values;
  Setter match;
  Setter miss;
  std::optional<std::vector<RawValue>> mixed_values;
  Setter mixed_contact;
  bool mixed_expect = false;
};

std::string* StringMember(Field f, Contact* c) {
  switch (f) {
    case Field::kEmail:
      return &c->email;
    case Field::kCompany:
      return &c->company;
    case Field::kJobTitle:
      return &c->job_title;
    case Field::kCountry:
      return &c->country;
    case Field::kCity:
      return &c->city;
    case Field::kSource:
      return &c->source;
    default:
      return nullptr;
  }
}

Setter SetString(Field f, std::string v) {
  return [f, v](Contact* c) { *StringMember(f, c) = v; };
}

void AddStringRows(Field f, std::vector<Row>* rows) {
  // Emails are stored lowercase; other strings keep their case.
  const bool email = f == Field::kEmail;
  const std::string x = email ? "ann.lee@acme.com" : "Acme Corp";
  const std::string x_mixed = email ? "ann.lee@acme.com" : "aCME cORP";
  const std::string y = email ? "bob@other.org" : "Globex Inc";
  const std::string x_upper = email ? "ANN.Lee@ACME.Com" : "ACME CORP";
  const std::string sub = email ? "LEE@AC" : "me Co";
  const std::string prefix = email ? "Ann." : "acme";
  const std::string suffix = email ? "@Acme.COM" : "CORP";
  const std::string z = email ? "zed@acme.com" : "Initech";
  using O = Operator;
  auto add = [&](O op, std::vector<RawValue> values, std::string match_v,
                 std::string miss_v, std::vector<RawValue> mixed,
                 bool mixed_expect) {
    rows->push_back({f, op, std::move(values), SetString(f, match_v),
                     SetString(f, miss_v), std::move(mixed),
                     SetString(f, x_mixed), mixed_expect});
  };
  add(O::kEquals, {S(x)}, x, y, {S(x_upper)}, true);
  add(O::kNotEquals, {S(x)}, y, x, {S(x_upper)}, false);
  add(O::kIn, {S(z), S(x)}, x, y, {S(x_upper), S(z)}, true);
  add(O::kNotIn, {S(z), S(x)}, y, x, {S(x_upper), S(z)}, false);
  add(O::kContains, {S(sub)}, x, y, {S(sub)}, true);
  add(O::kNotContains, {S(sub)}, y, x, {S(sub)}, false);
  add(O::kStartsWith, {S(prefix)}, x, y, {S(prefix)}, true);
  add(O::kEndsWith, {S(suffix)}, x, y, {S(suffix)}, true);
  if (!email) {
    // The "miss" of IS_SET and the "match" of IS_NOT_SET are the unset value.
    add(O::kIsSet, {}, x, "", {}, true);
    add(O::kIsNotSet, {}, "", x, {}, false);
  }
}

Setter SetTags(std::vector<std::string> tags) {
  return [tags](Contact* c) { c->tags = tags; };
}

void AddTagRows(std::vector<Row>* rows) {
  using O = Operator;
  const Field f = Field::kTags;
  rows->push_back({f,
                   O::kHasAny,
                   {S("vip"), S("beta")},
                   SetTags({"alpha", "vip"}),
                   SetTags({"alpha"}),
                   std::vector<RawValue>{S("VIP"), S("Gamma")},
                   SetTags({"vip"}),
                   true});
  rows->push_back({f,
                   O::kHasAll,
                   {S("vip"), S("beta")},
                   SetTags({"beta", "news", "vip"}),
                   SetTags({"vip"}),
                   std::vector<RawValue>{S("Vip"), S("BETA")},
                   SetTags({"beta", "vip"}),
                   true});
  rows->push_back({f,
                   O::kHasNone,
                   {S("vip"), S("beta")},
                   SetTags({"alpha"}),
                   SetTags({"alpha", "vip"}),
                   std::vector<RawValue>{S("VIP")},
                   SetTags({"vip"}),
                   false});
  rows->push_back({f,
                   O::kIsSet,
                   {},
                   SetTags({"a"}),
                   SetTags({}),
                   std::nullopt,
                   nullptr,
                   false});
  rows->push_back({f,
                   O::kIsNotSet,
                   {},
                   SetTags({}),
                   SetTags({"a"}),
                   std::nullopt,
                   nullptr,
                   false});
}

Setter SetStage(LifecycleStage s) {
  return [s](Contact* c) { c->lifecycle_stage = s; };
}
Setter SetLikelihood(ConversionLikelihood l) {
  return [l](Contact* c) { c->conversion_likelihood = l; };
}
Setter SetTrend(EngagementTrend t) {
  return [t](Contact* c) { c->engagement_trend = t; };
}

void AddEnumRows(std::vector<Row>* rows) {
  using O = Operator;
  using L = LifecycleStage;
  const Field ls = Field::kLifecycleStage;
  rows->push_back({ls,
                   O::kEquals,
                   {S("MQL")},
                   SetStage(L::kMql),
                   SetStage(L::kSql),
                   std::vector<RawValue>{S("mQl")},
                   SetStage(L::kMql),
                   true});
  rows->push_back({ls,
                   O::kNotEquals,
                   {S("MQL")},
                   SetStage(L::kSql),
                   SetStage(L::kMql),
                   std::vector<RawValue>{S("mql")},
                   SetStage(L::kMql),
                   false});
  rows->push_back({ls,
                   O::kIn,
                   {S("LEAD"), S("SQL")},
                   SetStage(L::kSql),
                   SetStage(L::kMql),
                   std::vector<RawValue>{S("lead"), S("Sql")},
                   SetStage(L::kLead),
                   true});
  rows->push_back({ls,
                   O::kNotIn,
                   {S("LEAD"), S("SQL")},
                   SetStage(L::kMql),
                   SetStage(L::kSql),
                   std::vector<RawValue>{S("lead"), S("sQL")},
                   SetStage(L::kLead),
                   false});
  rows->push_back({ls,
                   O::kGreaterThan,
                   {S("MQL")},
                   SetStage(L::kSql),
                   SetStage(L::kMql),
                   std::vector<RawValue>{S("mql")},
                   SetStage(L::kCustomer),
                   true});
  rows->push_back({ls,
                   O::kGreaterOrEqual,
                   {S("MQL")},
                   SetStage(L::kMql),
                   SetStage(L::kLead),
                   std::vector<RawValue>{S("Mql")},
                   SetStage(L::kMql),
                   true});
  rows->push_back({ls,
                   O::kLessThan,
                   {S("MQL")},
                   SetStage(L::kLead),
                   SetStage(L::kMql),
                   std::vector<RawValue>{S("mQL")},
                   SetStage(L::kSubscriber),
                   true});
  rows->push_back({ls,
                   O::kLessOrEqual,
                   {S("MQL")},
                   SetStage(L::kMql),
                   SetStage(L::kSql),
                   std::vector<RawValue>{S("mqL")},
                   SetStage(L::kSql),
                   false});

  using C = ConversionLikelihood;
  const Field cl = Field::kConversionLikelihood;
  rows->push_back({cl,
                   O::kEquals,
                   {S("LIKELY")},
                   SetLikelihood(C::kLikely),
                   SetLikelihood(C::kVeryLikely),
                   std::vector<RawValue>{S("Likely")},
                   SetLikelihood(C::kLikely),
                   true});
  rows->push_back({cl,
                   O::kNotEquals,
                   {S("LIKELY")},
                   SetLikelihood(C::kLow),
                   SetLikelihood(C::kLikely),
                   std::vector<RawValue>{S("likely")},
                   SetLikelihood(C::kLikely),
                   false});
  rows->push_back({cl,
                   O::kIn,
                   {S("LOW"), S("VERY_LIKELY")},
                   SetLikelihood(C::kVeryLikely),
                   SetLikelihood(C::kLikely),
                   std::vector<RawValue>{S("very_likely")},
                   SetLikelihood(C::kVeryLikely),
                   true});
  rows->push_back({cl,
                   O::kNotIn,
                   {S("LOW"), S("VERY_LIKELY")},
                   SetLikelihood(C::kPossible),
                   SetLikelihood(C::kLow),
                   std::vector<RawValue>{S("Low")},
                   SetLikelihood(C::kLow),
                   false});
  rows->push_back({cl,
                   O::kGreaterThan,
                   {S("POSSIBLE")},
                   SetLikelihood(C::kLikely),
                   SetLikelihood(C::kPossible),
                   std::vector<RawValue>{S("possible")},
                   SetLikelihood(C::kVeryLikely),
                   true});
  rows->push_back({cl,
                   O::kGreaterOrEqual,
                   {S("POSSIBLE")},
                   SetLikelihood(C::kPossible),
                   SetLikelihood(C::kLow),
                   std::vector<RawValue>{S("PoSsIbLe")},
                   SetLikelihood(C::kPossible),
                   true});
  rows->push_back({cl,
                   O::kLessThan,
                   {S("POSSIBLE")},
                   SetLikelihood(C::kLow),
                   SetLikelihood(C::kPossible),
                   std::vector<RawValue>{S("possible")},
                   SetLikelihood(C::kLikely),
                   false});
  rows->push_back({cl,
                   O::kLessOrEqual,
                   {S("POSSIBLE")},
                   SetLikelihood(C::kPossible),
                   SetLikelihood(C::kLikely),
                   std::vector<RawValue>{S("Possible")},
                   SetLikelihood(C::kLow),
                   true});
  rows->push_back({cl,
                   O::kIsSet,
                   {},
                   SetLikelihood(C::kLow),
                   SetLikelihood(C::kUnset),
                   std::nullopt,
                   nullptr,
                   false});
  rows->push_back({cl,
                   O::kIsNotSet,
                   {},
                   SetLikelihood(C::kUnset),
                   SetLikelihood(C::kLow),
                   std::nullopt,
                   nullptr,
                   false});

  using E = EngagementTrend;
  const Field et = Field::kEngagementTrend;
  rows->push_back({et,
                   O::kEquals,
                   {S("RISING")},
                   SetTrend(E::kRising),
                   SetTrend(E::kStable),
                   std::vector<RawValue>{S("rIsInG")},
                   SetTrend(E::kRising),
                   true});
  rows->push_back({et,
                   O::kNotEquals,
                   {S("RISING")},
                   SetTrend(E::kDeclining),
                   SetTrend(E::kRising),
                   std::vector<RawValue>{S("Rising")},
                   SetTrend(E::kRising),
                   false});
  rows->push_back({et,
                   O::kIn,
                   {S("RISING"), S("STABLE")},
                   SetTrend(E::kStable),
                   SetTrend(E::kDeclining),
                   std::vector<RawValue>{S("stable")},
                   SetTrend(E::kStable),
                   true});
  rows->push_back({et,
                   O::kNotIn,
                   {S("RISING"), S("STABLE")},
                   SetTrend(E::kDeclining),
                   SetTrend(E::kRising),
                   std::vector<RawValue>{S("Declining")},
                   SetTrend(E::kDeclining),
                   false});
  rows->push_back({et,
                   O::kIsSet,
                   {},
                   SetTrend(E::kDeclining),
                   SetTrend(E::kUnset),
                   std::nullopt,
                   nullptr,
                   false});
  rows->push_back({et,
                   O::kIsNotSet,
                   {},
                   SetTrend(E::kUnset),
                   SetTrend(E::kStable),
                   std::nullopt,
                   nullptr,
                   false});
}

// A row with no string involved, hence no mixed-case variant.
Row Plain(Field f, Operator op, std::vector<RawValue> values, Setter match,
          Setter miss) {
  return {f,
          op,
          std::move(values),
          std::move(match),
          std::move(miss),
          std::nullopt,
          nullptr,
          false};
}

void AddNumberRows(Field f, std::vector<Row>* rows) {
  auto set = [f](int32_t v) -> Setter {
    return [f, v](Contact* c) {
      (f == Field::kLeadScore ? c->lead_score : c->engagement_score) = v;
    };
  };
  // Lead scores may be negative; engagement scores are 0..100.
  const bool lead = f == Field::kLeadScore;
  const int32_t lo = lead ? -5 : 10, hi = lead ? 5 : 20;
  using O = Operator;
  rows->push_back(Plain(f, O::kEquals, {N(42)}, set(42), set(41)));
  rows->push_back(Plain(f, O::kNotEquals, {N(42)}, set(43), set(42)));
  rows->push_back(Plain(f, O::kGreaterThan, {N(10)}, set(11), set(10)));
  rows->push_back(Plain(f, O::kGreaterOrEqual, {N(10)}, set(10), set(9)));
  rows->push_back(Plain(f, O::kLessThan, {N(10)}, set(9), set(10)));
  rows->push_back(Plain(f, O::kLessOrEqual, {N(10)}, set(10), set(11)));
  rows->push_back(Plain(f, O::kBetween, {N(lo), N(hi)}, set(lo), set(hi + 1)));
}

void AddTimestampRows(Field f, std::vector<Row>* rows) {
  auto set = [f](std::optional<UnixSeconds> t) -> Setter {
    return [f, t](Contact* c) {
      if (f == Field::kCreatedAt) {
        c->created_at = *t;
      } else {
        c->last_engaged_at = t;
      }
    };
  };
  const UnixSeconds t1 = 1'600'000'000, t2 = 1'650'000'000;
  const UnixSeconds week_ago = kNow - 7 * kDay;
  using O = Operator;
  rows->push_back(Plain(f, O::kBefore, {T(t1)}, set(t1 - 1), set(t1)));
  rows->push_back(Plain(f, O::kAfter, {T(t1)}, set(t1 + 1), set(t1)));
  rows->push_back(Plain(f, O::kBetween, {T(t1), T(t2)}, set(t2), set(t2 + 1)));
  rows->push_back(
      Plain(f, O::kWithinLastDays, {N(7)}, set(week_ago), set(week_ago - 1)));
  rows->push_back(
      Plain(f, O::kMoreThanDaysAgo, {N(7)}, set(week_ago - 1), set(week_ago)));
  if (f == Field::kLastEngagedAt) {
    rows->push_back(Plain(f, O::kIsSet, {}, set(t1), set(std::nullopt)));
    rows->push_back(Plain(f, O::kIsNotSet, {}, set(std::nullopt), set(t1)));
  }
}

std::vector<Row> AllRows() {
  std::vector<Row> rows;
  for (Field f : {Field::kEmail, Field::kCompany, Field::kJobTitle,
                  Field::kCountry, Field::kCity, Field::kSource}) {
    AddStringRows(f, &rows);
  }
  AddTagRows(&rows);
  AddEnumRows(&rows);
  AddNumberRows(Field::kLeadScore, &rows);
  AddNumberRows(Field::kEngagementScore, &rows);
  AddTimestampRows(Field::kCreatedAt, &rows);
  AddTimestampRows(Field::kLastEngagedAt, &rows);
  return rows;
}

std::string RowName(const Row& r) {
  return std::string(ContactFieldName(r.field)) + " " +
         std::string(OperatorName(r.op));
}

TEST(EvaluatorTable, CoversEveryCatalogPairExactlyOnce) {
  std::set<std::pair<Field, Operator>> in_table;
  for (const Row& r : AllRows()) {
    EXPECT_TRUE(in_table.insert({r.field, r.op}).second)
        << "duplicate row " << RowName(r);
  }
  std::set<std::pair<Field, Operator>> in_catalog;
  for (const FieldInfo& info : AllFields()) {
    for (Operator op : info.operators) in_catalog.insert({info.field, op});
  }
  EXPECT_EQ(in_table, in_catalog);
}

TEST(EvaluatorTable, EveryPairMatchesMissesAndHandlesUnsetAndCase) {
  for (const Row& r : AllRows()) {
    SCOPED_TRACE(RowName(r));
    const FieldInfo& info = GetFieldInfo(r.field);
    const Condition cond = Make(info.name, r.op, r.values);

    Contact match = Base();
    r.match(&match);
    EXPECT_TRUE(ConditionMatches(cond, match, kNow)) << "matching case";

    Contact miss = Base();
    r.miss(&miss);
    EXPECT_FALSE(ConditionMatches(cond, miss, kNow)) << "non-matching case";

    if (info.optional) {
      Contact unset = Base();
      Unset(r.field, &unset);
      EXPECT_EQ(ConditionMatches(cond, unset, kNow), IsNegative(r.op))
          << "unset case";
    }

    if (r.mixed_contact) {
      const Condition mixed = r.mixed_values.has_value()
                                  ? Make(info.name, r.op, *r.mixed_values)
                                  : cond;
      Contact c = Base();
      r.mixed_contact(&c);
      EXPECT_EQ(ConditionMatches(mixed, c, kNow), r.mixed_expect)
          << "mixed-case case";
    } else {
      // Only numbers, timestamps and value-less tag/enum rules lack one.
      EXPECT_TRUE(info.type == FieldType::kNumber ||
                  info.type == FieldType::kTimestamp || r.values.empty());
    }
  }
}

// The twin of each negative operator, applied to the same values.
std::optional<Operator> ExpectedTwin(Operator op) {
  switch (op) {
    case Operator::kNotEquals:
      return Operator::kEquals;
    case Operator::kNotIn:
      return Operator::kIn;
    case Operator::kNotContains:
      return Operator::kContains;
    case Operator::kHasNone:
      return Operator::kHasAny;
    case Operator::kIsNotSet:
      return Operator::kIsSet;
    default:
      return std::nullopt;
  }
}

TEST(Evaluator, NegativesAreExactComplementsOnEveryRowContact) {
  for (const Row& r : AllRows()) {
    std::optional<Operator> twin = ExpectedTwin(r.op);
    if (!twin.has_value()) continue;
    SCOPED_TRACE(RowName(r));
    const std::string_view name = GetFieldInfo(r.field).name;
    const Condition neg = Make(name, r.op, r.values);
    const Condition pos = Make(name, *twin, r.values);
    std::vector<Contact> contacts(3, Base());
    r.match(&contacts[0]);
    r.miss(&contacts[1]);
    if (GetFieldInfo(r.field).optional) Unset(r.field, &contacts[2]);
    for (const Contact& c : contacts) {
      EXPECT_NE(ConditionMatches(neg, c, kNow), ConditionMatches(pos, c, kNow));
    }
  }
}

TEST(Evaluator, OrderedLifecycleComparisonsFollowStageOrder) {
  const char* names[] = {"SUBSCRIBER", "LEAD", "MQL", "SQL", "CUSTOMER"};
  using O = Operator;
  for (int v = 1; v <= 5; ++v) {
    for (int stage = 1; stage <= 5; ++stage) {
      Contact c = Base();
      c.lifecycle_stage = static_cast<LifecycleStage>(stage);
      SCOPED_TRACE(absl::StrCat(names[stage - 1], " vs ", names[v - 1]));
      auto m = [&](O op) {
        return ConditionMatches(Make("lifecycle_stage", op, {S(names[v - 1])}),
                                c, kNow);
      };
      EXPECT_EQ(m(O::kGreaterThan), stage > v);
      EXPECT_EQ(m(O::kGreaterOrEqual), stage >= v);
      EXPECT_EQ(m(O::kLessThan), stage < v);
      EXPECT_EQ(m(O::kLessOrEqual), stage <= v);
      EXPECT_EQ(m(O::kEquals), stage == v);
      EXPECT_EQ(m(O::kNotEquals), stage != v);
    }
  }
}

TEST(Evaluator, AtLeastMqlMeansMqlSqlCustomer) {
  const Condition at_least_mql =
      Make("lifecycle_stage", Operator::kGreaterOrEqual, {S("mql")});
  std::vector<LifecycleStage> members;
  for (int s = 1; s <= 5; ++s) {
    Contact c = Base();
    c.lifecycle_stage = static_cast<LifecycleStage>(s);
    if (ConditionMatches(at_least_mql, c, kNow)) {
      members.push_back(c.lifecycle_stage);
    }
  }
  EXPECT_THAT(members,
              ::testing::ElementsAre(LifecycleStage::kMql, LifecycleStage::kSql,
                                     LifecycleStage::kCustomer));
}

TEST(Evaluator, OrderedLikelihoodComparisonsAreFalseWhenUnset) {
  const char* names[] = {"LOW", "POSSIBLE", "LIKELY", "VERY_LIKELY"};
  using O = Operator;
  for (int v = 1; v <= 4; ++v) {
    for (int l = 0; l <= 4; ++l) {
      Contact c = Base();
      c.conversion_likelihood = static_cast<ConversionLikelihood>(l);
      SCOPED_TRACE(absl::StrCat(l, " vs ", names[v - 1]));
      auto m = [&](O op) {
        return ConditionMatches(
            Make("conversion_likelihood", op, {S(names[v - 1])}), c, kNow);
      };
      const bool set = l != 0;
      EXPECT_EQ(m(O::kGreaterThan), set && l > v);
      EXPECT_EQ(m(O::kGreaterOrEqual), set && l >= v);
      EXPECT_EQ(m(O::kLessThan), set && l < v);
      EXPECT_EQ(m(O::kLessOrEqual), set && l <= v);
    }
  }
}

TEST(Evaluator, NumberBetweenIsInclusiveAtBothEnds) {
  const Condition c = Make("lead_score", Operator::kBetween, {N(-10), N(10)});
  for (int32_t v : {-11, -10, -9, 0, 9, 10, 11}) {
    Contact contact = Base();
    contact.lead_score = v;
    EXPECT_EQ(ConditionMatches(c, contact, kNow), v >= -10 && v <= 10) << v;
  }
  const Condition point =
      Make("engagement_score", Operator::kBetween, {N(50), N(50)});
  for (int32_t v : {49, 50, 51}) {
    Contact contact = Base();
    contact.engagement_score = v;
    EXPECT_EQ(ConditionMatches(point, contact, kNow), v == 50) << v;
  }
}

TEST(Evaluator, TimestampBetweenIsInclusiveAtBothEnds) {
  const UnixSeconds lo = 1'600'000'000, hi = 1'600'086'400;
  for (const char* field : {"created_at", "last_engaged_at"}) {
    const Condition c = Make(field, Operator::kBetween, {T(lo), T(hi)});
    for (UnixSeconds t : {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1}) {
      Contact contact = Base();
      contact.created_at = t;
      contact.last_engaged_at = t;
      EXPECT_EQ(ConditionMatches(c, contact, kNow), t >= lo && t <= hi)
          << field << " " << t;
    }
  }
}

TEST(Evaluator, BeforeAndAfterAreStrict) {
  const UnixSeconds v = 1'600'000'000;
  const Condition before = Make("created_at", Operator::kBefore, {T(v)});
  const Condition after = Make("created_at", Operator::kAfter, {T(v)});
  Contact c = Base();
  c.created_at = v;
  EXPECT_FALSE(ConditionMatches(before, c, kNow));
  EXPECT_FALSE(ConditionMatches(after, c, kNow));
  c.created_at = v - 1;
  EXPECT_TRUE(ConditionMatches(before, c, kNow));
  c.created_at = v + 1;
  EXPECT_TRUE(ConditionMatches(after, c, kNow));
}

TEST(Evaluator, WithinLastDaysAtTheBoundarySecond) {
  for (int64_t n : {int64_t{1}, int64_t{30}, kMaxDays}) {
    const Condition c =
        Make("last_engaged_at", Operator::kWithinLastDays, {N(n)});
    const UnixSeconds boundary = kNow - n * kDay;
    Contact contact = Base();
    contact.last_engaged_at = boundary;
    EXPECT_TRUE(ConditionMatches(c, contact, kNow)) << n;
    contact.last_engaged_at = boundary - 1;
    EXPECT_FALSE(ConditionMatches(c, contact, kNow)) << n;
    contact.last_engaged_at = kNow + 5;  // the future is within too
    EXPECT_TRUE(ConditionMatches(c, contact, kNow)) << n;
    // One second later the boundary contact falls out.
    contact.last_engaged_at = boundary;
    EXPECT_FALSE(ConditionMatches(c, contact, kNow + 1)) << n;
  }
}

TEST(Evaluator, MoreThanDaysAgoAtTheBoundarySecond) {
  for (int64_t n : {int64_t{1}, int64_t{90}, kMaxDays}) {
    const Condition c = Make("created_at", Operator::kMoreThanDaysAgo, {N(n)});
    const UnixSeconds boundary = kNow - n * kDay;
    Contact contact = Base();
    contact.created_at = boundary;
    EXPECT_FALSE(ConditionMatches(c, contact, kNow)) << n;
    contact.created_at = boundary - 1;
    EXPECT_TRUE(ConditionMatches(c, contact, kNow)) << n;
    // One second later the boundary contact flips in.
    contact.created_at = boundary;
    EXPECT_TRUE(ConditionMatches(c, contact, kNow + 1)) << n;
  }
}

TEST(Evaluator, RelativeDatesAreFalseOnUnsetLastEngaged) {
  Contact c = Base();
  c.last_engaged_at.reset();
  EXPECT_FALSE(ConditionMatches(
      Make("last_engaged_at", Operator::kWithinLastDays, {N(7)}), c, kNow));
  EXPECT_FALSE(ConditionMatches(
      Make("last_engaged_at", Operator::kMoreThanDaysAgo, {N(7)}), c, kNow));
}

TEST(Evaluator, StringOperatorsFoldOnlyAsciiCase) {
  Contact c = Base();
  c.city = "MÜNCHEN";  // Ü is two bytes that ASCII folding leaves alone
  EXPECT_TRUE(ConditionMatches(Make("city", Operator::kEquals, {S("mÜnchen")}),
                               c, kNow));
  EXPECT_FALSE(ConditionMatches(Make("city", Operator::kEquals, {S("münchen")}),
                                c, kNow));
  EXPECT_TRUE(
      ConditionMatches(Make("city", Operator::kContains, {S("Ün")}), c, kNow));
}

// The evaluator folds eight bytes at a time; check every byte value in
// every lane (and in the byte-wise tail) against the one-byte definition.
TEST(Evaluator, CaseFoldingIsExactForEveryByteAtEveryPosition) {
  auto fold = [](int b) { return (b >= 'A' && b <= 'Z') ? b + 32 : b; };
  for (size_t pos : {0, 1, 3, 6, 7, 8, 12, 15, 16, 18}) {
    for (int b = 0; b < 256; ++b) {
      Contact c = Base();
      c.city = std::string(19, 'Q');
      c.city[pos] = static_cast<char>(b);
      for (int n = 0; n < 256; ++n) {
        // Condition strings are lowercase by construction; build them
        // directly to probe every byte.
        std::string needle(19, 'q');
        needle[pos] = static_cast<char>(n);
        if (n >= 'A' && n <= 'Z') continue;
        Condition eq{Field::kCity, Operator::kEquals, {needle}, {}, {}};
        ASSERT_EQ(ConditionMatches(eq, c, kNow), fold(b) == n)
            << "pos " << pos << " byte " << b << " needle " << n;
      }
    }
  }
}

TEST(Evaluator, OverlongValuesTakeTheSlowPathWithTheSameAnswers) {
  // Normalization caps values at 256 bytes; a Contact built by hand may
  // hold more, and must still be evaluated correctly.
  Contact c = Base();
  c.company = std::string(300, 'X') + "NeedLE" + std::string(40, 'y');
  auto m = [&](Operator op, std::string v) {
    return ConditionMatches(Condition{Field::kCompany, op, {v}, {}, {}}, c,
                            kNow);
  };
  EXPECT_TRUE(m(Operator::kContains, "xneedley"));
  EXPECT_FALSE(m(Operator::kContains, "needlex"));
  EXPECT_TRUE(m(Operator::kStartsWith, std::string(300, 'x') + "n"));
  EXPECT_TRUE(m(Operator::kEndsWith, "le" + std::string(40, 'y')));
  EXPECT_TRUE(m(Operator::kEquals,
                std::string(300, 'x') + "needle" + std::string(40, 'y')));
  EXPECT_TRUE(m(Operator::kNotContains, "zz"));
}

TEST(Evaluator, SubstringSearchEdges) {
  Contact c = Base();
  c.company = "abcABCabd";
  auto contains = [&](std::string needle) {
    return ConditionMatches(Make("company", Operator::kContains, {S(needle)}),
                            c, kNow);
  };
  EXPECT_TRUE(contains("abd"));          // at the very end
  EXPECT_TRUE(contains("ABCABCABD"));    // the whole value
  EXPECT_TRUE(contains("cab"));          // across the case change
  EXPECT_FALSE(contains("abcabcabdx"));  // longer than the value
  EXPECT_FALSE(contains("abe"));
  EXPECT_TRUE(contains("c"));
  auto starts = [&](std::string needle) {
    return ConditionMatches(Make("company", Operator::kStartsWith, {S(needle)}),
                            c, kNow);
  };
  EXPECT_TRUE(starts("ABCabc"));
  EXPECT_FALSE(starts("bc"));
  EXPECT_FALSE(starts("abcabcabd!"));
  auto ends = [&](std::string needle) {
    return ConditionMatches(Make("company", Operator::kEndsWith, {S(needle)}),
                            c, kNow);
  };
  EXPECT_TRUE(ends("CABD"));
  EXPECT_FALSE(ends("cab"));
}

TEST(Evaluator, SubstringValuesKeepTheirSpaces) {
  Contact c = Base();
  c.job_title = "VP Sales";
  EXPECT_TRUE(ConditionMatches(
      Make("job_title", Operator::kContains, {S("p s")}), c, kNow));
  EXPECT_FALSE(ConditionMatches(
      Make("job_title", Operator::kStartsWith, {S(" vp")}), c, kNow));
  // Equality values are trimmed, like stored values.
  EXPECT_TRUE(ConditionMatches(
      Make("job_title", Operator::kEquals, {S("  vp sales ")}), c, kNow));
}

TEST(Evaluator, InListUsesByteOrderForNonAsciiAndCaseFolding) {
  // Values on both sides of the ASCII/non-ASCII boundary, so the binary
  // search must agree with the validator's byte order.
  std::vector<RawValue> values;
  for (const char* v : {"zeta", "Ärger", "alpha", "Mid", "~tilde", "éclair"}) {
    values.push_back(S(v));
  }
  const Condition in = Make("source", Operator::kIn, values);
  for (const char* v : {"ZETA", "Ärger", "ALPHA", "mid", "~TILDE", "éclair"}) {
    Contact c = Base();
    c.source = v;
    EXPECT_TRUE(ConditionMatches(in, c, kNow)) << v;
  }
  for (const char* v : {"ärger", "zet", "alphas", "ÉCLAIR"}) {
    Contact c = Base();
    c.source = v;
    EXPECT_FALSE(ConditionMatches(in, c, kNow)) << v;
  }
}

TEST(Evaluator, TagSetOperatorsAgreeWithNaiveSetLogic) {
  std::mt19937 rng(42);
  const std::vector<std::string> universe = {"a", "b", "c", "d",
                                             "e", "f", "g", "h"};
  auto random_subset = [&](size_t min) {
    std::vector<std::string> out;
    while (out.size() < min) {
      out.clear();
      for (const std::string& t : universe) {
        if (rng() % 3 == 0) out.push_back(t);
      }
    }
    return out;  // sorted, unique
  };
  for (int iter = 0; iter < 2000; ++iter) {
    const std::vector<std::string> tags = random_subset(0);
    const std::vector<std::string> listed = random_subset(1);
    std::vector<RawValue> values;
    for (const std::string& t : listed) values.push_back(S(t));
    Contact c = Base();
    c.tags = tags;
    size_t hits = 0;
    for (const std::string& t : listed) {
      hits += std::count(tags.begin(), tags.end(), t);
    }
    EXPECT_EQ(
        ConditionMatches(Make("tags", Operator::kHasAny, values), c, kNow),
        hits > 0);
    EXPECT_EQ(
        ConditionMatches(Make("tags", Operator::kHasAll, values), c, kNow),
        hits == listed.size());
    EXPECT_EQ(
        ConditionMatches(Make("tags", Operator::kHasNone, values), c, kNow),
        hits == 0);
  }
}

Filter MakeFilter(Match match, std::vector<Condition> conditions) {
  Filter f;
  f.match = match;
  f.conditions = std::move(conditions);
  return f;
}

TEST(Evaluator, FilterAllNeedsEveryConditionAnyNeedsOne) {
  const Condition country = Make("country", Operator::kEquals, {S("de")});
  const Condition vip = Make("tags", Operator::kHasAny, {S("vip")});
  Contact both = Base(), one = Base(), none = Base();
  both.country = "DE";
  both.tags = {"vip"};
  one.country = "de";
  none.country = "fr";
  const Filter all = MakeFilter(Match::kAll, {country, vip});
  const Filter any = MakeFilter(Match::kAny, {country, vip});
  EXPECT_TRUE(FilterMatches(all, both, kNow));
  EXPECT_FALSE(FilterMatches(all, one, kNow));
  EXPECT_FALSE(FilterMatches(all, none, kNow));
  EXPECT_TRUE(FilterMatches(any, both, kNow));
  EXPECT_TRUE(FilterMatches(any, one, kNow));
  EXPECT_FALSE(FilterMatches(any, none, kNow));
}

TEST(Evaluator, UnspecifiedMatchValidatesToAll) {
  FilterSpec spec;
  spec.conditions.push_back(
      {"country", static_cast<int>(Operator::kEquals), {S("de")}});
  spec.conditions.push_back(
      {"city", static_cast<int>(Operator::kEquals), {S("berlin")}});
  ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "filter"));
  Contact c = Base();
  c.country = "DE";
  EXPECT_FALSE(FilterMatches(f, c, kNow));
  c.city = "Berlin";
  EXPECT_TRUE(FilterMatches(f, c, kNow));
}

}  // namespace
}  // namespace segments
