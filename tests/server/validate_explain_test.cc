// Over gRPC (issue 14): validate_only on CreateSegment and UpdateSegment
// (the impact reported, nothing written: no segment, no change, no event in
// the feed's log, the same after a restart); ExplainMembership (each
// condition's and group's value, the contact's values, NOT_FOUND for a
// missing segment or contact); the rule catalog's references and limits.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::Condition Ref(v1::Condition::Operator op, uint64_t segment_id) {
  v1::Condition c;
  c.set_operator_(op);
  c.set_segment_id(segment_id);
  return c;
}

v1::Condition Country(const std::string& country) {
  return MakeCondition("country", v1::Condition::EQUALS,
                       {StringValue(country)});
}

class ValidateExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_ = server_.CreateWorkspace("impact", v1::STARTER);
    key_ = ws_.api_key;
  }

  uint64_t NewContact(const std::string& email, const std::string& country,
                      std::vector<std::string> tags = {}) {
    v1::CreateContactRequest req;
    *req.mutable_contact() = MakeContact(email, country);
    for (std::string& t : tags) req.mutable_contact()->add_tags(std::move(t));
    v1::Contact out;
    EXPECT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), req, &out),
                GrpcOk());
    return out.id();
  }

  grpc::Status Create(v1::Segment segment, bool validate_only,
                      v1::Segment* out) {
    v1::CreateSegmentRequest req;
    *req.mutable_segment() = std::move(segment);
    req.set_validate_only(validate_only);
    return server_.segments().CreateSegment(Ctx(key_).get(), req, out);
  }

  grpc::Status Update(uint64_t id, std::vector<v1::Condition> conditions,
                      bool validate_only, v1::Segment* out) {
    v1::UpdateSegmentRequest req;
    *req.mutable_segment() = MakeSegment("", std::move(conditions));
    req.mutable_segment()->set_id(id);
    req.mutable_update_mask()->add_paths("filter");
    req.set_validate_only(validate_only);
    return server_.segments().UpdateSegment(Ctx(key_).get(), req, out);
  }

  // Every segment as listed: what a validate_only call must leave alone.
  std::string Listing() {
    v1::ListSegmentsRequest req;
    v1::ListSegmentsResponse resp;
    EXPECT_THAT(server_.segments().ListSegments(Ctx(key_).get(), req, &resp),
                GrpcOk());
    std::string out;
    for (const v1::Segment& s : resp.segments()) {
      absl::StrAppend(&out, s.id(), " ", s.display_name(), " ",
                      s.member_count(), " ", s.as_of_sequence(), " ",
                      s.filter().ShortDebugString(), "\n");
    }
    return out;
  }

  grpc::Status Explain(uint64_t segment, uint64_t contact,
                       v1::ExplainMembershipResponse* out) {
    v1::ExplainMembershipRequest req;
    req.set_segment_id(segment);
    req.set_contact_id(contact);
    return server_.segments().ExplainMembership(Ctx(key_).get(), req, out);
  }

  TestServer server_;
  TestServer::CreatedWorkspace ws_;
  std::string key_;
};

