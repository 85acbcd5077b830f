// Plans over gRPC: gating of every smart field on create, update and
// preview; the rule catalog; the downgrade/upgrade story; preview.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// One condition on each smart field, as a segment builder would send it.
std::vector<v1::Condition> SmartConditions() {
  return {
      MakeCondition("lead_score", v1::Condition::GREATER_OR_EQUAL,
                    {NumberValue(70)}),
      MakeCondition("engagement_score", v1::Condition::LESS_THAN,
                    {NumberValue(10)}),
      MakeCondition("engagement_trend", v1::Condition::EQUALS,
                    {StringValue("DECLINING")}),
      MakeCondition("conversion_likelihood", v1::Condition::GREATER_OR_EQUAL,
                    {StringValue("LIKELY")}),
  };
}

void ExpectUpgradeRequired(const grpc::Status& status, const std::string& plan,
                           const std::string& field) {
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value()) << status.error_message();
  EXPECT_EQ(info->reason(), "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info->metadata().at("required_plan"), plan);
  EXPECT_EQ(info->metadata().at("field"), field);
}

class PlansTest : public ::testing::Test {
 protected:
  uint64_t CreateContact(const std::string& key, v1::Contact c) {
    v1::CreateContactRequest req;
    *req.mutable_contact() = std::move(c);
    v1::Contact out;
    EXPECT_THAT(server_.contacts().CreateContact(Ctx(key).get(), req, &out),
                GrpcOk());
    return out.id();
  }

  // A standard segment: country EQUALS "DE".
  static v1::Segment GermanySegment() {
    return MakeSegment(
        "Germany",
        {MakeCondition("country", v1::Condition::EQUALS, {StringValue("DE")})});
  }

  grpc::Status CreateSegment(const std::string& key, v1::Segment segment,
                             v1::Segment* out) {
    v1::CreateSegmentRequest req;
    *req.mutable_segment() = std::move(segment);
    return server_.segments().CreateSegment(Ctx(key).get(), req, out);
  }

  v1::Segment Get(const std::string& key, uint64_t id) {
    v1::GetSegmentRequest req;
    req.set_id(id);
    v1::Segment out;
    EXPECT_THAT(server_.segments().GetSegment(Ctx(key).get(), req, &out),
                GrpcOk());
    return out;
  }

  grpc::Status ListMembers(const std::string& key, uint64_t id,
                           std::vector<uint64_t>* ids) {
    v1::ListSegmentMembersRequest req;
    req.set_segment_id(id);
    v1::ListSegmentMembersResponse resp;
    grpc::Status s =
        server_.segments().ListSegmentMembers(Ctx(key).get(), req, &resp);
    ids->assign(resp.contact_ids().begin(), resp.contact_ids().end());
    return s;
  }

  void SetPlan(uint64_t workspace, v1::Plan plan) {
    v1::SetPlanRequest req;
    req.set_id(workspace);
    req.set_plan(plan);
    v1::Workspace out;
    ASSERT_THAT(server_.admin().SetPlan(Ctx(kTestAdminKey).get(), req, &out),
                GrpcOk());
    EXPECT_EQ(out.plan(), plan);
  }

  TestServer server_;
};

TEST_F(PlansTest, EverySmartFieldNeedsGrowthOnCreateUpdateAndPreview) {
  auto ws = server_.CreateWorkspace("starter", v1::STARTER);
  v1::Segment standard;
  ASSERT_THAT(CreateSegment(ws.api_key, GermanySegment(), &standard), GrpcOk());
  EXPECT_EQ(standard.kind(), v1::STANDARD);
  for (const v1::Condition& smart : SmartConditions()) {
    SCOPED_TRACE(smart.field());
    v1::Segment out;
    ExpectUpgradeRequired(
        CreateSegment(ws.api_key, MakeSegment("smart", {smart}), &out),
        "GROWTH", smart.field());

    v1::UpdateSegmentRequest update;
    *update.mutable_segment() = MakeSegment("Germany", {smart});
    update.mutable_segment()->set_id(standard.id());
    update.mutable_update_mask()->add_paths("filter");
    ExpectUpgradeRequired(
        server_.segments().UpdateSegment(Ctx(ws.api_key).get(), update, &out),
        "GROWTH", smart.field());

    v1::PreviewSegmentRequest preview;
    *preview.mutable_filter() = MakeSegment("", {smart}).filter();
    v1::PreviewSegmentResponse resp;
    ExpectUpgradeRequired(server_.segments().PreviewSegment(
                              Ctx(ws.api_key).get(), preview, &resp),
                          "GROWTH", smart.field());
  }
  // Nothing was changed by the refused calls.
  v1::Segment still = Get(ws.api_key, standard.id());
  EXPECT_EQ(still.filter().conditions(0).field(), "country");
  EXPECT_EQ(still.state(), v1::ACTIVE);
}

