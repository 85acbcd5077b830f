#include "server/convert.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/field_catalog.h"

namespace segments {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Debian's Abseil has its own string_view; convert explicitly.
absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

constexpr int32_t kMaxNanos = 999999999;

RawValue ValueFromProto(const v1::Value& proto, std::string_view path,
                        Violations* violations) {
  switch (proto.kind_case()) {
    case v1::Value::kStringValue:
      return proto.string_value();
    case v1::Value::kNumberValue:
      return proto.number_value();
    case v1::Value::kTimestampValue: {
      std::optional<UnixSeconds> seconds =
          SecondsFromProto(proto.timestamp_value(), path, violations);
      return TimestampValue{seconds.value_or(0)};
    }
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return NoValue{};
}

void ValueToProto(const RawValue& value, v1::Value* out) {
  std::visit(Overloaded{
                 [](const NoValue&) {},
                 [out](const std::string& s) { out->set_string_value(s); },
                 [out](int64_t n) { out->set_number_value(n); },
                 [out](const TimestampValue& t) {
                   SecondsToProto(t.seconds, out->mutable_timestamp_value());
                 },
             },
             value);
}

}  // namespace

std::optional<UnixSeconds> SecondsFromProto(
    const google::protobuf::Timestamp& ts, std::string_view path,
    Violations* violations) {
  if (ts.nanos() < 0 || ts.nanos() > kMaxNanos) {
    violations->Add(std::string(path), "nanos must be within 0..999999999");
    return std::nullopt;
  }
  return ts.seconds();
}

void SecondsToProto(UnixSeconds seconds, google::protobuf::Timestamp* out) {
  out->set_seconds(seconds);
  out->set_nanos(0);
}

ContactDraft ContactDraftFromProto(const v1::Contact& proto,
                                   std::string_view path,
                                   Violations* violations) {
  ContactDraft draft;
  draft.email = proto.email();
  draft.company = proto.company();
  draft.job_title = proto.job_title();
  draft.country = proto.country();
  draft.city = proto.city();
  draft.source = proto.source();
  draft.tags.assign(proto.tags().begin(), proto.tags().end());
  draft.lifecycle_stage = proto.lifecycle_stage();
  draft.lead_score = proto.lead_score();
  draft.engagement_score = proto.engagement_score();
  draft.engagement_trend = proto.engagement_trend();
  draft.conversion_likelihood = proto.conversion_likelihood();
  if (proto.has_created_at()) {
    draft.created_at = SecondsFromProto(
        proto.created_at(), absl::StrCat(AV(path), ".created_at"), violations);
  }
  if (proto.has_last_engaged_at()) {
    draft.last_engaged_at = SecondsFromProto(
        proto.last_engaged_at(), absl::StrCat(AV(path), ".last_engaged_at"),
        violations);
  }
  return draft;
}

void ContactToProto(const Contact& contact, v1::Contact* out) {
  out->set_id(contact.id);
  out->set_email(contact.email);
  out->set_company(contact.company);
  out->set_job_title(contact.job_title);
  out->set_country(contact.country);
  out->set_city(contact.city);
  out->set_source(contact.source);
  out->mutable_tags()->Assign(contact.tags.begin(), contact.tags.end());
  out->set_lifecycle_stage(
      static_cast<v1::LifecycleStage>(contact.lifecycle_stage));
  out->set_lead_score(contact.lead_score);
  out->set_engagement_score(contact.engagement_score);
  out->set_engagement_trend(
      static_cast<v1::EngagementTrend>(contact.engagement_trend));
  out->set_conversion_likelihood(
      static_cast<v1::ConversionLikelihood>(contact.conversion_likelihood));
  SecondsToProto(contact.created_at, out->mutable_created_at());
  if (contact.last_engaged_at.has_value()) {
    SecondsToProto(*contact.last_engaged_at, out->mutable_last_engaged_at());
  } else {
    out->clear_last_engaged_at();
  }
}

FilterSpec FilterSpecFromProto(const v1::Filter& proto, std::string_view path,
                               Violations* violations) {
  FilterSpec spec;
  spec.match = proto.match();
  spec.conditions.reserve(proto.conditions_size());
  for (int i = 0; i < proto.conditions_size(); ++i) {
    const v1::Condition& c = proto.conditions(i);
    ConditionSpec cond;
    cond.field = c.field();
    cond.op = c.operator_();
    cond.values.reserve(c.values_size());
    for (int j = 0; j < c.values_size(); ++j) {
      cond.values.push_back(ValueFromProto(
          c.values(j),
          absl::StrCat(AV(path), ".conditions[", i, "].values[", j, "]"),
          violations));
    }
    spec.conditions.push_back(std::move(cond));
  }
  return spec;
}

void FilterSpecToProto(const FilterSpec& spec, v1::Filter* out) {
  out->set_match(static_cast<v1::Filter::Match>(spec.match));
  out->clear_conditions();
  for (const ConditionSpec& cond : spec.conditions) {
    v1::Condition* c = out->add_conditions();
    c->set_field(cond.field);
    c->set_operator_(static_cast<v1::Condition::Operator>(cond.op));
    for (const RawValue& value : cond.values)
      ValueToProto(value, c->add_values());
  }
}

SegmentDraft SegmentDraftFromProto(const v1::Segment& proto,
                                   std::string_view path,
                                   Violations* violations) {
  SegmentDraft draft;
  draft.display_name = proto.display_name();
  draft.filter = FilterSpecFromProto(
      proto.filter(), absl::StrCat(AV(path), ".filter"), violations);
  return draft;
}

void SegmentViewToProto(const SegmentView& view, v1::Segment* out) {
  const SegmentRecord& r = view.record;
  out->set_id(r.id);
  out->set_display_name(r.display_name);
  FilterSpecToProto(ToSpec(r.filter), out->mutable_filter());
  out->set_kind(static_cast<v1::SegmentKind>(view.kind));
  out->set_state(static_cast<v1::SegmentState>(r.state));
  out->set_member_count(view.member_count);
  out->set_as_of_sequence(view.as_of_sequence);
  SecondsToProto(r.create_time, out->mutable_create_time());
  SecondsToProto(r.update_time, out->mutable_update_time());
}

Plan PlanFromProto(int plan) {
  // Plan has a fixed underlying type, so every int is a value of it.
  return static_cast<Plan>(plan);
}

void WorkspaceToProto(const WorkspaceRecord& record, v1::Workspace* out) {
  out->set_id(record.id);
  out->set_display_name(record.display_name);
  out->set_plan(static_cast<v1::Plan>(record.plan));
  SecondsToProto(record.create_time, out->mutable_create_time());
}

void PreviewToProto(const PreviewResult& result,
                    v1::PreviewSegmentResponse* out) {
  out->set_member_count(result.member_count);
  for (ContactId id : result.sample) out->add_sample_contact_ids(id);
  out->set_kind(static_cast<v1::SegmentKind>(result.kind));
  out->set_as_of_sequence(result.as_of_sequence);
}

void RuleCatalogToProto(Plan plan, v1::RuleCatalog* out) {
  out->set_plan(static_cast<v1::Plan>(plan));
  for (const FieldInfo& info : AllFields()) {
    v1::RuleField* field = out->add_fields();
    field->set_name(std::string(info.name));
    // FieldType's order is the proto's, shifted past TYPE_UNSPECIFIED.
    field->set_type(
        static_cast<v1::RuleField::Type>(static_cast<int>(info.type) + 1));
    for (Operator op : info.operators) {
      field->add_operators(static_cast<v1::Condition::Operator>(op));
    }
    for (std::string_view value : info.enum_values) {
      field->add_enum_values(std::string(value));
    }
    field->set_required_plan(static_cast<v1::Plan>(info.required_plan));
    field->set_allowed(plan >= info.required_plan);
    field->set_family(info.family == RuleFamily::kSmart ? v1::SMART
                                                        : v1::STANDARD);
    field->set_optional(info.optional);
  }
}

}  // namespace segments
