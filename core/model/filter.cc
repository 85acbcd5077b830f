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

// A field rule: field + operator + values.
std::optional<Condition> ValidateFieldRule(const ConditionSpec& spec,
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
  if (spec.segment_id != 0) {
    violations->Add(cond + ".segment_id",
                    "only IN_SEGMENT and NOT_IN_SEGMENT take a segment_id");
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
  if (!ok || spec.segment_id != 0) return std::nullopt;
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

// IN_SEGMENT / NOT_IN_SEGMENT segment_id. Whether the segment exists, and
// whether the reference would close a cycle, only the workspace can tell.
std::optional<Condition> ValidateReference(const ConditionSpec& spec,
                                           const std::string& cond,
                                           Violations* violations) {
  const Operator op = static_cast<Operator>(spec.op);
  if (!spec.field.empty()) {
    // Reported at the operator, like every operator that does not apply to
    // the field it names.
    const FieldInfo* info = FindField(spec.field);
    const std::string applies =
        info == nullptr
            ? std::string()
            : absl::StrCat(" does not apply to field ", AbslView(info->name),
                           ", which takes ", OperatorList(*info), ";");
    violations->Add(cond + ".operator",
                    absl::StrCat(AbslView(OperatorName(op)), applies,
                                 " it reads no field but refers to a segment "
                                 "by segment_id (leave field empty)"));
    return std::nullopt;
  }
  bool ok = true;
  if (!spec.values.empty()) {
    violations->Add(cond + ".values", absl::StrCat(AbslView(OperatorName(op)),
                                                   " takes no values (got ",
                                                   spec.values.size(), ")"));
    ok = false;
  }
  if (spec.segment_id == 0) {
    violations->Add(
        cond + ".segment_id",
        absl::StrCat("is required for ", AbslView(OperatorName(op))));
    ok = false;
  }
  if (!ok) return std::nullopt;
  Condition out{Field::kEmail, op, {}, {}, {}};
  out.segment_id = spec.segment_id;
  return out;
}

std::optional<Filter> ValidateGroup(const FilterSpec& spec,
                                    const std::string& path, size_t depth,
                                    const Limits& limits, size_t* leaves,
                                    Violations* violations);

// A nested group: match over conditions of its own, nothing else.
std::optional<Condition> ValidateNested(const ConditionSpec& spec,
                                        const std::string& cond, size_t depth,
                                        const Limits& limits, size_t* leaves,
                                        Violations* violations) {
  bool ok = true;
  auto refuse = [&](std::string_view member, std::string_view what) {
    violations->Add(
        absl::StrCat(cond, ".", AbslView(member)),
        absl::StrCat("must be empty in a group (", AbslView(what), ")"));
    ok = false;
  };
  if (!spec.field.empty()) refuse("field", "a group reads no field itself");
  if (spec.op != 0) refuse("operator", "a group has match instead");
  if (!spec.values.empty()) refuse("values", "a group has no values");
  if (spec.segment_id != 0) refuse("segment_id", "a group refers to none");
  const std::string group_path = cond + ".group";
  if (depth + 1 > limits.max_group_depth) {
    // Not descended into: a deeper tree is refused whatever it holds.
    violations->Add(group_path,
                    absl::StrCat("groups nest at most ", limits.max_group_depth,
                                 " levels deep, the filter itself included "
                                 "(limit max_group_depth)"));
    return std::nullopt;
  }
  std::optional<Filter> group = ValidateGroup(
      *spec.group, group_path, depth + 1, limits, leaves, violations);
  if (!ok || !group.has_value()) return std::nullopt;
  Condition out{Field::kEmail, Operator::kUnspecified, {}, {}, {}};
  out.group = std::move(*group);
  return out;
}

std::optional<Condition> ValidateCondition(const ConditionSpec& spec,
                                           const std::string& cond,
                                           size_t depth, const Limits& limits,
                                           size_t* leaves,
                                           Violations* violations) {
  if (spec.group.has_value()) {
    return ValidateNested(spec, cond, depth, limits, leaves, violations);
  }
  ++*leaves;
  if (spec.op == static_cast<int>(Operator::kInSegment) ||
      spec.op == static_cast<int>(Operator::kNotInSegment)) {
    return ValidateReference(spec, cond, violations);
  }
  return ValidateFieldRule(spec, cond, limits.max_list_values, violations);
}

// `depth`: 1 for the filter itself.
std::optional<Filter> ValidateGroup(const FilterSpec& spec,
                                    const std::string& path, size_t depth,
                                    const Limits& limits, size_t* leaves,
                                    Violations* violations) {
  Filter filter;
  bool ok = true;
  switch (spec.match) {
    case 0:
    case static_cast<int>(Match::kAll):
      filter.match = Match::kAll;
      break;
    case static_cast<int>(Match::kAny):
      filter.match = Match::kAny;
      break;
    default:
      violations->Add(
          Join(path, "match"),
          absl::StrCat("unknown match ", spec.match, "; expected ALL or ANY"));
      ok = false;
  }
  const std::string conditions_path = Join(path, "conditions");
  if (spec.conditions.empty()) {
    violations->Add(conditions_path, "must have at least one condition");
    ok = false;
  }
  filter.conditions.reserve(spec.conditions.size());
  for (size_t i = 0; i < spec.conditions.size(); ++i) {
    std::optional<Condition> c = ValidateCondition(
        spec.conditions[i], absl::StrCat(conditions_path, "[", i, "]"), depth,
        limits, leaves, violations);
    if (c.has_value()) {
      filter.conditions.push_back(std::move(*c));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return filter;
}

template <typename Visit>
void VisitFieldRules(const Filter& filter, const Visit& visit) {
  for (const Condition& c : filter.conditions) {
    if (c.is_group()) {
      VisitFieldRules(*c.group, visit);
    } else if (c.is_field_rule()) {
      visit(c);
    }
  }
}

}  // namespace

bool Condition::operator==(const Condition& o) const {
  return field == o.field && op == o.op && strings == o.strings &&
         numbers == o.numbers && original == o.original &&
         segment_id == o.segment_id && group == o.group;
}

bool Filter::operator==(const Filter& o) const {
  return match == o.match && conditions == o.conditions;
}

absl::StatusOr<Filter> ValidateFilter(const FilterSpec& spec,
                                      std::string_view path,
                                      const Limits& limits) {
  Violations violations;
  size_t leaves = 0;
  std::optional<Filter> filter =
      ValidateGroup(spec, std::string(path), 1, limits, &leaves, &violations);
  if (leaves > limits.max_conditions) {
    violations.Add(Join(path, "conditions"),
                   absl::StrCat("at most ", limits.max_conditions,
                                " conditions are allowed (limit "
                                "max_conditions, counting those in nested "
                                "groups; got ",
                                leaves, ")"));
  }
  if (!violations.empty()) return violations.ToStatus();
  return *std::move(filter);
}

FilterSpec ToSpec(const Filter& filter) {
  FilterSpec spec;
  spec.match = static_cast<int>(filter.match);
  spec.conditions.reserve(filter.conditions.size());
  for (const Condition& c : filter.conditions) {
    ConditionSpec& out = spec.conditions.emplace_back();
    if (c.is_group()) {
      out.group = ToSpec(*c.group);
    } else if (c.is_reference()) {
      out.op = static_cast<int>(c.op);
      out.segment_id = c.segment_id;
    } else {
      out.field = std::string(GetFieldInfo(c.field).name);
      out.op = static_cast<int>(c.op);
      out.values = c.original;
    }
  }
  return spec;
}

ContactFieldSet FieldsRead(const Filter& filter) {
  ContactFieldSet set = 0;
  VisitFieldRules(filter,
                  [&set](const Condition& c) { set |= FieldBit(c.field); });
  return set;
}

SegmentKind KindOf(const Filter& filter) {
  SegmentKind kind = SegmentKind::kStandard;
  VisitFieldRules(filter, [&kind](const Condition& c) {
    if (GetFieldInfo(c.field).family == RuleFamily::kSmart) {
      kind = SegmentKind::kSmart;
    }
  });
  return kind;
}

Plan RequiredPlan(const Filter& filter) {
  Plan required = Plan::kStarter;
  VisitFieldRules(filter, [&required](const Condition& c) {
    const Plan p = GetFieldInfo(c.field).required_plan;
    if (static_cast<int>(p) > static_cast<int>(required)) required = p;
  });
  return required;
}

std::string_view FirstFieldNeeding(const Filter& filter, Plan plan) {
  std::string_view field;
  VisitFieldRules(filter, [&](const Condition& c) {
    const FieldInfo& info = GetFieldInfo(c.field);
    if (field.empty() && info.required_plan == plan) field = info.name;
  });
  return field;
}

absl::Status CheckPlanAllows(const Filter& filter, Plan plan) {
  const Plan required = RequiredPlan(filter);
  if (PlanAllows(plan, required)) return absl::OkStatus();
  // Name the first field that needs the plan the filter as a whole needs,
  // so the caller learns the upgrade that actually suffices.
  const std::string_view field = FirstFieldNeeding(filter, required);
  return PlanUpgradeRequiredError(
      absl::StrCat("field ", AbslView(field), " needs"), required, plan,
      "field", std::string(field));
}

bool HasRelativeDateRule(const Filter& filter) {
  bool found = false;
  VisitFieldRules(
      filter, [&found](const Condition& c) { found |= IsRelativeDate(c.op); });
  return found;
}

bool HasReferences(const Filter& filter) {
  for (const Condition& c : filter.conditions) {
    if (c.is_reference()) return true;
    if (c.is_group() && HasReferences(*c.group)) return true;
  }
  return false;
}

namespace {

// Without the paths ForEachReference spells out for error messages.
void CollectReferences(const Filter& filter, std::vector<SegmentId>* ids) {
  for (const Condition& c : filter.conditions) {
    if (c.is_group()) {
      CollectReferences(*c.group, ids);
    } else if (c.is_reference()) {
      ids->push_back(c.segment_id);
    }
  }
}

}  // namespace

std::vector<SegmentId> ReferencedSegments(const Filter& filter) {
  std::vector<SegmentId> ids;
  CollectReferences(filter, &ids);
  SortUnique(&ids);
  return ids;
}

void ForEachReference(
    const Filter& filter, std::string_view path,
    const std::function<void(const std::string&, SegmentId)>& visit) {
  const std::string conditions_path = Join(path, "conditions");
  for (size_t i = 0; i < filter.conditions.size(); ++i) {
    const Condition& c = filter.conditions[i];
    const std::string at = absl::StrCat(conditions_path, "[", i, "]");
    if (c.is_group()) {
      ForEachReference(*c.group, at + ".group", visit);
    } else if (c.is_reference()) {
      visit(at + ".segment_id", c.segment_id);
    }
  }
}

void ForEachFieldRule(const Filter& filter,
                      const std::function<void(const Condition&)>& visit) {
  VisitFieldRules(filter, visit);
}

}  // namespace segments