TEST_F(PlansTest, FreeAllowsNoSegments) {
  auto ws = server_.CreateWorkspace("free", v1::FREE);
  v1::Segment out;
  ExpectUpgradeRequired(
      CreateSegment(
          ws.api_key,
          MakeSegment("tagged",
                      {MakeCondition("tags", v1::Condition::IS_SET, {})}),
          &out),
      "STARTER", "tags");
}

TEST_F(PlansTest, RuleCatalogShowsWhatThePlanAllows) {
  auto ws = server_.CreateWorkspace("starter", v1::STARTER);
  v1::RuleCatalog catalog;
  ASSERT_THAT(server_.segments().GetRuleCatalog(
                  Ctx(ws.api_key).get(), v1::GetRuleCatalogRequest(), &catalog),
              GrpcOk());
  EXPECT_EQ(catalog.plan(), v1::STARTER);
  ASSERT_EQ(catalog.fields_size(), 14);
  std::map<std::string, v1::RuleField> by_name;
  for (const v1::RuleField& f : catalog.fields()) by_name[f.name()] = f;

  const v1::RuleField& lead = by_name.at("lead_score");
  EXPECT_EQ(lead.type(), v1::RuleField::NUMBER);
  EXPECT_EQ(lead.required_plan(), v1::GROWTH);
  EXPECT_FALSE(lead.allowed());
  EXPECT_EQ(lead.family(), v1::SMART);
  EXPECT_THAT(lead.operators(), ::testing::Contains(v1::Condition::BETWEEN));

  const v1::RuleField& stage = by_name.at("lifecycle_stage");
  EXPECT_EQ(stage.type(), v1::RuleField::ORDERED_ENUM);
  EXPECT_TRUE(stage.allowed());
  EXPECT_THAT(stage.enum_values(),
              ElementsAre("SUBSCRIBER", "LEAD", "MQL", "SQL", "CUSTOMER"));
  EXPECT_FALSE(stage.optional());

  const v1::RuleField& tags = by_name.at("tags");
  EXPECT_EQ(tags.type(), v1::RuleField::TAGS);
  EXPECT_TRUE(tags.optional());
  EXPECT_THAT(tags.operators(),
              ElementsAre(v1::Condition::HAS_ANY, v1::Condition::HAS_ALL,
                          v1::Condition::HAS_NONE, v1::Condition::IS_SET,
                          v1::Condition::IS_NOT_SET));
  for (const auto& [name, f] : by_name) {
    EXPECT_EQ(f.allowed(), f.required_plan() <= v1::STARTER) << name;
  }

  SetPlan(ws.workspace.id(), v1::PRO);
  ASSERT_THAT(server_.segments().GetRuleCatalog(
                  Ctx(ws.api_key).get(), v1::GetRuleCatalogRequest(), &catalog),
              GrpcOk());
  for (const v1::RuleField& f : catalog.fields()) EXPECT_TRUE(f.allowed());
}

