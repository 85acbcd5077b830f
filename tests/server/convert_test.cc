// Proto <-> core translation: values copied as sent, nanos truncated or
// reported, filters round-trip through the core's validation.
#include "server/convert.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAre;

TEST(Convert, TimestampNanosAreTruncated) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1700000000);
  ts.set_nanos(999999999);
  Violations v;
  EXPECT_EQ(SecondsFromProto(ts, "t", &v), 1700000000);
  EXPECT_TRUE(v.empty());
}

TEST(Convert, TimestampNanosOutOfRangeIsAViolation) {
  for (int32_t nanos : {-1, 1000000000}) {
    google::protobuf::Timestamp ts;
    ts.set_nanos(nanos);
    Violations v;
    EXPECT_EQ(SecondsFromProto(ts, "contact.created_at", &v), std::nullopt);
    ASSERT_EQ(v.list().size(), 1u);
    EXPECT_EQ(v.list()[0].field, "contact.created_at");
  }
}

TEST(Convert, ContactDraftCopiesEveryField) {
  v1::Contact proto;
  proto.set_id(7);
  proto.set_email(" A@B.example ");
  proto.set_company("Acme");
  proto.set_job_title("CTO");
  proto.set_country("Germany");
  proto.set_city("Berlin");
  proto.set_source("webinar");
  proto.add_tags("x");
  proto.add_tags("Y");
  proto.set_lifecycle_stage(
      static_cast<v1::LifecycleStage>(42));  // passed on as is
  proto.set_lead_score(-5);
  proto.set_engagement_score(50);
  proto.set_engagement_trend(v1::RISING);
  proto.set_conversion_likelihood(v1::LIKELY);
  proto.mutable_created_at()->set_seconds(100);
  Violations v;
  ContactDraft d = ContactDraftFromProto(proto, "contact", &v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(d.email, " A@B.example ");
  EXPECT_EQ(d.company, "Acme");
  EXPECT_EQ(d.job_title, "CTO");
  EXPECT_EQ(d.country, "Germany");
  EXPECT_EQ(d.city, "Berlin");
  EXPECT_EQ(d.source, "webinar");
  EXPECT_THAT(d.tags, ElementsAre("x", "Y"));
  EXPECT_EQ(d.lifecycle_stage, 42);
  EXPECT_EQ(d.lead_score, -5);
  EXPECT_EQ(d.engagement_score, 50);
  EXPECT_EQ(d.engagement_trend, 1);
  EXPECT_EQ(d.conversion_likelihood, 3);
  EXPECT_EQ(d.created_at, 100);
  EXPECT_EQ(d.last_engaged_at, std::nullopt);  // absent stays absent
}

TEST(Convert, ContactToProtoSetsOptionalTimestampsOnlyWhenSet) {
  Contact c;
  c.id = 3;
  c.email = "a@b.example";
  c.created_at = 10;
  v1::Contact proto;
  ContactToProto(c, &proto);
  EXPECT_EQ(proto.id(), 3u);
  EXPECT_EQ(proto.lifecycle_stage(), v1::SUBSCRIBER);
  EXPECT_EQ(proto.created_at().seconds(), 10);
  EXPECT_FALSE(proto.has_last_engaged_at());
  c.last_engaged_at = 20;
  ContactToProto(c, &proto);
  EXPECT_EQ(proto.last_engaged_at().seconds(), 20);
}

// A contact proto with every field set, strings longer than the small-string
// buffer so that a move really takes them.
v1::Contact EveryField() {
  v1::Contact proto;
  proto.set_id(7);
  proto.set_email(" Someone.Long@Example.example ");
  proto.set_company("Acme Corporation International");
  proto.set_job_title("Chief Technology Officer");
  proto.set_country("Federal Republic of Germany");
  proto.set_city("Berlin-Charlottenburg-Wilmersdorf");
  proto.set_source("webinar on segmentation, spring");
  proto.add_tags("a-rather-long-tag-name-number-one");
  proto.add_tags("Y");
  proto.set_lifecycle_stage(static_cast<v1::LifecycleStage>(42));
  proto.set_lead_score(-5);
  proto.set_engagement_score(50);
  proto.set_engagement_trend(v1::RISING);
  proto.set_conversion_likelihood(v1::LIKELY);
  proto.mutable_created_at()->set_seconds(100);
  proto.mutable_last_engaged_at()->set_seconds(200);
  return proto;
}

void ExpectSameDraft(const ContactDraft& a, const ContactDraft& b) {
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.company, b.company);
  EXPECT_EQ(a.job_title, b.job_title);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.city, b.city);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.lifecycle_stage, b.lifecycle_stage);
  EXPECT_EQ(a.lead_score, b.lead_score);
  EXPECT_EQ(a.engagement_score, b.engagement_score);
  EXPECT_EQ(a.engagement_trend, b.engagement_trend);
  EXPECT_EQ(a.conversion_likelihood, b.conversion_likelihood);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_engaged_at, b.last_engaged_at);
}

