// The rule catalog: every field a condition can read, its type, the operators
// that apply to it, its enum values and the plan it needs (SPEC §3-§5).
#ifndef SEGMENTS_CORE_MODEL_FIELD_CATALOG_H_
#define SEGMENTS_CORE_MODEL_FIELD_CATALOG_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "core/base/types.h"
#include "core/model/contact.h"

namespace segments {

// Numeric values equal segments.v1.Condition.Operator.
enum class Operator : int {
  kUnspecified = 0,
  kEquals = 1,
  kNotEquals = 2,
  kIn = 3,
  kNotIn = 4,
  kContains = 5,
  kNotContains = 6,
  kStartsWith = 7,
  kEndsWith = 8,
  kGreaterThan = 9,
  kGreaterOrEqual = 10,
  kLessThan = 11,
  kLessOrEqual = 12,
  kBetween = 13,
  kHasAny = 14,
  kHasAll = 15,
  kHasNone = 16,
  kBefore = 17,
  kAfter = 18,
  kWithinLastDays = 19,
  kMoreThanDaysAgo = 20,
  kIsSet = 21,
  kIsNotSet = 22,
  // References to another segment (no field): the contact is (is not) one
  // of its members.
  kInSegment = 23,
  kNotInSegment = 24,
};
inline constexpr int kMaxOperator = 24;
std::string_view OperatorName(Operator op);
// The positive twin of a negative operator (NOT_EQUALS -> EQUALS, NOT_IN ->
// IN, NOT_CONTAINS -> CONTAINS, HAS_NONE -> HAS_ANY, IS_NOT_SET -> IS_SET,
// NOT_IN_SEGMENT -> IN_SEGMENT),
// of which it is the exact complement; nullopt for the others. Inline: the
// evaluator asks it for every condition of every contact it matches.
inline std::optional<Operator> PositiveTwin(Operator op) {
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
    case Operator::kNotInSegment:
      return Operator::kInSegment;
    default:
      return std::nullopt;
  }
}

// The fields a rule can read. A subset of ContactField (id is not one).
using Field = ContactField;

enum class FieldType : int {
  kString,       // ASCII case-insensitive string
  kTags,         // set of lowercase strings
  kOrderedEnum,  // lifecycle_stage, conversion_likelihood
  kEnum,         // engagement_trend
  kNumber,       // int32
  kTimestamp,    // seconds, UTC
};
std::string_view FieldTypeName(FieldType t);

enum class RuleFamily : int { kStandard, kSmart };

struct FieldInfo {
  Field field;
  std::string_view name;  // as in Condition.field, e.g. "lead_score"
  FieldType type;
  bool optional;  // can be unset (IS_SET / IS_NOT_SET apply)
  RuleFamily family;
  Plan required_plan;  // STARTER for standard, GROWTH for smart
  // Enum names in order (index 0 = wire value 1); empty for non-enums.
  std::vector<std::string_view> enum_values;
  // Operators that apply, in catalog order.
  std::vector<Operator> operators;
};

// Every rule field in catalog order.
absl::Span<const FieldInfo> AllFields();
const FieldInfo& GetFieldInfo(Field f);
// Exact, case-sensitive lookup by name; nullptr when unknown.
const FieldInfo* FindField(std::string_view name);
bool OperatorApplies(const FieldInfo& info, Operator op);

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_FIELD_CATALOG_H_