TEST_F(ValidateExplainTest, ValidateOnlyReportsTheImpactAndWritesNothing) {
  const uint64_t de1 = NewContact("a@x.io", "DE");
  const uint64_t fr1 = NewContact("b@x.io", "FR");
  const uint64_t de2 = NewContact("c@x.io", "DE");
  const uint64_t fr2 = NewContact("d@x.io", "FR");
  v1::Segment de;
  ASSERT_THAT(Create(MakeSegment("DE", {Country("DE")}), false, &de), GrpcOk());
  v1::Segment not_de;
  ASSERT_THAT(Create(MakeSegment("not DE",
                                 {Ref(v1::Condition::NOT_IN_SEGMENT, de.id())}),
                     false, &not_de),
              GrpcOk());
  const std::string before = Listing();

  // A create: the count and sample, the id it would take, nothing created.
  v1::Segment would;
  ASSERT_THAT(Create(MakeSegment("FR", {Country("FR")}), true, &would),
              GrpcOk());
  EXPECT_EQ(would.id(), not_de.id() + 1);
  EXPECT_EQ(would.display_name(), "FR");
  EXPECT_EQ(would.member_count(), 2u);
  EXPECT_EQ(would.impact().entered_count(), 2u);
  EXPECT_EQ(would.impact().left_count(), 0u);
  EXPECT_THAT(would.impact().sample_member_contact_ids(),
              ElementsAre(fr1, fr2));
  EXPECT_THAT(would.impact().sample_entered_contact_ids(),
              ElementsAre(fr1, fr2));
  EXPECT_EQ(Listing(), before);

  // An update of a referenced segment: who would enter and leave; neither
  // it nor its referrer moves, and the log's head stays where it was.
  ASSERT_THAT(Update(de.id(), {Country("FR")}, true, &would), GrpcOk());
  EXPECT_EQ(would.id(), de.id());
  EXPECT_EQ(would.member_count(), 2u);
  EXPECT_EQ(would.impact().entered_count(), 2u);
  EXPECT_EQ(would.impact().left_count(), 2u);
  EXPECT_THAT(would.impact().sample_entered_contact_ids(),
              ElementsAre(fr1, fr2));
  EXPECT_THAT(would.impact().sample_left_contact_ids(), ElementsAre(de1, de2));
  ASSERT_EQ(would.filter().conditions_size(), 1);
  EXPECT_EQ(would.filter().conditions(0).values(0).string_value(), "FR");
  EXPECT_EQ(Listing(), before);

  // Errors are the write's: a cycle at its path, a smart field beyond the
  // plan, a missing segment.
  grpc::Status cycle = Update(
      de.id(), {Ref(v1::Condition::IN_SEGMENT, not_de.id())}, true, &would);
  EXPECT_THAT(cycle, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(cycle),
              ElementsAre("segment.filter.conditions[0].segment_id"));
  EXPECT_THAT(
      Create(MakeSegment("smart", {MakeCondition("lead_score",
                                                 v1::Condition::GREATER_THAN,
                                                 {NumberValue(1)})}),
             true, &would),
      GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Update(999, {Country("FR")}, true, &would),
              GrpcIs(grpc::StatusCode::NOT_FOUND));

  // Not on disk either: a restart finds exactly what was there.
  server_.Restart();
  EXPECT_EQ(Listing(), before);
  // A real write after all that takes the id announced and logs from the
  // same head.
  v1::Segment fr;
  ASSERT_THAT(Create(MakeSegment("FR", {Country("FR")}), false, &fr), GrpcOk());
  EXPECT_EQ(fr.id(), not_de.id() + 1);
  EXPECT_EQ(fr.as_of_sequence(), de.as_of_sequence());
}

