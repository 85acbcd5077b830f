// The rule model: a filter is `match ALL|ANY` over conditions; a condition is
// field + operator + values (SPEC §4). FilterSpec is what a caller sends;
// ValidateFilter turns it into a Filter that is known to be well-formed, with
// values pre-normalized for evaluation.
#ifndef SEGMENTS_CORE_MODEL_FILTER_H_
#define SEGMENTS_CORE_MODEL_FILTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/model/field_catalog.h"

namespace segments {

enum class Match : int { kUnspecified = 0, kAll = 1, kAny = 2 };

// A raw value as sent: a string, a number or a timestamp (or nothing, when
// the caller left the oneof empty).
struct NoValue {
  bool operator==(const NoValue&) const { return true; }
};
struct TimestampValue {
  UnixSeconds seconds = 0;
  bool operator==(const TimestampValue& o) const {
    return seconds == o.seconds;
  }
};
using RawValue = std::variant<NoValue, std::string, int64_t, TimestampValue>;

struct ConditionSpec {
  std::string field;
  int op = 0;  // raw wire number of the operator
  std::vector<RawValue> values;
};

struct FilterSpec {
  int match = 0;  // raw wire number
  std::vector<ConditionSpec> conditions;
};

// A validated condition. Exactly the members its operator needs are filled:
// - strings: `strings` holds lowercase values (deduplicated, sorted for IN,
//   NOT_IN and the HAS_* family);
// - enums: `numbers` holds wire values (1-based);
// - numbers / BETWEEN: `numbers` holds the value or [low, high];
// - timestamps: `numbers` holds seconds or [low, high];
// - WITHIN_LAST_DAYS / MORE_THAN_DAYS_AGO: `numbers` holds the day count;
// - IS_SET / IS_NOT_SET: nothing.
struct Condition {
  Field field;
  Operator op;
  std::vector<std::string> strings;
  std::vector<int64_t> numbers;
  // The caller's values as sent (after trimming), for echoing back.
  std::vector<RawValue> original;

  bool operator==(const Condition& o) const;
};

struct Filter {
  Match match = Match::kAll;
  std::vector<Condition> conditions;

  bool operator==(const Filter& o) const;
};

// The range of a relative date rule's days (SPEC §4).
inline constexpr int64_t kMinDays = 1;
inline constexpr int64_t kMaxDays = 3650;

// Validates `spec`, reporting every violation under `path` (e.g. "filter" ->
// "filter.conditions[2].values[0]"), within the conditions and list values
// that `limits` allow.
absl::StatusOr<Filter> ValidateFilter(const FilterSpec& spec,
                                      std::string_view path,
                                      const Limits& limits = Limits());

// Converts a valid filter back to the caller's form (for responses and
// storage).
FilterSpec ToSpec(const Filter& filter);

// The fields the filter reads, as a ContactFieldSet.
ContactFieldSet FieldsRead(const Filter& filter);
// SMART if any condition reads a smart field, else STANDARD.
SegmentKind KindOf(const Filter& filter);
// The lowest plan that allows the filter (STARTER or GROWTH), and the first
// field that needs it.
Plan RequiredPlan(const Filter& filter);
// PERMISSION_DENIED with ErrorInfo PLAN_UPGRADE_REQUIRED (metadata
// required_plan, field) when `plan` does not allow `filter`; else OK.
absl::Status CheckPlanAllows(const Filter& filter, Plan plan);
// True when the filter holds a relative date rule whose truth moves with time.
bool HasRelativeDateRule(const Filter& filter);

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_FILTER_H_
