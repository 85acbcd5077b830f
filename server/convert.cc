#include "server/convert.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/model/field_catalog.h"

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

// The core's enums carry the proto's numbers (core/base/types.h), which is
// what lets the conversions below be casts.
template <typename Core, typename Proto>
constexpr bool SameNumber(Core core, Proto proto) {
  return static_cast<int>(core) == static_cast<int>(proto);
}
static_assert(SameNumber(Plan::kUnspecified, v1::PLAN_UNSPECIFIED) &&
              SameNumber(Plan::kFree, v1::FREE) &&
              SameNumber(Plan::kStarter, v1::STARTER) &&
              SameNumber(Plan::kGrowth, v1::GROWTH) &&
              SameNumber(Plan::kPro, v1::PRO) &&
              SameNumber(Plan::kPro, v1::Plan_MAX));
static_assert(SameNumber(LifecycleStage::kSubscriber, v1::SUBSCRIBER) &&
              SameNumber(LifecycleStage::kLead, v1::LEAD) &&
              SameNumber(LifecycleStage::kMql, v1::MQL) &&
              SameNumber(LifecycleStage::kSql, v1::SQL) &&
              SameNumber(LifecycleStage::kCustomer, v1::CUSTOMER) &&
              SameNumber(LifecycleStage::kCustomer, v1::LifecycleStage_MAX));
static_assert(SameNumber(EngagementTrend::kUnset,
                         v1::ENGAGEMENT_TREND_UNSPECIFIED) &&
              SameNumber(EngagementTrend::kRising, v1::RISING) &&
              SameNumber(EngagementTrend::kStable, v1::STABLE) &&
              SameNumber(EngagementTrend::kDeclining, v1::DECLINING) &&
              SameNumber(EngagementTrend::kDeclining, v1::EngagementTrend_MAX));
static_assert(SameNumber(ConversionLikelihood::kUnset,
                         v1::CONVERSION_LIKELIHOOD_UNSPECIFIED) &&
              SameNumber(ConversionLikelihood::kLow, v1::LOW) &&
              SameNumber(ConversionLikelihood::kPossible, v1::POSSIBLE) &&
              SameNumber(ConversionLikelihood::kLikely, v1::LIKELY) &&
              SameNumber(ConversionLikelihood::kVeryLikely, v1::VERY_LIKELY) &&
              SameNumber(ConversionLikelihood::kVeryLikely,
                         v1::ConversionLikelihood_MAX));
static_assert(SameNumber(SegmentKind::kStandard, v1::STANDARD) &&
              SameNumber(SegmentKind::kSmart, v1::SMART) &&
              SameNumber(SegmentState::kActive, v1::ACTIVE) &&
              SameNumber(SegmentState::kPlanRestricted, v1::PLAN_RESTRICTED));
static_assert(SameNumber(Match::kAll, v1::Filter::ALL) &&
              SameNumber(Match::kAny, v1::Filter::ANY));
static_assert(SameNumber(Operator::kEquals, v1::Condition::EQUALS) &&
              SameNumber(Operator::kContains, v1::Condition::CONTAINS) &&
              SameNumber(Operator::kEndsWith, v1::Condition::ENDS_WITH) &&
              SameNumber(Operator::kBetween, v1::Condition::BETWEEN) &&
              SameNumber(Operator::kHasNone, v1::Condition::HAS_NONE) &&
              SameNumber(Operator::kWithinLastDays,
                         v1::Condition::WITHIN_LAST_DAYS) &&
              SameNumber(Operator::kIsNotSet, v1::Condition::IS_NOT_SET) &&
              SameNumber(Operator::kInSegment, v1::Condition::IN_SEGMENT) &&
              SameNumber(Operator::kNotInSegment,
                         v1::Condition::NOT_IN_SEGMENT) &&
              kMaxOperator == v1::Condition::Operator_MAX);
// FieldType's order is the proto's, shifted past TYPE_UNSPECIFIED.
static_assert(SameNumber(FieldType::kString, v1::RuleField::STRING - 1) &&
              SameNumber(FieldType::kTags, v1::RuleField::TAGS - 1) &&
              SameNumber(FieldType::kOrderedEnum,
                         v1::RuleField::ORDERED_ENUM - 1) &&
              SameNumber(FieldType::kEnum, v1::RuleField::ENUM - 1) &&
              SameNumber(FieldType::kNumber, v1::RuleField::NUMBER - 1) &&
              SameNumber(FieldType::kTimestamp, v1::RuleField::TIMESTAMP - 1) &&
              v1::RuleField::Type_MAX == v1::RuleField::TIMESTAMP);

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