TEST(Convert, MovingContactDraftEqualsTheCopyAndTakesTheStrings) {
  google::protobuf::Arena arena;
  v1::Contact on_stack;
  // On an arena (as the batch handler parses) and on the heap.
  for (v1::Contact* proto :
       {google::protobuf::Arena::CreateMessage<v1::Contact>(&arena),
        &on_stack}) {
    *proto = EveryField();
    Violations copy_violations;
    ContactDraft copied =
        ContactDraftFromProto(*proto, "contact", &copy_violations);
    Violations v;
    ContactDraft moved =
        ContactDraftFromProto(std::move(*proto), "contacts", 3, &v);
    EXPECT_TRUE(v.empty());
    ExpectSameDraft(moved, copied);
    EXPECT_EQ(moved.email, " Someone.Long@Example.example ");
    EXPECT_THAT(moved.tags,
                ElementsAre("a-rather-long-tag-name-number-one", "Y"));
    EXPECT_TRUE(proto->company().empty());
  }
  // An unset field stays unset.
  v1::Contact sparse;
  sparse.set_email("a@b.example");
  Violations v;
  ContactDraft d = ContactDraftFromProto(std::move(sparse), "contacts", 0, &v);
  EXPECT_EQ(d.email, "a@b.example");
  EXPECT_EQ(d.company, "");
  EXPECT_TRUE(d.tags.empty());
  EXPECT_EQ(d.created_at, std::nullopt);
  EXPECT_EQ(d.last_engaged_at, std::nullopt);
  EXPECT_TRUE(v.empty());
}

TEST(Convert, ContactInAListNamesItsIndexOnlyWhenWrong) {
  v1::Contact proto = EveryField();
  proto.mutable_created_at()->set_nanos(-1);
  proto.mutable_last_engaged_at()->set_nanos(1000000000);
  Violations v;
  ContactDraft d = ContactDraftFromProto(std::move(proto), "contacts", 7, &v);
  ASSERT_EQ(v.list().size(), 2u);
  EXPECT_EQ(v.list()[0].field, "contacts[7].created_at");
  EXPECT_EQ(v.list()[0].description, "nanos must be within 0..999999999");
  EXPECT_EQ(v.list()[1].field, "contacts[7].last_engaged_at");
  EXPECT_EQ(d.created_at, std::nullopt);
  // The single-contact form names the same fields as before.
  proto = EveryField();
  proto.mutable_created_at()->set_nanos(-1);
  Violations single;
  ContactDraftFromProto(proto, "contact", &single);
  ASSERT_EQ(single.list().size(), 1u);
  EXPECT_EQ(single.list()[0].field, "contact.created_at");
  // Nanos in range are truncated, as SecondsFromProto does.
  proto = EveryField();
  proto.mutable_created_at()->set_nanos(999999999);
  Violations none;
  EXPECT_EQ(
      ContactDraftFromProto(std::move(proto), "contacts", 0, &none).created_at,
      100);
  EXPECT_TRUE(none.empty());
}

Contact SomeContact() {
  Contact c;
  c.id = 9;
  c.email = "someone.long@example.example";
  c.company = "Acme Corporation International";
  c.job_title = "CTO";
  c.country = "Germany";
  c.city = "Berlin";
  c.source = "webinar";
  c.tags = {"a-rather-long-tag-name-number-one", "b"};
  c.lifecycle_stage = LifecycleStage::kCustomer;
  c.lead_score = 3;
  c.engagement_score = 4;
  c.engagement_trend = EngagementTrend::kDeclining;
  c.conversion_likelihood = ConversionLikelihood::kVeryLikely;
  c.created_at = 10;
  c.last_engaged_at = 20;
  return c;
}

TEST(Convert, ContactViewsAsProto) {
  v1::Contact full;
  ContactToProto(SomeContact(), &full);
  for (v1::ContactView view :
       {v1::CONTACT_VIEW_FULL, v1::CONTACT_VIEW_UNSPECIFIED}) {
    v1::Contact moved;
    ContactToProto(SomeContact(), view, &moved);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(moved, full))
        << moved.ShortDebugString() << "\n"
        << full.ShortDebugString();
  }
  Contact unengaged = SomeContact();
  unengaged.last_engaged_at.reset();
  v1::Contact proto;
  ContactToProto(std::move(unengaged), v1::CONTACT_VIEW_FULL, &proto);
  EXPECT_FALSE(proto.has_last_engaged_at());

  v1::Contact basic;
  ContactToProto(SomeContact(), v1::CONTACT_VIEW_BASIC, &basic);
  v1::Contact expected;
  expected.set_id(9);
  expected.set_email("someone.long@example.example");
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(basic, expected))
      << basic.ShortDebugString();
}

