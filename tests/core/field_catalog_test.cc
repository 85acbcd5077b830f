#include "core/model/field_catalog.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

using O = Operator;

const std::vector<Operator> kStringOps = {
    O::kEquals,   O::kNotEquals,   O::kIn,         O::kNotIn,
    O::kContains, O::kNotContains, O::kStartsWith, O::kEndsWith};
const std::vector<Operator> kOptionalStringOps = {
    O::kEquals,      O::kNotEquals,  O::kIn,       O::kNotIn, O::kContains,
    O::kNotContains, O::kStartsWith, O::kEndsWith, O::kIsSet, O::kIsNotSet};
const std::vector<Operator> kOrderedOps = {
    O::kEquals,      O::kNotEquals,      O::kIn,       O::kNotIn,
    O::kGreaterThan, O::kGreaterOrEqual, O::kLessThan, O::kLessOrEqual};
const std::vector<Operator> kOptionalOrderedOps = {
    O::kEquals,      O::kNotEquals,      O::kIn,       O::kNotIn,
    O::kGreaterThan, O::kGreaterOrEqual, O::kLessThan, O::kLessOrEqual,
    O::kIsSet,       O::kIsNotSet};
const std::vector<Operator> kNumberOps = {
    O::kEquals,   O::kNotEquals,   O::kGreaterThan, O::kGreaterOrEqual,
    O::kLessThan, O::kLessOrEqual, O::kBetween};
const std::vector<Operator> kTimestampOps = {O::kBefore, O::kAfter, O::kBetween,
                                             O::kWithinLastDays,
                                             O::kMoreThanDaysAgo};
const std::vector<Operator> kOptionalTimestampOps = {
    O::kBefore,          O::kAfter, O::kBetween, O::kWithinLastDays,
    O::kMoreThanDaysAgo, O::kIsSet, O::kIsNotSet};

// The table of rules-semantics.md, written out independently.
struct Expected {
  Field field;
  const char* name;
  FieldType type;
  bool optional;
  RuleFamily family;
  Plan plan;
  std::vector<std::string_view> enum_values;
  std::vector<Operator> operators;
};

std::vector<Expected> ExpectedCatalog() {
  const RuleFamily kStd = RuleFamily::kStandard, kSmart = RuleFamily::kSmart;
  return {
      {Field::kEmail,
       "email",
       FieldType::kString,
       false,
       kStd,
       Plan::kStarter,
       {},
       kStringOps},
      {Field::kCompany,
       "company",
       FieldType::kString,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalStringOps},
      {Field::kJobTitle,
       "job_title",
       FieldType::kString,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalStringOps},
      {Field::kCountry,
       "country",
       FieldType::kString,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalStringOps},
      {Field::kCity,
       "city",
       FieldType::kString,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalStringOps},
      {Field::kSource,
       "source",
       FieldType::kString,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalStringOps},
      {Field::kTags,
       "tags",
       FieldType::kTags,
       true,
       kStd,
       Plan::kStarter,
       {},
       {O::kHasAny, O::kHasAll, O::kHasNone, O::kIsSet, O::kIsNotSet}},
      {Field::kLifecycleStage,
       "lifecycle_stage",
       FieldType::kOrderedEnum,
       false,
       kStd,
       Plan::kStarter,
       {"SUBSCRIBER", "LEAD", "MQL", "SQL", "CUSTOMER"},
       kOrderedOps},
      {Field::kLeadScore,
       "lead_score",
       FieldType::kNumber,
       false,
       kSmart,
       Plan::kGrowth,
       {},
       kNumberOps},
      {Field::kEngagementScore,
       "engagement_score",
       FieldType::kNumber,
       false,
       kSmart,
       Plan::kGrowth,
       {},
       kNumberOps},
      {Field::kEngagementTrend,
       "engagement_trend",
       FieldType::kEnum,
       true,
       kSmart,
       Plan::kGrowth,
       {"RISING", "STABLE", "DECLINING"},
       {O::kEquals, O::kNotEquals, O::kIn, O::kNotIn, O::kIsSet, O::kIsNotSet}},
      {Field::kConversionLikelihood,
       "conversion_likelihood",
       FieldType::kOrderedEnum,
       true,
       kSmart,
       Plan::kGrowth,
       {"LOW", "POSSIBLE", "LIKELY", "VERY_LIKELY"},
       kOptionalOrderedOps},
      {Field::kCreatedAt,
       "created_at",
       FieldType::kTimestamp,
       false,
       kStd,
       Plan::kStarter,
       {},
       kTimestampOps},
      {Field::kLastEngagedAt,
       "last_engaged_at",
       FieldType::kTimestamp,
       true,
       kStd,
       Plan::kStarter,
       {},
       kOptionalTimestampOps},
  };
}

TEST(FieldCatalog, MatchesTheRulesTableExactly) {
  const std::vector<Expected> expected = ExpectedCatalog();
  ASSERT_EQ(AllFields().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const FieldInfo& got = AllFields()[i];
    const Expected& want = expected[i];
    SCOPED_TRACE(want.name);
    EXPECT_EQ(got.field, want.field);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.type, want.type);
    EXPECT_EQ(got.optional, want.optional);
    EXPECT_EQ(got.family, want.family);
    EXPECT_EQ(got.required_plan, want.plan);
    EXPECT_THAT(got.enum_values, ElementsAreArray(want.enum_values));
    EXPECT_THAT(got.operators, ElementsAreArray(want.operators));
  }
}

