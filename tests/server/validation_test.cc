// Bad input through a real channel: one case per validation rule. Each checks
// the status code, the google.rpc.BadRequest field path read from the error
// details, and that nothing changed (contacts, segments and counts as before).
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/types.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A workspace with two contacts (1: German, 2: French) and one segment
// ("Base": country is Germany, one member). Every test breaks a rule and then
// checks that this state is exactly as it was.
class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override { Seed(); }

  void Seed() {
    key_ = server_->CreateWorkspace("V", plan_).api_key;
    v1::BatchUpsertContactsRequest import;
    *import.add_contacts() =
        MakeContact("base@example.com", "Germany", v1::LEAD);
    *import.add_contacts() = MakeContact("other@example.com", "France");
    v1::BatchUpsertContactsResponse imported;
    ASSERT_THAT(server_->contacts().BatchUpsertContacts(Ctx(key_).get(), import,
                                                        &imported),
                GrpcOk());
    contacts_.assign(imported.contacts().begin(), imported.contacts().end());
    v1::CreateSegmentRequest create;
    *create.mutable_segment() = BaseSegment();
    ASSERT_THAT(
        server_->segments().CreateSegment(Ctx(key_).get(), create, &segment_),
        GrpcOk());
    ASSERT_EQ(segment_.member_count(), 1u);
  }

  static v1::Segment BaseSegment() {
    return MakeSegment("Base", {MakeCondition("country", v1::Condition::EQUALS,
                                              {StringValue("Germany")})});
  }

  void ExpectNothingChanged() {
    for (const v1::Contact& before : contacts_) {
      v1::GetContactRequest get;
      get.set_id(before.id());
      v1::Contact now;
      ASSERT_THAT(server_->contacts().GetContact(Ctx(key_).get(), get, &now),
                  GrpcOk());
      EXPECT_TRUE(MessageDifferencer::Equals(before, now))
          << "was " << before.ShortDebugString() << "\nnow "
          << now.ShortDebugString();
    }
    v1::GetContactRequest get;
    get.set_id(contacts_.size() + 1);
    v1::Contact none;
    EXPECT_THAT(server_->contacts().GetContact(Ctx(key_).get(), get, &none),
                GrpcIs(grpc::StatusCode::NOT_FOUND))
        << "a contact was created";
    v1::ListSegmentsRequest list;
    v1::ListSegmentsResponse segments;
    ASSERT_THAT(
        server_->segments().ListSegments(Ctx(key_).get(), list, &segments),
        GrpcOk());
    ASSERT_EQ(segments.segments_size(), 1)
        << "a segment was created or deleted";
    v1::Segment now = segments.segments(0);
    EXPECT_TRUE(MessageDifferencer::Equals(segment_, now))
        << "was " << segment_.ShortDebugString() << "\nnow "
        << now.ShortDebugString();
    v1::CountSegmentMembersRequest count;
    count.set_segment_id(segment_.id());
    v1::CountSegmentMembersResponse counted;
    ASSERT_THAT(server_->segments().CountSegmentMembers(Ctx(key_).get(), count,
                                                        &counted),
                GrpcOk());
    EXPECT_EQ(counted.member_count(), 1u);
  }

  // INVALID_ARGUMENT naming `field` among its violations; nothing changed.
  void ExpectInvalid(const grpc::Status& status, const std::string& field) {
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(ViolationFields(status), Contains(field))
        << status.error_message();
    ExpectNothingChanged();
  }

  grpc::Status CreateContact(const v1::Contact& contact) {
    v1::CreateContactRequest request;
    *request.mutable_contact() = contact;
    v1::Contact out;
    return server_->contacts().CreateContact(Ctx(key_).get(), request, &out);
  }
  grpc::Status UpdateContact(const v1::Contact& contact,
                             std::vector<std::string> mask = {}) {
    v1::UpdateContactRequest request;
    *request.mutable_contact() = contact;
    for (std::string& path : mask)
      request.mutable_update_mask()->add_paths(path);
    v1::Contact out;
    return server_->contacts().UpdateContact(Ctx(key_).get(), request, &out);
  }
  grpc::Status Batch(const std::vector<v1::Contact>& contacts) {
    v1::BatchUpsertContactsRequest request;
    for (const v1::Contact& c : contacts) *request.add_contacts() = c;
    v1::BatchUpsertContactsResponse out;
    return server_->contacts().BatchUpsertContacts(Ctx(key_).get(), request,
                                                   &out);
  }
  grpc::Status CreateSegment(const v1::Segment& segment) {
    v1::CreateSegmentRequest request;
    *request.mutable_segment() = segment;
    v1::Segment out;
    return server_->segments().CreateSegment(Ctx(key_).get(), request, &out);
  }
  grpc::Status UpdateSegment(v1::Segment segment,
                             std::vector<std::string> mask) {
    v1::UpdateSegmentRequest request;
    if (segment.id() == 0) segment.set_id(segment_.id());
    *request.mutable_segment() = std::move(segment);
    for (std::string& path : mask)
      request.mutable_update_mask()->add_paths(path);
    v1::Segment out;
    return server_->segments().UpdateSegment(Ctx(key_).get(), request, &out);
  }

  v1::Plan plan_ = v1::GROWTH;
  std::unique_ptr<TestServer> server_ = std::make_unique<TestServer>();
  std::string key_;
  std::vector<v1::Contact> contacts_;
  v1::Segment segment_;
};