TEST_F(PlansTest, PreviewCountsWithoutSaving) {
  auto ws = server_.CreateWorkspace("growth", v1::GROWTH);
  std::vector<uint64_t> germans;
  for (int i = 0; i < 5; ++i) {
    uint64_t id = CreateContact(
        ws.api_key,
        MakeContact("p" + std::to_string(i) + "@x.com", i % 2 ? "DE" : "FR"));
    if (i % 2) germans.push_back(id);
  }
  v1::PreviewSegmentRequest req;
  *req.mutable_filter() =
      MakeSegment("", {MakeCondition("country", v1::Condition::EQUALS,
                                     {StringValue("de")})})
          .filter();
  req.set_sample_size(1);
  v1::PreviewSegmentResponse resp;
  ASSERT_THAT(
      server_.segments().PreviewSegment(Ctx(ws.api_key).get(), req, &resp),
      GrpcOk());
  EXPECT_EQ(resp.member_count(), 2u);
  EXPECT_THAT(resp.sample_contact_ids(), ElementsAre(germans[0]));
  EXPECT_EQ(resp.kind(), v1::STANDARD);

  v1::ListSegmentsResponse list;
  ASSERT_THAT(server_.segments().ListSegments(Ctx(ws.api_key).get(),
                                              v1::ListSegmentsRequest(), &list),
              GrpcOk());
  EXPECT_THAT(list.segments(), IsEmpty());

  req.set_sample_size(101);
  grpc::Status too_big =
      server_.segments().PreviewSegment(Ctx(ws.api_key).get(), req, &resp);
  EXPECT_THAT(too_big, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(too_big), ElementsAre("sample_size"));

  req.set_sample_size(0);
  req.mutable_filter()->mutable_conditions(0)->clear_values();
  grpc::Status bad =
      server_.segments().PreviewSegment(Ctx(ws.api_key).get(), req, &resp);
  EXPECT_THAT(bad, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(bad), ElementsAre("filter.conditions[0].values"));
}

TEST_F(PlansTest, DowngradeKeepsAndFreezesThenUpgradeRebuilds) {
  auto ws = server_.CreateWorkspace("growth", v1::GROWTH);
  v1::Contact hot = MakeContact("hot@x.com", "DE");
  hot.set_lead_score(90);
  const uint64_t hot_id = CreateContact(ws.api_key, hot);
  CreateContact(ws.api_key, MakeContact("cold@x.com", "FR"));

  v1::Segment smart, standard;
  ASSERT_THAT(
      CreateSegment(ws.api_key,
                    MakeSegment("Hot leads", {SmartConditions()[0]}), &smart),
      GrpcOk());
  ASSERT_THAT(CreateSegment(ws.api_key, GermanySegment(), &standard), GrpcOk());
  EXPECT_EQ(smart.kind(), v1::SMART);
  EXPECT_EQ(smart.member_count(), 1u);

  SetPlan(ws.workspace.id(), v1::STARTER);
  v1::Segment restricted = Get(ws.api_key, smart.id());
  EXPECT_EQ(restricted.state(), v1::PLAN_RESTRICTED);
  EXPECT_EQ(restricted.member_count(), 1u);  // kept, count readable
  EXPECT_EQ(Get(ws.api_key, standard.id()).state(), v1::ACTIVE);
  std::vector<uint64_t> ids;
  EXPECT_THAT(ListMembers(ws.api_key, smart.id(), &ids),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));

  // It stops updating: the hot lead cools down, the frozen count stays.
  v1::UpdateContactRequest cool;
  cool.mutable_contact()->set_id(hot_id);
  cool.mutable_contact()->set_lead_score(5);
  cool.mutable_update_mask()->add_paths("lead_score");
  v1::Contact updated;
  ASSERT_THAT(
      server_.contacts().UpdateContact(Ctx(ws.api_key).get(), cool, &updated),
      GrpcOk());
  EXPECT_EQ(Get(ws.api_key, smart.id()).member_count(), 1u);

  // A restart keeps it all.
  server_.Restart();
  EXPECT_EQ(Get(ws.api_key, smart.id()).state(), v1::PLAN_RESTRICTED);
  EXPECT_EQ(Get(ws.api_key, smart.id()).member_count(), 1u);

  SetPlan(ws.workspace.id(), v1::GROWTH);
  v1::Segment rebuilt = Get(ws.api_key, smart.id());
  EXPECT_EQ(rebuilt.state(), v1::ACTIVE);
  EXPECT_EQ(rebuilt.member_count(), 0u);
  ASSERT_THAT(ListMembers(ws.api_key, smart.id(), &ids), GrpcOk());
  EXPECT_THAT(ids, IsEmpty());
  ASSERT_THAT(ListMembers(ws.api_key, standard.id(), &ids), GrpcOk());
  EXPECT_THAT(ids, ElementsAre(hot_id));
}

}  // namespace
}  // namespace segments::testing