TEST(FieldCatalog, EnumNamesMatchTheTypeNames) {
  const FieldInfo& stage = GetFieldInfo(Field::kLifecycleStage);
  for (size_t i = 0; i < stage.enum_values.size(); ++i) {
    EXPECT_EQ(stage.enum_values[i],
              LifecycleStageName(static_cast<LifecycleStage>(i + 1)));
  }
  const FieldInfo& trend = GetFieldInfo(Field::kEngagementTrend);
  for (size_t i = 0; i < trend.enum_values.size(); ++i) {
    EXPECT_EQ(trend.enum_values[i],
              EngagementTrendName(static_cast<EngagementTrend>(i + 1)));
  }
  const FieldInfo& likely = GetFieldInfo(Field::kConversionLikelihood);
  for (size_t i = 0; i < likely.enum_values.size(); ++i) {
    EXPECT_EQ(
        likely.enum_values[i],
        ConversionLikelihoodName(static_cast<ConversionLikelihood>(i + 1)));
  }
}

TEST(FieldCatalog, IsSetAppliesExactlyToOptionalFields) {
  for (const FieldInfo& info : AllFields()) {
    EXPECT_EQ(OperatorApplies(info, O::kIsSet), info.optional) << info.name;
    EXPECT_EQ(OperatorApplies(info, O::kIsNotSet), info.optional) << info.name;
  }
}

TEST(FieldCatalog, GetFieldInfoAndFindField) {
  for (const FieldInfo& info : AllFields()) {
    EXPECT_EQ(&GetFieldInfo(info.field), &info);
    EXPECT_EQ(FindField(info.name), &info);
    EXPECT_EQ(info.name, ContactFieldName(info.field));
  }
  EXPECT_EQ(FindField("Email"), nullptr);
  EXPECT_EQ(FindField("id"), nullptr);
  EXPECT_EQ(FindField(""), nullptr);
  EXPECT_EQ(FindField("lead_score "), nullptr);
}

TEST(FieldCatalog, OperatorAppliesIsExact) {
  const FieldInfo& tags = GetFieldInfo(Field::kTags);
  EXPECT_TRUE(OperatorApplies(tags, O::kHasAll));
  EXPECT_FALSE(OperatorApplies(tags, O::kEquals));
  EXPECT_FALSE(OperatorApplies(tags, O::kUnspecified));
  const FieldInfo& email = GetFieldInfo(Field::kEmail);
  EXPECT_TRUE(OperatorApplies(email, O::kEndsWith));
  EXPECT_FALSE(OperatorApplies(email, O::kIsSet));
}

TEST(OperatorName, EveryOperatorHasItsProtoName) {
  const std::vector<std::string_view> names = {"OPERATOR_UNSPECIFIED",
                                               "EQUALS",
                                               "NOT_EQUALS",
                                               "IN",
                                               "NOT_IN",
                                               "CONTAINS",
                                               "NOT_CONTAINS",
                                               "STARTS_WITH",
                                               "ENDS_WITH",
                                               "GREATER_THAN",
                                               "GREATER_OR_EQUAL",
                                               "LESS_THAN",
                                               "LESS_OR_EQUAL",
                                               "BETWEEN",
                                               "HAS_ANY",
                                               "HAS_ALL",
                                               "HAS_NONE",
                                               "BEFORE",
                                               "AFTER",
                                               "WITHIN_LAST_DAYS",
                                               "MORE_THAN_DAYS_AGO",
                                               "IS_SET",
                                               "IS_NOT_SET",
                                               "IN_SEGMENT",
                                               "NOT_IN_SEGMENT"};
  ASSERT_EQ(names.size(), static_cast<size_t>(kMaxOperator + 1));
  for (int i = 0; i <= kMaxOperator; ++i) {
    EXPECT_EQ(OperatorName(static_cast<Operator>(i)), names[i]);
  }
  EXPECT_EQ(OperatorName(static_cast<Operator>(kMaxOperator + 1)), "");
}

TEST(FieldTypeName, EveryType) {
  EXPECT_EQ(FieldTypeName(FieldType::kString), "STRING");
  EXPECT_EQ(FieldTypeName(FieldType::kTags), "TAGS");
  EXPECT_EQ(FieldTypeName(FieldType::kOrderedEnum), "ORDERED_ENUM");
  EXPECT_EQ(FieldTypeName(FieldType::kEnum), "ENUM");
  EXPECT_EQ(FieldTypeName(FieldType::kNumber), "NUMBER");
  EXPECT_EQ(FieldTypeName(FieldType::kTimestamp), "TIMESTAMP");
}

}  // namespace
}  // namespace segments

namespace segments {
namespace {

TEST(PositiveTwinTest, NamesTheComplementOfEachNegativeOperator) {
  EXPECT_EQ(PositiveTwin(Operator::kNotEquals), Operator::kEquals);
  EXPECT_EQ(PositiveTwin(Operator::kNotIn), Operator::kIn);
  EXPECT_EQ(PositiveTwin(Operator::kNotContains), Operator::kContains);
  EXPECT_EQ(PositiveTwin(Operator::kHasNone), Operator::kHasAny);
  EXPECT_EQ(PositiveTwin(Operator::kIsNotSet), Operator::kIsSet);
  for (int op = 1; op <= kMaxOperator; ++op) {
    const auto o = static_cast<Operator>(op);
    if (PositiveTwin(o).has_value()) continue;
    EXPECT_FALSE(PositiveTwin(o).has_value());
    // A positive operator is nobody's negation of itself.
    EXPECT_NE(PositiveTwin(o), std::optional<Operator>(o));
  }
}

}  // namespace
}  // namespace segments
