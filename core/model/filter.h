// The rule model: a filter is `match ALL|ANY` over conditions; a condition is
// field + operator + values, a nested group (match over conditions of its
// own), or a reference to another segment (IN_SEGMENT / NOT_IN_SEGMENT
// segment_id) (SPEC §4). FilterSpec is what a caller sends;
// ValidateFilter turns it into a Filter that is known to be well-formed, with
// values pre-normalized for evaluation.
#ifndef SEGMENTS_CORE_MODEL_FILTER_H_
#define SEGMENTS_CORE_MODEL_FILTER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/ids.h"
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

struct ConditionSpec;

struct FilterSpec {
  int match = 0;  // raw wire number
  std::vector<ConditionSpec> conditions;
};

// Exactly one of three shapes is valid: a field rule (field, op, values), a
// reference (op IN_SEGMENT / NOT_IN_SEGMENT, segment_id), a group (group).
struct ConditionSpec {
  std::string field;
  int op = 0;  // raw wire number of the operator
  std::vector<RawValue> values;
  SegmentId segment_id = 0;
  std::optional<FilterSpec> group = std::nullopt;
};

// A validated condition. Exactly the members its operator needs are filled:
// - strings: `strings` holds lowercase values (deduplicated, sorted for IN,
//   NOT_IN and the HAS_* family);
// - enums: `numbers` holds wire values (1-based);
// - numbers / BETWEEN: `numbers` holds the value or [low, high];
// - timestamps: `numbers` holds seconds or [low, high];
// - WITHIN_LAST_DAYS / MORE_THAN_DAYS_AGO: `numbers` holds the day count;
// - IS_SET / IS_NOT_SET: nothing.
// A reference has op kInSegment / kNotInSegment and `segment_id` (its field
// is meaningless); a group has `group` (op kUnspecified).
struct Condition;

struct Filter {
  Match match = Match::kAll;
  std::vector<Condition> conditions;

  bool operator==(const Filter& o) const;
};

struct Condition {
  Field field;
  Operator op;
  std::vector<std::string> strings;
  std::vector<int64_t> numbers;
  // The caller's values as sent (after trimming), for echoing back.
  std::vector<RawValue> original;
  SegmentId segment_id = 0;                    // references
  std::optional<Filter> group = std::nullopt;  // groups

  bool is_group() const { return group.has_value(); }
  bool is_reference() const {
    return op == Operator::kInSegment || op == Operator::kNotInSegment;
  }
  bool is_field_rule() const { return !is_group() && !is_reference(); }
  bool operator==(const Condition& o) const;
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

// Everything below reads the filter's own rules, nested groups included,
// and not the segments it refers to (the engine adds what they reach).
//
// The fields the filter reads, as a ContactFieldSet.
ContactFieldSet FieldsRead(const Filter& filter);
// SMART if any condition reads a smart field, else STANDARD.
SegmentKind KindOf(const Filter& filter);
// The lowest plan that allows the filter's own rules (STARTER or GROWTH).
Plan RequiredPlan(const Filter& filter);
// The first field rule (depth first) whose field needs `plan`, or "".
std::string_view FirstFieldNeeding(const Filter& filter, Plan plan);
// PERMISSION_DENIED with ErrorInfo PLAN_UPGRADE_REQUIRED (metadata
// required_plan, field) when `plan` does not allow `filter`; else OK.
absl::Status CheckPlanAllows(const Filter& filter, Plan plan);
// True when the filter holds a relative date rule whose truth moves with time.
bool HasRelativeDateRule(const Filter& filter);
// True when the filter refers to another segment.
bool HasReferences(const Filter& filter);
// The segments the filter refers to, ascending, each once.
std::vector<SegmentId> ReferencedSegments(const Filter& filter);
// Calls `visit` with each reference's path under `path` (e.g.
// "segment.filter.conditions[1].group.conditions[0].segment_id") and id,
// depth first.
void ForEachReference(
    const Filter& filter, std::string_view path,
    const std::function<void(const std::string&, SegmentId)>& visit);
// Calls `visit` with every field rule of the filter, groups included.
void ForEachFieldRule(const Filter& filter,
                      const std::function<void(const Condition&)>& visit);

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_FILTER_H_