TEST_F(ValidateExplainTest, ExplainGivesEveryNodeAndTheValuesRead) {
  const uint64_t de_vip = NewContact("a@x.io", "DE", {"vip", "beta"});
  const uint64_t fr = NewContact("b@x.io", "FR");
  v1::Segment de;
  ASSERT_THAT(Create(MakeSegment("DE", {Country("DE")}), false, &de), GrpcOk());
  // ANY [ group ALL [IN_SEGMENT DE, tags HAS_ANY vip], city IS_SET ]
  v1::Condition group;
  group.mutable_group()->set_match(v1::Filter::ALL);
  *group.mutable_group()->add_conditions() =
      Ref(v1::Condition::IN_SEGMENT, de.id());
  *group.mutable_group()->add_conditions() =
      MakeCondition("tags", v1::Condition::HAS_ANY, {StringValue("vip")});
  v1::Segment s;
  ASSERT_THAT(
      Create(
          MakeSegment("why",
                      {group, MakeCondition("city", v1::Condition::IS_SET, {})},
                      v1::Filter::ANY),
          false, &s),
      GrpcOk());

  v1::ExplainMembershipResponse e;
  ASSERT_THAT(Explain(s.id(), de_vip, &e), GrpcOk());
  EXPECT_TRUE(e.member());
  EXPECT_EQ(e.state(), v1::ACTIVE);
  EXPECT_EQ(e.as_of_sequence(), s.as_of_sequence());
  EXPECT_GT(e.evaluate_time().seconds(), 0);
  const v1::ConditionExplanation& root = e.filter();
  EXPECT_EQ(root.path(), "filter");
  EXPECT_TRUE(root.matches());
  EXPECT_EQ(root.match(), v1::Filter::ANY);
  ASSERT_EQ(root.conditions_size(), 2);
  const v1::ConditionExplanation& g = root.conditions(0);
  EXPECT_EQ(g.path(), "filter.conditions[0]");
  EXPECT_TRUE(g.matches());
  EXPECT_FALSE(g.has_condition());
  ASSERT_EQ(g.conditions_size(), 2);
  EXPECT_EQ(g.conditions(0).path(), "filter.conditions[0].group.conditions[0]");
  EXPECT_TRUE(g.conditions(0).matches());
  EXPECT_EQ(g.conditions(0).condition().operator_(), v1::Condition::IN_SEGMENT);
  EXPECT_EQ(g.conditions(0).condition().segment_id(), de.id());
  EXPECT_THAT(g.conditions(0).field_values(), IsEmpty());
  EXPECT_TRUE(g.conditions(1).matches());
  EXPECT_EQ(g.conditions(1).condition().field(), "tags");
  ASSERT_EQ(g.conditions(1).field_values_size(), 2);
  EXPECT_EQ(g.conditions(1).field_values(0).string_value(), "beta");
  EXPECT_EQ(g.conditions(1).field_values(1).string_value(), "vip");
  EXPECT_FALSE(root.conditions(1).matches());  // no city
  EXPECT_THAT(root.conditions(1).field_values(), IsEmpty());

  ASSERT_THAT(Explain(s.id(), fr, &e), GrpcOk());
  EXPECT_FALSE(e.member());
  EXPECT_FALSE(e.filter().matches());
  EXPECT_FALSE(e.filter().conditions(0).matches());
  EXPECT_FALSE(e.filter().conditions(0).conditions(0).matches());

  EXPECT_THAT(Explain(s.id() + 5, fr, &e), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Explain(s.id(), fr + 5, &e), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Explain(s.id(), uint64_t{1} << 40, &e),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  grpc::Status missing = Explain(0, 0, &e);
  EXPECT_THAT(missing, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(missing),
              ElementsAre("segment_id", "contact_id"));
  // Another workspace's segment is not found either.
  auto other = server_.CreateWorkspace("other", v1::STARTER);
  v1::ExplainMembershipRequest req;
  req.set_segment_id(s.id());
  req.set_contact_id(fr);
  EXPECT_THAT(
      server_.segments().ExplainMembership(Ctx(other.api_key).get(), req, &e),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ValidateExplainTest, RuleCatalogListsReferencesAndLimits) {
  v1::RuleCatalog catalog;
  ASSERT_THAT(server_.segments().GetRuleCatalog(
                  Ctx(key_).get(), v1::GetRuleCatalogRequest(), &catalog),
              GrpcOk());
  EXPECT_THAT(
      catalog.reference_operators(),
      ElementsAre(v1::Condition::IN_SEGMENT, v1::Condition::NOT_IN_SEGMENT));
  EXPECT_EQ(catalog.max_group_depth(), 4);
  EXPECT_EQ(catalog.max_conditions(), 50);
  EXPECT_EQ(catalog.max_list_values(), 500);
  // No field lists the reference operators: they read no field.
  for (const v1::RuleField& f : catalog.fields()) {
    for (int op : f.operators()) {
      EXPECT_NE(op, v1::Condition::IN_SEGMENT) << f.name();
      EXPECT_NE(op, v1::Condition::NOT_IN_SEGMENT) << f.name();
    }
  }
}

// The catalog's limits are the server's (a configured limit shows).
TEST(RuleCatalogLimitsTest, ConfiguredLimitsShow) {
  TestServer server([](ServerOptions& o) {
    o.limits.max_conditions = 20;
    o.limits.max_group_depth = 3;
  });
  auto ws = server.CreateWorkspace("limits", v1::STARTER);
  v1::RuleCatalog catalog;
  ASSERT_THAT(server.segments().GetRuleCatalog(
                  Ctx(ws.api_key).get(), v1::GetRuleCatalogRequest(), &catalog),
              GrpcOk());
  EXPECT_EQ(catalog.max_conditions(), 20);
  EXPECT_EQ(catalog.max_group_depth(), 3);
}

}  // namespace
}  // namespace segments::testing
