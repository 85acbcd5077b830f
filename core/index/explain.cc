#include "core/index/explain.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/index/evaluator.h"
#include "core/model/field_catalog.h"

namespace segments {
namespace {

// The enum name of wire value `wire` (1-based); empty (unset) for 0.
std::vector<RawValue> EnumName(Field field, int wire) {
  const std::vector<std::string_view>& names = GetFieldInfo(field).enum_values;
  if (wire < 1 || static_cast<size_t>(wire) > names.size()) return {};
  return {RawValue(std::string(names[static_cast<size_t>(wire) - 1]))};
}

std::vector<RawValue> StringValue(const std::string& s) {
  if (s.empty()) return {};  // stored values are trimmed: empty is unset
  return {RawValue(s)};
}

ExplainedCondition ExplainGroup(const Filter& filter, const Contact& contact,
                                UnixSeconds now, const ReferenceAnswers* refs,
                                std::string path) {
  ExplainedCondition node;
  node.match = filter.match;
  const bool any = filter.match == Match::kAny;
  bool result = !any;
  for (size_t i = 0; i < filter.conditions.size(); ++i) {
    const Condition& c = filter.conditions[i];
    const std::string at = absl::StrCat(path, ".conditions[", i, "]");
    ExplainedCondition child;
    if (c.is_group()) {
      child = ExplainGroup(*c.group, contact, now, refs,
                           absl::StrCat(at, ".group"));
      child.path = at;
    } else {
      child.path = at;
      child.matches = ConditionMatches(c, contact, now, refs);
      child.condition = c;
      if (c.is_field_rule()) child.field_values = FieldValues(contact, c.field);
    }
    if (any && child.matches) result = true;
    if (!any && !child.matches) result = false;
    node.conditions.push_back(std::move(child));
  }
  node.matches = result;
  node.path = std::move(path);
  return node;
}

}  // namespace

ExplainedCondition ExplainFilter(const Filter& filter, const Contact& contact,
                                 UnixSeconds now,
                                 const ReferenceAnswers* refs) {
  return ExplainGroup(filter, contact, now, refs, "filter");
}

std::vector<RawValue> FieldValues(const Contact& contact, Field field) {
  switch (field) {
    case Field::kEmail:
      return StringValue(contact.email);
    case Field::kCompany:
      return StringValue(contact.company);
    case Field::kJobTitle:
      return StringValue(contact.job_title);
    case Field::kCountry:
      return StringValue(contact.country);
    case Field::kCity:
      return StringValue(contact.city);
    case Field::kSource:
      return StringValue(contact.source);
    case Field::kTags: {
      std::vector<RawValue> out;
      for (const std::string& t : contact.tags) out.emplace_back(t);
      return out;
    }
    case Field::kLifecycleStage:
      return EnumName(field, static_cast<int>(contact.lifecycle_stage));
    case Field::kLeadScore:
      return {RawValue(int64_t{contact.lead_score})};
    case Field::kEngagementScore:
      return {RawValue(int64_t{contact.engagement_score})};
    case Field::kEngagementTrend:
      return EnumName(field, static_cast<int>(contact.engagement_trend));
    case Field::kConversionLikelihood:
      return EnumName(field, static_cast<int>(contact.conversion_likelihood));
    case Field::kCreatedAt:
      return {RawValue(TimestampValue{contact.created_at})};
    case Field::kLastEngagedAt:
      if (!contact.last_engaged_at.has_value()) return {};
      return {RawValue(TimestampValue{*contact.last_engaged_at})};
  }
  return {};
}

}  // namespace segments
