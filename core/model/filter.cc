#include "core/model/filter.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"
#include "core/base/plan_gate.h"
#include "core/base/utf8.h"

namespace segments {
namespace {

std::string Join(std::string_view path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return absl::StrCat(AbslView(path), ".", AbslView(name));
}

// Echoes caller text in a message only when it is short and valid UTF-8
// (descriptions travel in protobuf string fields).
std::string Quoted(std::string_view s) {
  if (s.size() > 64 || !IsValidUtf8(s)) return "";
  return absl::StrCat(" \"", AbslView(s), "\"");
}

bool IsListOperator(Operator op) {
  switch (op) {
    case Operator::kIn:
    case Operator::kNotIn:
    case Operator::kHasAny:
    case Operator::kHasAll:
    case Operator::kHasNone:
      return true;
    default:
      return false;
  }
}

// Equality-style operators compare against stored (trimmed) values, so their
// values are trimmed; substring operators keep leading/trailing spaces.
bool TrimsValues(Operator op) {
  return IsListOperator(op) || op == Operator::kEquals ||
         op == Operator::kNotEquals;
}

bool IsRelativeDate(Operator op) {
  return op == Operator::kWithinLastDays || op == Operator::kMoreThanDaysAgo;
}

enum class ValueKind { kString, kNumber, kTimestamp, kDays };

ValueKind ExpectedKind(FieldType type, Operator op) {
  switch (type) {
    case FieldType::kString:
    case FieldType::kTags:
    case FieldType::kOrderedEnum:
    case FieldType::kEnum:
      return ValueKind::kString;
    case FieldType::kNumber:
      return ValueKind::kNumber;
    case FieldType::kTimestamp:
      return IsRelativeDate(op) ? ValueKind::kDays : ValueKind::kTimestamp;
  }
  return ValueKind::kString;
}

std::string KindProblem(ValueKind kind, const RawValue& v) {
  const bool empty = std::holds_alternative<NoValue>(v);
  const char* prefix = empty ? "is empty; " : "";
  switch (kind) {
    case ValueKind::kString:
      return absl::StrCat(prefix, "must be a string_value");
    case ValueKind::kNumber:
      return absl::StrCat(prefix, "must be a number_value");
    case ValueKind::kTimestamp:
      return absl::StrCat(prefix, "must be a timestamp_value");
    case ValueKind::kDays:
      return absl::StrCat(prefix, "must be a number_value (a count of days)");
  }
  return "has the wrong type";
}

std::string OperatorList(const FieldInfo& info) {
  std::string out;
  for (Operator op : info.operators) {
    if (!out.empty()) out += ", ";
    out += OperatorName(op);
  }
  return out;
}

std::string EnumList(const FieldInfo& info) {
  std::string out;
  for (std::string_view name : info.enum_values) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string FieldList() {
  std::string out;
  for (const FieldInfo& info : AllFields()) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

// Checks the number of values for `op`; violations go to "<cond>.values".
// Returns false when the count is wrong.
bool CheckValueCount(Operator op, size_t n, size_t max_list_values,
                     const std::string& values_path, Violations* violations) {
  const std::string name(OperatorName(op));
  if (op == Operator::kIsSet || op == Operator::kIsNotSet) {
    if (n == 0) return true;
    violations->Add(values_path,
                    absl::StrCat(name, " takes no values (got ", n, ")"));
    return false;
  }
  if (op == Operator::kBetween) {
    if (n == 2) return true;
    violations->Add(values_path,
                    absl::StrCat("BETWEEN takes exactly 2 values, low and "
                                 "high (got ",
                                 n, ")"));
    return false;
  }
  if (IsListOperator(op)) {
    if (n == 0) {
      violations->Add(values_path, "must not be empty");
      return false;
    }
    if (n > max_list_values) {
      violations->Add(values_path, absl::StrCat("at most ", max_list_values,
                                                " values are allowed (limit "
                                                "max_list_values; got ",
                                                n, ")"));
      return false;
    }
    return true;
  }
  if (n == 1) return true;
  violations->Add(values_path,
                  absl::StrCat(name, " takes exactly 1 value (got ", n, ")"));
  return false;
}

// Validates one value; on success appends its normalized form to `out`
// (strings or numbers) and its trimmed original to `out->original`.
bool ValidateValue(const FieldInfo& info, Operator op, const RawValue& raw,
                   const std::string& at, Condition* out,
                   Violations* violations) {
  const ValueKind kind = ExpectedKind(info.type, op);
  switch (kind) {
    case ValueKind::kString: {
      const std::string* s = std::get_if<std::string>(&raw);
      if (s == nullptr) {
        violations->Add(at, KindProblem(kind, raw));
        return false;
      }
      if (!IsValidUtf8(*s)) {
        violations->Add(at, "must be valid UTF-8");
        return false;
      }
      const bool is_enum =
          info.type == FieldType::kEnum || info.type == FieldType::kOrderedEnum;
      const std::string_view v =
          (is_enum || TrimsValues(op)) ? TrimAscii(*s) : std::string_view(*s);
      if (v.empty()) {
        violations->Add(at, "must not be empty");
        return false;
      }
      if (is_enum) {
        for (size_t i = 0; i < info.enum_values.size(); ++i) {
          if (absl::EqualsIgnoreCase(AbslView(v),
                                     AbslView(info.enum_values[i]))) {
            out->numbers.push_back(static_cast<int64_t>(i + 1));
            out->original.emplace_back(std::string(v));
            return true;
          }
        }
        violations->Add(
            at, absl::StrCat("unknown ", AbslView(info.name), " value",
                             Quoted(v), "; expected one of ", EnumList(info)));
        return false;
      }
      const size_t max =
          info.type == FieldType::kTags ? kMaxTagBytes : kMaxStringFieldBytes;
      if (v.size() > max) {
        violations->Add(at, absl::StrCat("must be at most ", max,
                                         " bytes (got ", v.size(), ")"));
        return false;
      }
      out->strings.push_back(LowerAscii(v));
      out->original.emplace_back(std::string(v));
      return true;
    }
    case ValueKind::kNumber: {
      const int64_t* n = std::get_if<int64_t>(&raw);
      if (n == nullptr) {
        violations->Add(at, KindProblem(kind, raw));
        return false;
      }
      if (*n < std::numeric_limits<int32_t>::min() ||
          *n > std::numeric_limits<int32_t>::max()) {
        violations->Add(at, "must fit in a 32-bit integer");
        return false;
      }
      out->numbers.push_back(*n);
      out->original.emplace_back(*n);
      return true;
    }
    case ValueKind::kDays: {
      const int64_t* n = std::get_if<int64_t>(&raw);
      if (n == nullptr) {
        violations->Add(at, KindProblem(kind, raw));
        return false;
      }
      if (*n < kMinDays || *n > kMaxDays) {
        violations->Add(at, absl::StrCat("must be between ", kMinDays, " and ",
                                         kMaxDays, " days (got ", *n, ")"));
        return false;
      }
      out->numbers.push_back(*n);
      out->original.emplace_back(*n);
      return true;
    }
    case ValueKind::kTimestamp: {
      const TimestampValue* t = std::get_if<TimestampValue>(&raw);
      if (t == nullptr) {
        violations->Add(at, KindProblem(kind, raw));
        return false;
      }
      if (t->seconds < kMinTimestamp || t->seconds > kMaxTimestamp) {
        violations->Add(at,
                        "must be between 0001-01-01T00:00:00Z and "
                        "9999-12-31T23:59:59Z");
        return false;
      }
      out->numbers.push_back(t->seconds);
      out->original.emplace_back(*t);
      return true;
    }
  }
  return false;
}

template <typename T>
void SortUnique(std::vector<T>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

std::optional<Condition> ValidateCondition(const ConditionSpec& spec,
                                           const std::string& cond,
                                           size_t max_list_values,
                                           Violations* violations) {
  const FieldInfo* info = FindField(spec.field);
  if (info == nullptr) {
    violations->Add(cond + ".field",
                    spec.field.empty()
                        ? absl::StrCat("is required; one of ", FieldList())
                        : absl::StrCat("unknown field", Quoted(spec.field),
                                       "; expected one of ", FieldList()));
  }
  std::optional<Operator> op;
  if (spec.op <= 0 || spec.op > kMaxOperator) {
    violations->Add(cond + ".operator",
                    spec.op == 0 ? std::string("is required")
                                 : absl::StrCat("unknown operator ", spec.op));
  } else {
    op = static_cast<Operator>(spec.op);
  }
  // Values can only be judged against a known field and operator.
  if (info == nullptr || !op.has_value()) return std::nullopt;
  if (!OperatorApplies(*info, *op)) {
    violations->Add(
        cond + ".operator",
        absl::StrCat(AbslView(OperatorName(*op)), " does not apply to field ",
                     AbslView(info->name), "; it takes ", OperatorList(*info)));
    return std::nullopt;
  }

  Condition out{info->field, *op, {}, {}, {}};
  const std::string values_path = cond + ".values";
  bool ok = CheckValueCount(*op, spec.values.size(), max_list_values,
                            values_path, violations);
  for (size_t i = 0; i < spec.values.size(); ++i) {
    ok &=
        ValidateValue(*info, *op, spec.values[i],
                      absl::StrCat(values_path, "[", i, "]"), &out, violations);
  }
  if (!ok) return std::nullopt;
  if (*op == Operator::kBetween && out.numbers[0] > out.numbers[1]) {
    violations->Add(values_path,
                    "low (the first value) must not exceed high (the second)");
    return std::nullopt;
  }
  if (IsListOperator(*op)) {
    SortUnique(&out.strings);
    SortUnique(&out.numbers);
  }
  return out;
}

}  // namespace

bool Condition::operator==(const Condition& o) const {
  return field == o.field && op == o.op && strings == o.strings &&
         numbers == o.numbers && original == o.original;
}

bool Filter::operator==(const Filter& o) const {
  return match == o.match && conditions == o.conditions;
}

absl::StatusOr<Filter> ValidateFilter(const FilterSpec& spec,
                                      std::string_view path,
                                      const Limits& limits) {
  Violations violations;
  Filter filter;
  switch (spec.match) {
    case 0:
    case static_cast<int>(Match::kAll):
      filter.match = Match::kAll;
      break;
    case static_cast<int>(Match::kAny):
      filter.match = Match::kAny;
      break;
    default:
      violations.Add(
          Join(path, "match"),
          absl::StrCat("unknown match ", spec.match, "; expected ALL or ANY"));
  }
  const std::string conditions_path = Join(path, "conditions");
  if (spec.conditions.empty()) {
    violations.Add(conditions_path, "must have at least one condition");
  } else if (spec.conditions.size() > limits.max_conditions) {
    violations.Add(conditions_path,
                   absl::StrCat("at most ", limits.max_conditions,
                                " conditions are allowed (limit "
                                "max_conditions; got ",
                                spec.conditions.size(), ")"));
  }
  filter.conditions.reserve(spec.conditions.size());
  for (size_t i = 0; i < spec.conditions.size(); ++i) {
    std::optional<Condition> c = ValidateCondition(
        spec.conditions[i], absl::StrCat(conditions_path, "[", i, "]"),
        limits.max_list_values, &violations);
    if (c.has_value()) filter.conditions.push_back(std::move(*c));
  }
  if (!violations.empty()) return violations.ToStatus();
  return filter;
}

FilterSpec ToSpec(const Filter& filter) {
  FilterSpec spec;
  spec.match = static_cast<int>(filter.match);
  spec.conditions.reserve(filter.conditions.size());
  for (const Condition& c : filter.conditions) {
    spec.conditions.push_back({std::string(GetFieldInfo(c.field).name),
                               static_cast<int>(c.op), c.original});
  }
  return spec;
}

ContactFieldSet FieldsRead(const Filter& filter) {
  ContactFieldSet set = 0;
  for (const Condition& c : filter.conditions) set |= FieldBit(c.field);
  return set;
}

SegmentKind KindOf(const Filter& filter) {
  for (const Condition& c : filter.conditions) {
    if (GetFieldInfo(c.field).family == RuleFamily::kSmart) {
      return SegmentKind::kSmart;
    }
  }
  return SegmentKind::kStandard;
}

Plan RequiredPlan(const Filter& filter) {
  Plan required = Plan::kStarter;
  for (const Condition& c : filter.conditions) {
    const Plan p = GetFieldInfo(c.field).required_plan;
    if (static_cast<int>(p) > static_cast<int>(required)) required = p;
  }
  return required;
}

absl::Status CheckPlanAllows(const Filter& filter, Plan plan) {
  const Plan required = RequiredPlan(filter);
  if (PlanAllows(plan, required)) return absl::OkStatus();
  // Name the first field that needs the plan the filter as a whole needs,
  // so the caller learns the upgrade that actually suffices.
  std::string_view field;
  for (const Condition& c : filter.conditions) {
    const FieldInfo& info = GetFieldInfo(c.field);
    if (info.required_plan == required) {
      field = info.name;
      break;
    }
  }
  return PlanUpgradeRequiredError(
      absl::StrCat("field ", AbslView(field), " needs"), required, plan,
      "field", std::string(field));
}

bool HasRelativeDateRule(const Filter& filter) {
  for (const Condition& c : filter.conditions) {
    if (IsRelativeDate(c.op)) return true;
  }
  return false;
}

}  // namespace segments