TEST(Convert, ContactViewFromProto) {
  Violations v;
  EXPECT_EQ(ContactViewFromProto(v1::CONTACT_VIEW_UNSPECIFIED,
                                 v1::CONTACT_VIEW_FULL, "view", &v),
            v1::CONTACT_VIEW_FULL);
  EXPECT_EQ(ContactViewFromProto(v1::CONTACT_VIEW_BASIC, v1::CONTACT_VIEW_FULL,
                                 "view", &v),
            v1::CONTACT_VIEW_BASIC);
  EXPECT_EQ(ContactViewFromProto(v1::CONTACT_VIEW_FULL, v1::CONTACT_VIEW_BASIC,
                                 "view", &v),
            v1::CONTACT_VIEW_FULL);
  EXPECT_TRUE(v.empty());
  for (int bad : {-1, 3, 99}) {
    Violations out;
    ContactViewFromProto(bad, v1::CONTACT_VIEW_FULL, "view", &out);
    ASSERT_EQ(out.list().size(), 1u);
    EXPECT_EQ(out.list()[0].field, "view");
    EXPECT_EQ(out.list()[0].description,
              absl::StrCat("unknown contact view ", bad));
  }
}

TEST(Convert, FilterValuesKeepTheirKind) {
  v1::Filter proto;
  proto.set_match(v1::Filter::ANY);
  v1::Condition* c = proto.add_conditions();
  c->set_field("lead_score");
  c->set_operator_(v1::Condition::BETWEEN);
  c->add_values()->set_number_value(1);
  c->add_values()->set_string_value("s");
  c->add_values()->mutable_timestamp_value()->set_seconds(9);
  c->add_values();  // empty oneof
  Violations v;
  FilterSpec spec = FilterSpecFromProto(proto, "segment.filter", &v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(spec.match, 2);
  ASSERT_EQ(spec.conditions.size(), 1u);
  EXPECT_EQ(spec.conditions[0].op, static_cast<int>(Operator::kBetween));
  ASSERT_EQ(spec.conditions[0].values.size(), 4u);
  EXPECT_EQ(std::get<int64_t>(spec.conditions[0].values[0]), 1);
  EXPECT_EQ(std::get<std::string>(spec.conditions[0].values[1]), "s");
  EXPECT_EQ(std::get<TimestampValue>(spec.conditions[0].values[2]).seconds, 9);
  EXPECT_TRUE(std::holds_alternative<NoValue>(spec.conditions[0].values[3]));
}

TEST(Convert, TimestampValueWithBadNanosNamesTheValue) {
  v1::Filter proto;
  v1::Condition* c = proto.add_conditions();
  c->set_field("created_at");
  c->set_operator_(v1::Condition::BEFORE);
  c->add_values()->set_string_value("x");
  c->add_values()->mutable_timestamp_value()->set_nanos(-1);
  Violations v;
  FilterSpecFromProto(proto, "segment.filter", &v);
  ASSERT_EQ(v.list().size(), 1u);
  EXPECT_EQ(v.list()[0].field, "segment.filter.conditions[0].values[1]");
}

TEST(Convert, ValidFilterRoundTrips) {
  v1::Filter proto;
  proto.set_match(v1::Filter::ALL);
  v1::Condition* c = proto.add_conditions();
  c->set_field("country");
  c->set_operator_(v1::Condition::IN);
  c->add_values()->set_string_value("Germany");
  c->add_values()->set_string_value("France");
  v1::Condition* d = proto.add_conditions();
  d->set_field("created_at");
  d->set_operator_(v1::Condition::AFTER);
  d->add_values()->mutable_timestamp_value()->set_seconds(1600000000);
  Violations v;
  absl::StatusOr<Filter> filter =
      ValidateFilter(FilterSpecFromProto(proto, "filter", &v), "filter");
  ASSERT_TRUE(filter.ok()) << filter.status();
  v1::Filter back;
  FilterSpecToProto(ToSpec(*filter), &back);
  EXPECT_EQ(back.match(), v1::Filter::ALL);
  ASSERT_EQ(back.conditions_size(), 2);
  EXPECT_EQ(back.conditions(0).field(), "country");
  EXPECT_EQ(back.conditions(0).operator_(), v1::Condition::IN);
  ASSERT_EQ(back.conditions(0).values_size(), 2);
  EXPECT_EQ(back.conditions(1).values(0).timestamp_value().seconds(),
            1600000000);
}

TEST(Convert, WorkspaceRecord) {
  WorkspaceRecord r;
  r.id = 4;
  r.display_name = "Acme";
  r.plan = Plan::kGrowth;
  r.create_time = 123;
  v1::Workspace proto;
  WorkspaceToProto(r, &proto);
  EXPECT_EQ(proto.id(), 4u);
  EXPECT_EQ(proto.display_name(), "Acme");
  EXPECT_EQ(proto.plan(), v1::GROWTH);
  EXPECT_EQ(proto.create_time().seconds(), 123);
  EXPECT_EQ(PlanFromProto(v1::PRO), Plan::kPro);
}

}  // namespace
}  // namespace segments