bool NanosInRange(const google::protobuf::Timestamp& ts) {
  return ts.nanos() >= 0 && ts.nanos() <= kMaxNanos;
}

// Names a contact in a request ("contact", or "contacts[3]" from a list and
// an index) and builds the path of one of its fields only when asked.
class ContactPath {
 public:
  explicit ContactPath(std::string_view path) : base_(path) {}
  ContactPath(std::string_view list, int index) : base_(list), index_(index) {}

  std::string Field(std::string_view field) const {
    if (index_ < 0) return absl::StrCat(AV(base_), ".", AV(field));
    return absl::StrCat(AV(base_), "[", index_, "].", AV(field));
  }

 private:
  std::string_view base_;
  int index_ = -1;
};

// SecondsFromProto with the path built only for a violation.
std::optional<UnixSeconds> ContactSeconds(const google::protobuf::Timestamp& ts,
                                          const ContactPath& contact,
                                          std::string_view field,
                                          Violations* violations) {
  if (NanosInRange(ts)) return ts.seconds();
  return SecondsFromProto(ts, contact.Field(field), violations);
}

// Every field of a draft but the strings and tags.
void ScalarsFromProto(const v1::Contact& proto, const ContactPath& path,
                      Violations* violations, ContactDraft* draft) {
  draft->lifecycle_stage = proto.lifecycle_stage();
  draft->lead_score = proto.lead_score();
  draft->engagement_score = proto.engagement_score();
  draft->engagement_trend = proto.engagement_trend();
  draft->conversion_likelihood = proto.conversion_likelihood();
  if (proto.has_created_at()) {
    draft->created_at =
        ContactSeconds(proto.created_at(), path, "created_at", violations);
  }
  if (proto.has_last_engaged_at()) {
    draft->last_engaged_at = ContactSeconds(proto.last_engaged_at(), path,
                                            "last_engaged_at", violations);
  }
}