// --- Contact fields: create, full update and batch each report the path ---

struct ContactCase {
  const char* name;
  std::function<void(v1::Contact*)> mutate;
  const char* field;  // under "contact." / "contacts[i]."
};

void PrintTo(const ContactCase& c, std::ostream* os) { *os << c.name; }

class ContactRuleTest : public ValidationTest,
                        public ::testing::WithParamInterface<ContactCase> {};

TEST_P(ContactRuleTest, RejectedOnCreateUpdateAndBatch) {
  const ContactCase& c = GetParam();
  v1::Contact bad = MakeContact("fresh@example.com", "Spain");
  c.mutate(&bad);
  const std::string field = c.field;
  ExpectInvalid(CreateContact(bad), "contact." + field);
  v1::Contact bad_update = bad;
  bad_update.set_id(contacts_[1].id());
  ExpectInvalid(UpdateContact(bad_update), "contact." + field);
  // The rule's field named in the mask is checked too.
  std::string mask_field = field.substr(0, field.find('['));
  ExpectInvalid(UpdateContact(bad_update, {mask_field}), "contact." + field);
  // In a batch, the good entry before it is not written either.
  ExpectInvalid(Batch({MakeContact("good@example.com"), bad}),
                "contacts[1]." + field);
}

std::string Repeat(char c, size_t n) { return std::string(n, c); }

