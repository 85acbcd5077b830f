#include "core/model/field_catalog.h"

#include <algorithm>

namespace segments {
namespace {

using O = Operator;

// The table of docs/rules-semantics (binding): which operators apply to
// which field. Order within each list is the order the catalog RPC shows.
std::vector<FieldInfo>* BuildCatalog() {
  const std::vector<Operator> kStringOps = {
      O::kEquals,   O::kNotEquals,   O::kIn,         O::kNotIn,
      O::kContains, O::kNotContains, O::kStartsWith, O::kEndsWith};
  std::vector<Operator> optional_string_ops = kStringOps;
  optional_string_ops.push_back(O::kIsSet);
  optional_string_ops.push_back(O::kIsNotSet);
  const std::vector<Operator> kTagOps = {O::kHasAny, O::kHasAll, O::kHasNone,
                                         O::kIsSet, O::kIsNotSet};
  const std::vector<Operator> kOrderedEnumOps = {
      O::kEquals,      O::kNotEquals,      O::kIn,       O::kNotIn,
      O::kGreaterThan, O::kGreaterOrEqual, O::kLessThan, O::kLessOrEqual};
  std::vector<Operator> optional_ordered_enum_ops = kOrderedEnumOps;
  optional_ordered_enum_ops.push_back(O::kIsSet);
  optional_ordered_enum_ops.push_back(O::kIsNotSet);
  const std::vector<Operator> kOptionalEnumOps = {
      O::kEquals, O::kNotEquals, O::kIn, O::kNotIn, O::kIsSet, O::kIsNotSet};
  const std::vector<Operator> kNumberOps = {
      O::kEquals,   O::kNotEquals,   O::kGreaterThan, O::kGreaterOrEqual,
      O::kLessThan, O::kLessOrEqual, O::kBetween};
  const std::vector<Operator> kTimestampOps = {O::kBefore, O::kAfter,
                                               O::kBetween, O::kWithinLastDays,
                                               O::kMoreThanDaysAgo};
  std::vector<Operator> optional_timestamp_ops = kTimestampOps;
  optional_timestamp_ops.push_back(O::kIsSet);
  optional_timestamp_ops.push_back(O::kIsNotSet);

  const RuleFamily kStd = RuleFamily::kStandard;
  const RuleFamily kSmart = RuleFamily::kSmart;
  const Plan kStarter = Plan::kStarter;
  const Plan kGrowth = Plan::kGrowth;
  const std::vector<std::string_view> kNoEnum;

  // One entry per ContactField, in enum order (GetFieldInfo indexes by it).
  return new std::vector<FieldInfo>{
      {Field::kEmail, "email", FieldType::kString, false, kStd, kStarter,
       kNoEnum, kStringOps},
      {Field::kCompany, "company", FieldType::kString, true, kStd, kStarter,
       kNoEnum, optional_string_ops},
      {Field::kJobTitle, "job_title", FieldType::kString, true, kStd, kStarter,
       kNoEnum, optional_string_ops},
      {Field::kCountry, "country", FieldType::kString, true, kStd, kStarter,
       kNoEnum, optional_string_ops},
      {Field::kCity, "city", FieldType::kString, true, kStd, kStarter, kNoEnum,
       optional_string_ops},
      {Field::kSource, "source", FieldType::kString, true, kStd, kStarter,
       kNoEnum, optional_string_ops},
      {Field::kTags, "tags", FieldType::kTags, true, kStd, kStarter, kNoEnum,
       kTagOps},
      {Field::kLifecycleStage,
       "lifecycle_stage",
       FieldType::kOrderedEnum,
       false,
       kStd,
       kStarter,
       {"SUBSCRIBER", "LEAD", "MQL", "SQL", "CUSTOMER"},
       kOrderedEnumOps},
      {Field::kLeadScore, "lead_score", FieldType::kNumber, false, kSmart,
       kGrowth, kNoEnum, kNumberOps},
      {Field::kEngagementScore, "engagement_score", FieldType::kNumber, false,
       kSmart, kGrowth, kNoEnum, kNumberOps},
      {Field::kEngagementTrend,
       "engagement_trend",
       FieldType::kEnum,
       true,
       kSmart,
       kGrowth,
       {"RISING", "STABLE", "DECLINING"},
       kOptionalEnumOps},
      {Field::kConversionLikelihood,
       "conversion_likelihood",
       FieldType::kOrderedEnum,
       true,
       kSmart,
       kGrowth,
       {"LOW", "POSSIBLE", "LIKELY", "VERY_LIKELY"},
       optional_ordered_enum_ops},
      {Field::kCreatedAt, "created_at", FieldType::kTimestamp, false, kStd,
       kStarter, kNoEnum, kTimestampOps},
      {Field::kLastEngagedAt, "last_engaged_at", FieldType::kTimestamp, true,
       kStd, kStarter, kNoEnum, optional_timestamp_ops},
  };
}

const std::vector<FieldInfo>& Catalog() {
  // Never destroyed: safe to use from other static destructors.
  static const std::vector<FieldInfo>* const catalog = BuildCatalog();
  return *catalog;
}

}  // namespace

std::string_view OperatorName(Operator op) {
  switch (op) {
    case O::kUnspecified:
      return "OPERATOR_UNSPECIFIED";
    case O::kEquals:
      return "EQUALS";
    case O::kNotEquals:
      return "NOT_EQUALS";
    case O::kIn:
      return "IN";
    case O::kNotIn:
      return "NOT_IN";
    case O::kContains:
      return "CONTAINS";
    case O::kNotContains:
      return "NOT_CONTAINS";
    case O::kStartsWith:
      return "STARTS_WITH";
    case O::kEndsWith:
      return "ENDS_WITH";
    case O::kGreaterThan:
      return "GREATER_THAN";
    case O::kGreaterOrEqual:
      return "GREATER_OR_EQUAL";
    case O::kLessThan:
      return "LESS_THAN";
    case O::kLessOrEqual:
      return "LESS_OR_EQUAL";
    case O::kBetween:
      return "BETWEEN";
    case O::kHasAny:
      return "HAS_ANY";
    case O::kHasAll:
      return "HAS_ALL";
    case O::kHasNone:
      return "HAS_NONE";
    case O::kBefore:
      return "BEFORE";
    case O::kAfter:
      return "AFTER";
    case O::kWithinLastDays:
      return "WITHIN_LAST_DAYS";
    case O::kMoreThanDaysAgo:
      return "MORE_THAN_DAYS_AGO";
    case O::kIsSet:
      return "IS_SET";
    case O::kIsNotSet:
      return "IS_NOT_SET";
    case O::kInSegment:
      return "IN_SEGMENT";
    case O::kNotInSegment:
      return "NOT_IN_SEGMENT";
  }
  return "";
}

std::string_view FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return "STRING";
    case FieldType::kTags:
      return "TAGS";
    case FieldType::kOrderedEnum:
      return "ORDERED_ENUM";
    case FieldType::kEnum:
      return "ENUM";
    case FieldType::kNumber:
      return "NUMBER";
    case FieldType::kTimestamp:
      return "TIMESTAMP";
  }
  return "";
}

absl::Span<const FieldInfo> AllFields() { return Catalog(); }

const FieldInfo& GetFieldInfo(Field f) {
  return Catalog()[static_cast<size_t>(f)];
}

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& info : Catalog()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

bool OperatorApplies(const FieldInfo& info, Operator op) {
  return std::find(info.operators.begin(), info.operators.end(), op) !=
         info.operators.end();
}

}  // namespace segments