// Every field of `out` but id, the strings and tags.
void ScalarsToProto(const Contact& contact, v1::Contact* out) {
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

// Moves a string field's value out. An unset field has no string of its own
// (mutable_*() would allocate one only to empty it), so it is left alone.
void TakeString(const std::string& value, std::string* (v1::Contact::*mut)(),
                v1::Contact* proto, std::string* out) {
  if (!value.empty()) *out = std::move(*(proto->*mut)());
}

// A draft of `proto`, its strings and tags moved out.
ContactDraft DraftFromProto(v1::Contact&& proto, const ContactPath& path,
                            Violations* violations) {
  ContactDraft draft;
  TakeString(proto.email(), &v1::Contact::mutable_email, &proto, &draft.email);
  TakeString(proto.company(), &v1::Contact::mutable_company, &proto,
             &draft.company);
  TakeString(proto.job_title(), &v1::Contact::mutable_job_title, &proto,
             &draft.job_title);
  TakeString(proto.country(), &v1::Contact::mutable_country, &proto,
             &draft.country);
  TakeString(proto.city(), &v1::Contact::mutable_city, &proto, &draft.city);
  TakeString(proto.source(), &v1::Contact::mutable_source, &proto,
             &draft.source);
  draft.tags.reserve(static_cast<size_t>(proto.tags_size()));
  for (std::string& tag : *proto.mutable_tags()) {
    draft.tags.push_back(std::move(tag));
  }
  ScalarsFromProto(proto, path, violations, &draft);
  return draft;
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
  return DraftFromProto(v1::Contact(proto), ContactPath(path), violations);
}

ContactDraft ContactDraftFromProto(v1::Contact&& proto, std::string_view list,
                                   int index, Violations* violations) {
  return DraftFromProto(std::move(proto), ContactPath(list, index), violations);
}

void ContactToProto(const Contact& contact, v1::Contact* out) {
  ContactToProto(Contact(contact), v1::CONTACT_VIEW_FULL, out);
}

void ContactToProto(Contact&& contact, v1::ContactView view, v1::Contact* out) {
  out->set_id(contact.id);
  out->set_email(std::move(contact.email));
  if (view == v1::CONTACT_VIEW_BASIC) return;
  out->set_company(std::move(contact.company));
  out->set_job_title(std::move(contact.job_title));
  out->set_country(std::move(contact.country));
  out->set_city(std::move(contact.city));
  out->set_source(std::move(contact.source));
  google::protobuf::RepeatedPtrField<std::string>* tags = out->mutable_tags();
  tags->Clear();
  tags->Reserve(static_cast<int>(contact.tags.size()));
  for (std::string& tag : contact.tags) tags->Add(std::move(tag));
  ScalarsToProto(contact, out);
}

v1::ContactView ContactViewFromProto(int view, v1::ContactView method_default,
                                     std::string_view path,
                                     Violations* violations) {
  if (!v1::ContactView_IsValid(view)) {
    violations->Add(std::string(path),
                    absl::StrCat("unknown contact view ", view));
    return method_default;
  }
  if (view == v1::CONTACT_VIEW_UNSPECIFIED) return method_default;
  return static_cast<v1::ContactView>(view);
}

FilterSpec FilterSpecFromProto(const v1::Filter& proto, std::string_view path,
                               Violations* violations) {
  FilterSpec spec;
  spec.match = proto.match();
  spec.conditions.reserve(proto.conditions_size());
  for (int i = 0; i < proto.conditions_size(); ++i) {
    const v1::Condition& c = proto.conditions(i);
    const std::string at = absl::StrCat(AV(path), ".conditions[", i, "]");
    ConditionSpec cond;
    cond.field = c.field();
    cond.op = c.operator_();
    cond.segment_id = c.segment_id();
    cond.values.reserve(c.values_size());
    for (int j = 0; j < c.values_size(); ++j) {
      cond.values.push_back(ValueFromProto(
          c.values(j), absl::StrCat(at, ".values[", j, "]"), violations));
    }
    // Protobuf's parser bounds the nesting (100 levels); validation refuses
    // more than the limit allows.
    if (c.has_group()) {
      cond.group = FilterSpecFromProto(c.group(), at + ".group", violations);
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
    c->set_segment_id(cond.segment_id);
    if (cond.group.has_value()) {
      FilterSpecToProto(*cond.group, c->mutable_group());
    }
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

void SegmentImpactToProto(const SegmentImpact& impact, v1::Segment* out) {
  SegmentViewToProto(impact.view, out);
  v1::SegmentImpact* i = out->mutable_impact();
  i->set_entered_count(impact.entered_count);
  i->set_left_count(impact.left_count);
  for (ContactId id : impact.sample_entered)
    i->add_sample_entered_contact_ids(id);
  for (ContactId id : impact.sample_left) i->add_sample_left_contact_ids(id);
  for (ContactId id : impact.sample_members)
    i->add_sample_member_contact_ids(id);
}

namespace {

void ExplainedToProto(const ExplainedCondition& node,
                      v1::ConditionExplanation* out) {
  out->set_path(node.path);
  out->set_matches(node.matches);
  if (node.condition.has_value()) {
    // A leaf: echoed as the caller's form, as a segment's filter is.
    Filter one;
    one.conditions.push_back(*node.condition);
    const FilterSpec spec = ToSpec(one);
    v1::Filter f;
    FilterSpecToProto(spec, &f);
    *out->mutable_condition() = f.conditions(0);
    for (const RawValue& v : node.field_values)
      ValueToProto(v, out->add_field_values());
    return;
  }
  out->set_match(node.match == Match::kAny ? v1::Filter::ANY : v1::Filter::ALL);
  for (const ExplainedCondition& child : node.conditions)
    ExplainedToProto(child, out->add_conditions());
}

}  // namespace

void ExplanationToProto(const MembershipExplanation& explanation,
                        v1::ExplainMembershipResponse* out) {
  out->set_member(explanation.member);
  ExplainedToProto(explanation.filter, out->mutable_filter());
  out->set_state(static_cast<v1::SegmentState>(explanation.state));
  out->set_as_of_sequence(explanation.as_of_sequence);
  SecondsToProto(explanation.evaluated_at, out->mutable_evaluate_time());
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

void RuleCatalogToProto(Plan plan, v1::RuleCatalog* out, const Limits& limits) {
  out->set_plan(static_cast<v1::Plan>(plan));
  out->add_reference_operators(v1::Condition::IN_SEGMENT);
  out->add_reference_operators(v1::Condition::NOT_IN_SEGMENT);
  out->set_max_group_depth(static_cast<int32_t>(limits.max_group_depth));
  out->set_max_conditions(static_cast<int32_t>(limits.max_conditions));
  out->set_max_list_values(static_cast<int32_t>(limits.max_list_values));
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