INSTANTIATE_TEST_SUITE_P(
    Rules, ContactRuleTest,
    ::testing::Values(
        ContactCase{"EmailMissing", [](v1::Contact* c) { c->clear_email(); },
                    "email"},
        ContactCase{"EmailBlank", [](v1::Contact* c) { c->set_email("   "); },
                    "email"},
        ContactCase{"EmailNoAt",
                    [](v1::Contact* c) { c->set_email("a.example.com"); },
                    "email"},
        ContactCase{"EmailTwoAts",
                    [](v1::Contact* c) { c->set_email("a@b@example.com"); },
                    "email"},
        ContactCase{"EmailEmptyLocalPart",
                    [](v1::Contact* c) { c->set_email("@example.com"); },
                    "email"},
        ContactCase{"EmailEmptyDomain",
                    [](v1::Contact* c) { c->set_email("a@"); }, "email"},
        ContactCase{"EmailInnerSpace",
                    [](v1::Contact* c) { c->set_email("a b@example.com"); },
                    "email"},
        ContactCase{"EmailControlChar",
                    [](v1::Contact* c) { c->set_email("a\x01@example.com"); },
                    "email"},
        ContactCase{"EmailTooLong",
                    [](v1::Contact* c) {
                      c->set_email(Repeat('a', 243) + "@example.com");
                    },
                    "email"},
        ContactCase{"CompanyTooLong",
                    [](v1::Contact* c) { c->set_company(Repeat('x', 257)); },
                    "company"},
        ContactCase{"JobTitleTooLong",
                    [](v1::Contact* c) { c->set_job_title(Repeat('x', 257)); },
                    "job_title"},
        ContactCase{"CountryTooLong",
                    [](v1::Contact* c) { c->set_country(Repeat('x', 257)); },
                    "country"},
        ContactCase{"CityTooLong",
                    [](v1::Contact* c) { c->set_city(Repeat('x', 257)); },
                    "city"},
        ContactCase{"SourceTooLong",
                    [](v1::Contact* c) { c->set_source(Repeat('x', 257)); },
                    "source"},
        ContactCase{"TagEmpty",
                    [](v1::Contact* c) {
                      c->add_tags("ok");
                      c->add_tags("  ");
                    },
                    "tags[1]"},
        ContactCase{"TagTooLong",
                    [](v1::Contact* c) { c->add_tags(Repeat('t', 65)); },
                    "tags[0]"},
        ContactCase{"TooManyTags",
                    [](v1::Contact* c) {
                      for (int i = 0; i < 101; ++i)
                        c->add_tags(absl::StrCat("tag", i));
                    },
                    "tags"},
        ContactCase{"LifecycleStageUnknown",
                    [](v1::Contact* c) {
                      c->set_lifecycle_stage(
                          static_cast<v1::LifecycleStage>(9));
                    },
                    "lifecycle_stage"},
        ContactCase{"EngagementScoreOver100",
                    [](v1::Contact* c) { c->set_engagement_score(101); },
                    "engagement_score"},
        ContactCase{"EngagementScoreNegative",
                    [](v1::Contact* c) { c->set_engagement_score(-1); },
                    "engagement_score"},
        ContactCase{"EngagementTrendUnknown",
                    [](v1::Contact* c) {
                      c->set_engagement_trend(
                          static_cast<v1::EngagementTrend>(4));
                    },
                    "engagement_trend"},
        ContactCase{"ConversionLikelihoodUnknown",
                    [](v1::Contact* c) {
                      c->set_conversion_likelihood(
                          static_cast<v1::ConversionLikelihood>(-2));
                    },
                    "conversion_likelihood"},
        ContactCase{"CreatedAtAfterYear9999",
                    [](v1::Contact* c) {
                      c->mutable_created_at()->set_seconds(kMaxTimestamp + 1);
                    },
                    "created_at"},
        ContactCase{"CreatedAtBadNanos",
                    [](v1::Contact* c) {
                      c->mutable_created_at()->set_nanos(1000000000);
                    },
                    "created_at"},
        ContactCase{"LastEngagedAtBeforeYear1",
                    [](v1::Contact* c) {
                      c->mutable_last_engaged_at()->set_seconds(kMinTimestamp -
                                                                1);
                    },
                    "last_engaged_at"},
        ContactCase{
            "LastEngagedAtBadNanos",
            [](v1::Contact* c) { c->mutable_last_engaged_at()->set_nanos(-1); },
            "last_engaged_at"}),
    [](const ::testing::TestParamInfo<ContactCase>& p) {
      return p.param.name;
    });

// --- Filter rules: create and update (mask "filter") each report the path ---

struct FilterCase {
  const char* name;
  std::function<v1::Filter()> filter;
  const char* field;  // under "segment.filter"
};

void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

class FilterRuleTest : public ValidationTest,
                       public ::testing::WithParamInterface<FilterCase> {};

TEST_P(FilterRuleTest, RejectedOnCreateAndUpdate) {
  const FilterCase& c = GetParam();
  v1::Segment bad;
  bad.set_display_name("Bad");
  *bad.mutable_filter() = c.filter();
  const std::string field = std::string("segment.filter") + c.field;
  ExpectInvalid(CreateSegment(bad), field);
  ExpectInvalid(UpdateSegment(bad, {"filter"}), field);
  ExpectInvalid(UpdateSegment(bad, {}), field);
}

v1::Filter One(std::string field, v1::Condition::Operator op,
               std::vector<v1::Value> values) {
  v1::Filter f;
  f.set_match(v1::Filter::ALL);
  *f.add_conditions() = MakeCondition(std::move(field), op, std::move(values));
  return f;
}

v1::Value TimestampValue(int64_t seconds, int32_t nanos = 0) {
  v1::Value v;
  v.mutable_timestamp_value()->set_seconds(seconds);
  v.mutable_timestamp_value()->set_nanos(nanos);
  return v;
}

std::vector<v1::Value> Strings(int n) {
  std::vector<v1::Value> values;
  for (int i = 0; i < n; ++i)
    values.push_back(StringValue(absl::StrCat("v", i)));
  return values;
}

using Op = v1::Condition;

INSTANTIATE_TEST_SUITE_P(
    Rules, FilterRuleTest,
    ::testing::Values(
        FilterCase{
            "UnknownField",
            [] { return One("shoe_size", Op::EQUALS, {NumberValue(42)}); },
            ".conditions[0].field"},
        FilterCase{"EmptyField",
                   [] { return One("", Op::EQUALS, {StringValue("x")}); },
                   ".conditions[0].field"},
        FilterCase{"OperatorUnspecified",
                   [] {
                     return One("country", Op::OPERATOR_UNSPECIFIED,
                                {StringValue("x")});
                   },
                   ".conditions[0].operator"},
        FilterCase{"OperatorUnknownNumber",
                   [] {
                     return One("country",
                                static_cast<v1::Condition::Operator>(99),
                                {StringValue("x")});
                   },
                   ".conditions[0].operator"},
        FilterCase{
            "OperatorNotForStrings",
            [] { return One("country", Op::GREATER_THAN, {StringValue("x")}); },
            ".conditions[0].operator"},
        FilterCase{"OperatorNotForTags",
                   [] { return One("tags", Op::EQUALS, {StringValue("x")}); },
                   ".conditions[0].operator"},
        FilterCase{
            "OperatorNotForNumbers",
            [] { return One("lead_score", Op::CONTAINS, {StringValue("1")}); },
            ".conditions[0].operator"},
        FilterCase{
            "OperatorNotForTimestamps",
            [] { return One("created_at", Op::EQUALS, {TimestampValue(0)}); },
            ".conditions[0].operator"},
        FilterCase{"EmailIsNeverUnset",
                   [] { return One("email", Op::IS_SET, {}); },
                   ".conditions[0].operator"},
        FilterCase{"NumberForString",
                   [] { return One("country", Op::EQUALS, {NumberValue(5)}); },
                   ".conditions[0].values[0]"},
        FilterCase{
            "StringForNumber",
            [] { return One("lead_score", Op::EQUALS, {StringValue("5")}); },
            ".conditions[0].values[0]"},
        FilterCase{
            "TimestampForNumber",
            [] { return One("lead_score", Op::EQUALS, {TimestampValue(5)}); },
            ".conditions[0].values[0]"},
        FilterCase{
            "NumberForTimestamp",
            [] { return One("created_at", Op::BEFORE, {NumberValue(5)}); },
            ".conditions[0].values[0]"},
        FilterCase{"EmptyValue",
                   [] { return One("country", Op::EQUALS, {v1::Value()}); },
                   ".conditions[0].values[0]"},
        FilterCase{"NoValue", [] { return One("country", Op::EQUALS, {}); },
                   ".conditions[0].values"},
        FilterCase{"TwoValuesForEquals",
                   [] { return One("country", Op::EQUALS, Strings(2)); },
                   ".conditions[0].values"},
        FilterCase{
            "ValueForIsSet",
            [] { return One("country", Op::IS_SET, {StringValue("x")}); },
            ".conditions[0].values"},
        FilterCase{"EmptyInList", [] { return One("country", Op::IN, {}); },
                   ".conditions[0].values"},
        FilterCase{"InListOver500",
                   [] { return One("country", Op::IN, Strings(501)); },
                   ".conditions[0].values"},
        FilterCase{"HasAnyOver500",
                   [] { return One("tags", Op::HAS_ANY, Strings(501)); },
                   ".conditions[0].values"},
        FilterCase{"BetweenLowAboveHigh",
                   [] {
                     return One("lead_score", Op::BETWEEN,
                                {NumberValue(10), NumberValue(5)});
                   },
                   ".conditions[0].values"},
        FilterCase{
            "BetweenOneValue",
            [] { return One("lead_score", Op::BETWEEN, {NumberValue(10)}); },
            ".conditions[0].values"},
        FilterCase{"WithinZeroDays",
                   [] {
                     return One("created_at", Op::WITHIN_LAST_DAYS,
                                {NumberValue(0)});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"MoreThan3650DaysAgo",
                   [] {
                     return One("last_engaged_at", Op::MORE_THAN_DAYS_AGO,
                                {NumberValue(3651)});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"UnknownEnumName",
                   [] {
                     return One("lifecycle_stage", Op::EQUALS,
                                {StringValue("WHALE")});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"NumberBeyondInt32",
                   [] {
                     return One("lead_score", Op::EQUALS,
                                {NumberValue(int64_t{1} << 31)});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"StringOver256Bytes",
                   [] {
                     return One("country", Op::EQUALS,
                                {StringValue(Repeat('x', 257))});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"TagOver64Bytes",
                   [] {
                     return One("tags", Op::HAS_ALL,
                                {StringValue(Repeat('t', 65))});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{
            "BlankString",
            [] { return One("country", Op::EQUALS, {StringValue("   ")}); },
            ".conditions[0].values[0]"},
        FilterCase{"TimestampAfterYear9999",
                   [] {
                     return One("created_at", Op::BEFORE,
                                {TimestampValue(kMaxTimestamp + 1)});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"TimestampBadNanos",
                   [] {
                     return One("created_at", Op::AFTER,
                                {TimestampValue(0, -5)});
                   },
                   ".conditions[0].values[0]"},
        FilterCase{"MatchUnknown",
                   [] {
                     v1::Filter f = One("country", Op::IS_SET, {});
                     f.set_match(static_cast<v1::Filter::Match>(7));
                     return f;
                   },
                   ".match"},
        FilterCase{"NoConditions", [] { return v1::Filter(); }, ".conditions"},
        FilterCase{"Over50Conditions",
                   [] {
                     v1::Filter f;
                     for (int i = 0; i < 51; ++i) {
                       *f.add_conditions() =
                           MakeCondition("country", Op::IS_SET, {});
                     }
                     return f;
                   },
                   ".conditions"},
        FilterCase{"SecondConditionBad",
                   [] {
                     v1::Filter f = One("country", Op::IS_SET, {});
                     *f.add_conditions() =
                         MakeCondition("city", Op::HAS_ANY, {StringValue("x")});
                     return f;
                   },
                   ".conditions[1].operator"}),
    [](const ::testing::TestParamInfo<FilterCase>& p) { return p.param.name; });

// --- Every violation at once ---

TEST_F(ValidationTest, AllViolationsOfARequestAreReported) {
  v1::Segment bad;
  *bad.mutable_filter() = One("shoe_size", Op::EQUALS, {StringValue("x")});
  *bad.mutable_filter()->add_conditions() = MakeCondition(
      "lead_score", Op::BETWEEN, {NumberValue(9), NumberValue(1)});
  grpc::Status status = CreateSegment(bad);
  EXPECT_THAT(
      ViolationFields(status),
      ElementsAre("segment.display_name", "segment.filter.conditions[0].field",
                  "segment.filter.conditions[1].values"));
  ExpectInvalid(status, "segment.display_name");

  v1::Contact first = MakeContact("no-at-sign");
  v1::Contact third = MakeContact("ok3@example.com");
  third.set_engagement_score(1000);
  third.add_tags("");
  status = Batch({first, MakeContact("ok2@example.com"), third});
  EXPECT_THAT(ViolationFields(status),
              ElementsAre("contacts[0].email", "contacts[2].tags[0]",
                          "contacts[2].engagement_score"));
  ExpectInvalid(status, "contacts[0].email");
}

// --- Segment names ---

TEST_F(ValidationTest, SegmentNameRequired) {
  v1::Segment s = BaseSegment();
  s.set_display_name("  ");
  ExpectInvalid(CreateSegment(s), "segment.display_name");
  ExpectInvalid(UpdateSegment(s, {"display_name"}), "segment.display_name");
}

TEST_F(ValidationTest, SegmentNameOver200Bytes) {
  v1::Segment s = BaseSegment();
  s.set_display_name(Repeat('n', 201));
  ExpectInvalid(CreateSegment(s), "segment.display_name");
}

TEST_F(ValidationTest, DuplicateSegmentNameAlreadyExists) {
  v1::Segment s = BaseSegment();
  s.set_display_name(" BASE ");  // case-insensitive, trimmed
  EXPECT_THAT(CreateSegment(s), GrpcIs(grpc::StatusCode::ALREADY_EXISTS));
  ExpectNothingChanged();
  // Renaming another segment onto it is refused too.
  v1::Segment second = MakeSegment(
      "Second", {MakeCondition("country", v1::Condition::IS_SET, {})});
  v1::CreateSegmentRequest create;
  *create.mutable_segment() = second;
  v1::Segment created;
  ASSERT_THAT(
      server_->segments().CreateSegment(Ctx(key_).get(), create, &created),
      GrpcOk());
  created.set_display_name("base");
  EXPECT_THAT(UpdateSegment(created, {"display_name"}),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS));
  v1::GetSegmentRequest get;
  get.set_id(created.id());
  v1::Segment now;
  ASSERT_THAT(server_->segments().GetSegment(Ctx(key_).get(), get, &now),
              GrpcOk());
  EXPECT_EQ(now.display_name(), "Second");
}

TEST_F(ValidationTest, SegmentUpdateMaskUnknownPath) {
  v1::Segment s = BaseSegment();
  s.set_display_name("Renamed");
  ExpectInvalid(UpdateSegment(s, {"display_name", "member_count"}),
                "update_mask.paths[1]");
}

TEST_F(ValidationTest, SegmentIdsRequiredAndScoped) {
  v1::Segment s = BaseSegment();
  s.set_id(0);
  v1::UpdateSegmentRequest update;
  *update.mutable_segment() = s;
  v1::Segment out;
  grpc::Status status =
      server_->segments().UpdateSegment(Ctx(key_).get(), update, &out);
  ExpectInvalid(status, "segment.id");
  v1::GetSegmentRequest get;
  ExpectInvalid(server_->segments().GetSegment(Ctx(key_).get(), get, &out),
                "id");
  v1::CountSegmentMembersRequest count;
  v1::CountSegmentMembersResponse counted;
  ExpectInvalid(
      server_->segments().CountSegmentMembers(Ctx(key_).get(), count, &counted),
      "segment_id");
  v1::DeleteSegmentRequest del;
  google::protobuf::Empty empty;
  ExpectInvalid(server_->segments().DeleteSegment(Ctx(key_).get(), del, &empty),
                "id");
  get.set_id(segment_.id() + 1);
  EXPECT_THAT(server_->segments().GetSegment(Ctx(key_).get(), get, &out),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  del.set_id(segment_.id() + 1);
  EXPECT_THAT(server_->segments().DeleteSegment(Ctx(key_).get(), del, &empty),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  ExpectNothingChanged();
}

TEST(SegmentLimitTest, MaxSegmentsPerWorkspace) {
  TestServer server([](ServerOptions& o) { o.limits.max_segments = 2; });
  std::string key = server.CreateWorkspace("L", v1::STARTER).api_key;
  for (int i = 0; i < 3; ++i) {
    v1::CreateSegmentRequest create;
    *create.mutable_segment() =
        MakeSegment(absl::StrCat("S", i),
                    {MakeCondition("country", v1::Condition::IS_SET, {})});
    v1::Segment out;
    grpc::Status status =
        server.segments().CreateSegment(Ctx(key).get(), create, &out);
    if (i < 2) {
      EXPECT_THAT(status, GrpcOk());
    } else {
      EXPECT_THAT(status, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
      EXPECT_THAT(status.error_message(), HasSubstr("max_segments"));
    }
  }
  v1::ListSegmentsRequest list;
  v1::ListSegmentsResponse listed;
  ASSERT_THAT(server.segments().ListSegments(Ctx(key).get(), list, &listed),
              GrpcOk());
  EXPECT_EQ(listed.segments_size(), 2);
}

// --- Plans ---

class StarterValidationTest : public ValidationTest {
 protected:
  void SetUp() override {
    plan_ = v1::STARTER;
    Seed();
  }
};

TEST_F(StarterValidationTest, SmartFieldNeedsGrowthPlan) {
  v1::Segment s = MakeSegment(
      "Hot", {MakeCondition("lead_score", v1::Condition::GREATER_OR_EQUAL,
                            {NumberValue(70)})});
  for (const grpc::Status& status :
       {CreateSegment(s), UpdateSegment(s, {"filter"})}) {
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
    std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value()) << status.error_message();
    EXPECT_EQ(info->reason(), "PLAN_UPGRADE_REQUIRED");
    EXPECT_EQ(info->domain(), "segments.v1");
    EXPECT_EQ(info->metadata().at("required_plan"), "GROWTH");
    EXPECT_EQ(info->metadata().at("field"), "lead_score");
    ExpectNothingChanged();
  }
}

// --- Contacts: ids, masks, uniqueness, batch limits ---

TEST_F(ValidationTest, ContactIdRequired) {
  v1::Contact c = MakeContact("x@example.com");
  ExpectInvalid(UpdateContact(c, {"email"}), "contact.id");
  v1::GetContactRequest get;
  v1::Contact out;
  ExpectInvalid(server_->contacts().GetContact(Ctx(key_).get(), get, &out),
                "id");
  v1::DeleteContactRequest del;
  google::protobuf::Empty empty;
  ExpectInvalid(server_->contacts().DeleteContact(Ctx(key_).get(), del, &empty),
                "id");
}

TEST_F(ValidationTest, ContactIdsThatCannotExistAreNotFound) {
  for (uint64_t id : {uint64_t{99}, uint64_t{1} << 32, ~uint64_t{0}}) {
    v1::GetContactRequest get;
    get.set_id(id);
    v1::Contact out;
    EXPECT_THAT(server_->contacts().GetContact(Ctx(key_).get(), get, &out),
                GrpcIs(grpc::StatusCode::NOT_FOUND));
    v1::Contact c = MakeContact("x@example.com");
    c.set_id(id);
    EXPECT_THAT(UpdateContact(c, {"email"}),
                GrpcIs(grpc::StatusCode::NOT_FOUND));
    v1::DeleteContactRequest del;
    del.set_id(id);
    google::protobuf::Empty empty;
    EXPECT_THAT(server_->contacts().DeleteContact(Ctx(key_).get(), del, &empty),
                GrpcIs(grpc::StatusCode::NOT_FOUND));
  }
  ExpectNothingChanged();
}

TEST_F(ValidationTest, ContactUpdateMaskUnknownPath) {
  v1::Contact c = contacts_[0];
  c.set_country("Spain");
  ExpectInvalid(UpdateContact(c, {"country", "shoe_size"}),
                "update_mask.paths[1]");
  ExpectInvalid(UpdateContact(c, {"id"}), "update_mask.paths[0]");
  v1::BatchUpsertContactsRequest batch;
  *batch.add_contacts() = c;
  batch.mutable_update_mask()->add_paths("nope");
  v1::BatchUpsertContactsResponse out;
  ExpectInvalid(
      server_->contacts().BatchUpsertContacts(Ctx(key_).get(), batch, &out),
      "update_mask.paths[0]");
}

TEST_F(ValidationTest, DuplicateEmailAlreadyExists) {
  // Emails are trimmed and lowercased before they are compared.
  EXPECT_THAT(CreateContact(MakeContact(" BASE@Example.com ")),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS));
  ExpectNothingChanged();
  v1::Contact c = contacts_[1];
  c.set_email("base@example.com");
  EXPECT_THAT(UpdateContact(c, {"email"}),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS));
  ExpectNothingChanged();
}

TEST_F(ValidationTest, BatchOverTheLimit) {
  std::vector<v1::Contact> contacts;
  for (int i = 0; i < 10001; ++i)
    contacts.push_back(MakeContact(absl::StrCat(i, "@x.example")));
  grpc::Status status = Batch(contacts);
  ExpectInvalid(status, "contacts");
  EXPECT_THAT(status.error_message(), HasSubstr("10000"));
}

TEST_F(ValidationTest, MessageOver16MiBIsResourceExhausted) {
  v1::Contact big = MakeContact("big@example.com");
  big.set_company(std::string(17 * 1024 * 1024, 'x'));
  EXPECT_THAT(CreateContact(big), GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  ExpectNothingChanged();
}

TEST_F(ValidationTest, InvalidUtf8IsInvalidArgument) {
  // proto3 strings must be UTF-8, so the request does not even parse; that
  // is still bad input, never UNKNOWN or INTERNAL.
  v1::Contact c = MakeContact("a@example.com");
  c.set_city("\xff\xfe");
  grpc::Status status = CreateContact(c);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(status.error_message(), HasSubstr("UTF-8"));
  ExpectNothingChanged();
}

// --- Paging ---

TEST_F(ValidationTest, PageSizeOver1000) {
  v1::ListSegmentsRequest list;
  list.set_page_size(1001);
  v1::ListSegmentsResponse listed;
  grpc::Status status =
      server_->segments().ListSegments(Ctx(key_).get(), list, &listed);
  ExpectInvalid(status, "page_size");
  EXPECT_THAT(status.error_message(), HasSubstr("1000"));
  list.set_page_size(-1);
  ExpectInvalid(
      server_->segments().ListSegments(Ctx(key_).get(), list, &listed),
      "page_size");
  v1::ListSegmentMembersRequest members;
  members.set_segment_id(segment_.id());
  members.set_page_size(1001);
  v1::ListSegmentMembersResponse page;
  ExpectInvalid(
      server_->segments().ListSegmentMembers(Ctx(key_).get(), members, &page),
      "page_size");
  members.set_page_size(1000);
  EXPECT_THAT(
      server_->segments().ListSegmentMembers(Ctx(key_).get(), members, &page),
      GrpcOk());
}

TEST_F(ValidationTest, BadPageToken) {
  v1::ListSegmentsRequest list;
  list.set_page_token("not-a-token");
  v1::ListSegmentsResponse listed;
  ExpectInvalid(
      server_->segments().ListSegments(Ctx(key_).get(), list, &listed),
      "page_token");

  // A token is bound to what it pages over: members of one segment.
  v1::CreateSegmentRequest create;
  *create.mutable_segment() =
      MakeSegment("All", {MakeCondition("email", v1::Condition::ENDS_WITH,
                                        {StringValue(".com")})});
  v1::Segment all;
  ASSERT_THAT(server_->segments().CreateSegment(Ctx(key_).get(), create, &all),
              GrpcOk());
  v1::ListSegmentMembersRequest members;
  members.set_segment_id(all.id());
  members.set_page_size(1);
  v1::ListSegmentMembersResponse page;
  ASSERT_THAT(
      server_->segments().ListSegmentMembers(Ctx(key_).get(), members, &page),
      GrpcOk());
  ASSERT_FALSE(page.next_page_token().empty());
  members.set_segment_id(segment_.id());
  members.set_page_token(page.next_page_token());
  v1::ListSegmentMembersResponse other;
  grpc::Status status =
      server_->segments().ListSegmentMembers(Ctx(key_).get(), members, &other);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(status), ElementsAre("page_token"));
  list.set_page_token(page.next_page_token());
  status = server_->segments().ListSegments(Ctx(key_).get(), list, &listed);
  EXPECT_THAT(ViolationFields(status), ElementsAre("page_token"));
}

TEST_F(ValidationTest, ListMembersReportsEveryBadField) {
  v1::ListSegmentMembersRequest members;
  members.set_page_size(5000);
  members.set_page_token("garbage");
  members.set_view(static_cast<v1::MemberView>(9));
  v1::ListSegmentMembersResponse page;
  grpc::Status status =
      server_->segments().ListSegmentMembers(Ctx(key_).get(), members, &page);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(status),
              ElementsAre("segment_id", "view", "page_size", "page_token"));
  ExpectNothingChanged();
}

// --- Admin requests ---

TEST_F(ValidationTest, AdminRequestViolations) {
  v1::CreateWorkspaceRequest create;
  create.mutable_workspace()->set_plan(static_cast<v1::Plan>(9));
  v1::CreateWorkspaceResponse created;
  grpc::Status status = server_->admin().CreateWorkspace(
      Ctx(kTestAdminKey).get(), create, &created);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(status),
              ElementsAre("workspace.display_name", "workspace.plan"));
  v1::SetPlanRequest plan;
  v1::Workspace out;
  status = server_->admin().SetPlan(Ctx(kTestAdminKey).get(), plan, &out);
  EXPECT_THAT(ViolationFields(status), Contains("id"));
  plan.set_id(1);
  status = server_->admin().SetPlan(Ctx(kTestAdminKey).get(), plan, &out);
  EXPECT_THAT(ViolationFields(status), ElementsAre("plan"));
  ExpectNothingChanged();
}

}  // namespace
}  // namespace segments::testing
