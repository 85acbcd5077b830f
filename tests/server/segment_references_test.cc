// Nested groups and segment references over gRPC (issue 14): segments built
// from groups and from other segments over a real channel, kept current by
// contact writes; validation errors at their field paths; cycle detection on
// a long chain; deleting a referenced segment (FAILED_PRECONDITION with
// ErrorInfo naming the referrers); plan gating, downgrades and upgrades
// through references.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::Condition Ref(v1::Condition::Operator op, uint64_t segment_id) {
  v1::Condition c;
  c.set_operator_(op);
  c.set_segment_id(segment_id);
  return c;
}

v1::Condition Group(v1::Filter::Match match,
                    std::vector<v1::Condition> conditions) {
  v1::Condition c;
  c.mutable_group()->set_match(match);
  for (v1::Condition& x : conditions)
    *c.mutable_group()->add_conditions() = std::move(x);
  return c;
}

v1::Condition Country(const std::string& country) {
  return MakeCondition("country", v1::Condition::EQUALS,
                       {StringValue(country)});
}

v1::Condition HasTag(const std::string& tag) {
  return MakeCondition("tags", v1::Condition::HAS_ANY, {StringValue(tag)});
}

class SegmentReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_ = server_.CreateWorkspace("refs", v1::GROWTH);
    key_ = ws_.api_key;
  }

  uint64_t NewContact(const std::string& email, const std::string& country,
                      std::vector<std::string> tags = {}, int32_t score = 0) {
    v1::CreateContactRequest req;
    *req.mutable_contact() = MakeContact(email, country);
    for (std::string& t : tags) req.mutable_contact()->add_tags(std::move(t));
    req.mutable_contact()->set_lead_score(score);
    v1::Contact out;
    EXPECT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), req, &out),
                GrpcOk());
    return out.id();
  }

  grpc::Status Create(v1::Segment segment, v1::Segment* out) {
    v1::CreateSegmentRequest req;
    *req.mutable_segment() = std::move(segment);
    return server_.segments().CreateSegment(Ctx(key_).get(), req, out);
  }

  uint64_t MustCreate(v1::Segment segment) {
    v1::Segment out;
    EXPECT_THAT(Create(std::move(segment), &out), GrpcOk());
    return out.id();
  }

  grpc::Status UpdateFilter(uint64_t id, std::vector<v1::Condition> conditions,
                            v1::Segment* out) {
    v1::UpdateSegmentRequest req;
    *req.mutable_segment() = MakeSegment("", std::move(conditions));
    req.mutable_segment()->set_id(id);
    req.mutable_update_mask()->add_paths("filter");
    return server_.segments().UpdateSegment(Ctx(key_).get(), req, out);
  }

  grpc::Status Delete(uint64_t id) {
    v1::DeleteSegmentRequest req;
    req.set_id(id);
    google::protobuf::Empty out;
    return server_.segments().DeleteSegment(Ctx(key_).get(), req, &out);
  }

  v1::Segment Get(uint64_t id) {
    v1::GetSegmentRequest req;
    req.set_id(id);
    v1::Segment out;
    EXPECT_THAT(server_.segments().GetSegment(Ctx(key_).get(), req, &out),
                GrpcOk());
    return out;
  }

  std::vector<uint64_t> Members(uint64_t id) {
    v1::ListSegmentMembersRequest req;
    req.set_segment_id(id);
    req.set_page_size(1000);
    v1::ListSegmentMembersResponse resp;
    EXPECT_THAT(
        server_.segments().ListSegmentMembers(Ctx(key_).get(), req, &resp),
        GrpcOk());
    return {resp.contact_ids().begin(), resp.contact_ids().end()};
  }

  void SetPlan(v1::Plan plan) {
    v1::SetPlanRequest req;
    req.set_id(ws_.workspace.id());
    req.set_plan(plan);
    v1::Workspace out;
    ASSERT_THAT(server_.admin().SetPlan(Ctx(kTestAdminKey).get(), req, &out),
                GrpcOk());
  }

  TestServer server_;
  TestServer::CreatedWorkspace ws_;
  std::string key_;
};

// German contacts tagged vip, or anyone in "France" but not in "vips":
// groups and references evaluated over the channel, echoed back as sent,
// and kept current by a contact write and across a restart.
TEST_F(SegmentReferencesTest, GroupsAndReferencesOverTheChannel) {
  const uint64_t de_vip = NewContact("a@x.io", "DE", {"vip"});
  const uint64_t de = NewContact("b@x.io", "DE");
  const uint64_t fr_vip = NewContact("c@x.io", "FR", {"vip"});
  const uint64_t fr = NewContact("d@x.io", "FR");
  NewContact("e@x.io", "US");

  const uint64_t france = MustCreate(MakeSegment("France", {Country("FR")}));
  const uint64_t vips = MustCreate(MakeSegment("vips", {HasTag("vip")}));
  v1::Segment mixed = MakeSegment(
      "mixed",
      {Group(v1::Filter::ALL, {Country("DE"), HasTag("vip")}),
       Group(v1::Filter::ALL, {Ref(v1::Condition::IN_SEGMENT, france),
                               Ref(v1::Condition::NOT_IN_SEGMENT, vips)})},
      v1::Filter::ANY);
  v1::Segment created;
  ASSERT_THAT(Create(mixed, &created), GrpcOk());
  EXPECT_EQ(created.member_count(), 2u);
  EXPECT_EQ(created.kind(), v1::STANDARD);
  EXPECT_THAT(Members(created.id()), ElementsAre(de_vip, fr));
  // The filter comes back as sent: groups and references intact.
  const v1::Segment stored = Get(created.id());
  const v1::Filter& echoed = stored.filter();
  ASSERT_EQ(echoed.conditions_size(), 2);
  ASSERT_TRUE(echoed.conditions(1).has_group());
  EXPECT_EQ(echoed.conditions(1).group().conditions(0).operator_(),
            v1::Condition::IN_SEGMENT);
  EXPECT_EQ(echoed.conditions(1).group().conditions(0).segment_id(), france);
  EXPECT_EQ(echoed.conditions(1).group().conditions(1).operator_(),
            v1::Condition::NOT_IN_SEGMENT);
  EXPECT_EQ(echoed.conditions(1).group().conditions(1).segment_id(), vips);

  // Tagging the French contact moves it into "vips", hence out of "mixed"
  // in the same write.
  v1::UpdateContactRequest upd;
  upd.mutable_contact()->set_id(fr);
  upd.mutable_contact()->add_tags("vip");
  upd.mutable_update_mask()->add_paths("tags");
  v1::Contact got;
  ASSERT_THAT(server_.contacts().UpdateContact(Ctx(key_).get(), upd, &got),
              GrpcOk());
  EXPECT_THAT(Members(vips), ElementsAre(de_vip, fr_vip, fr));
  EXPECT_THAT(Members(created.id()), ElementsAre(de_vip));

  server_.Restart();
  EXPECT_THAT(Members(created.id()), ElementsAre(de_vip));
  EXPECT_EQ(Get(created.id()).member_count(), 1u);
  (void)de;
}

// Every violation at its path, at once: a missing reference deep in a
// group, a reference with a field, an empty group, a group too deep.
TEST_F(SegmentReferencesTest, ValidationErrorsNameTheirPaths) {
  const uint64_t a = MustCreate(MakeSegment("A", {Country("DE")}));
  v1::Segment out;

  grpc::Status missing = Create(
      MakeSegment("missing",
                  {Country("DE"), Group(v1::Filter::ANY,
                                        {Ref(v1::Condition::IN_SEGMENT, 99),
                                         Ref(v1::Condition::IN_SEGMENT, a)})}),
      &out);
  EXPECT_THAT(missing, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(missing),
              ElementsAre("segment.filter.conditions[1].group.conditions[0]."
                          "segment_id"));

  v1::Condition with_field = Ref(v1::Condition::IN_SEGMENT, a);
  with_field.set_field("country");
  v1::Condition empty_group;
  empty_group.mutable_group()->set_match(v1::Filter::ALL);
  grpc::Status shapes =
      Create(MakeSegment("shapes", {with_field, empty_group}), &out);
  EXPECT_THAT(shapes, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  const std::vector<std::string> fields = ViolationFields(shapes);
  // A reference that names a field reads as a field rule whose operator
  // does not apply to it.
  EXPECT_THAT(fields, Contains("segment.filter.conditions[0].operator"));
  EXPECT_THAT(fields,
              Contains("segment.filter.conditions[1].group.conditions"));

  // Levels 2, 3, 4 are fine; a fifth is not.
  v1::Condition deep = Country("DE");
  for (int level = 0; level < 3; ++level) deep = Group(v1::Filter::ALL, {deep});
  ASSERT_THAT(Create(MakeSegment("deep4", {deep}), &out), GrpcOk());
  grpc::Status too_deep =
      Create(MakeSegment("deep5", {Group(v1::Filter::ALL, {deep})}), &out);
  EXPECT_THAT(too_deep, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  ASSERT_EQ(ViolationFields(too_deep).size(), 1u);
  EXPECT_EQ(ViolationFields(too_deep)[0],
            "segment.filter.conditions[0].group.conditions[0].group."
            "conditions[0].group.conditions[0].group");
  EXPECT_THAT(BadRequestOf(too_deep)[0].second,
              ::testing::HasSubstr("max_group_depth"));

  // 50 leaves over the tree, counted through groups.
  std::vector<v1::Condition> leaves;
  for (int i = 0; i < 26; ++i) leaves.push_back(Country("DE"));
  grpc::Status too_many =
      Create(MakeSegment("many", {Group(v1::Filter::ANY, leaves),
                                  Group(v1::Filter::ANY, leaves)}),
             &out);
  EXPECT_THAT(too_many, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(too_many),
              ElementsAre("segment.filter.conditions"));
  EXPECT_THAT(BadRequestOf(too_many)[0].second,
              ::testing::HasSubstr("max_conditions"));

  // Nothing of the refused ones was created.
  v1::ListSegmentsRequest list;
  v1::ListSegmentsResponse listed;
  ASSERT_THAT(server_.segments().ListSegments(Ctx(key_).get(), list, &listed),
              GrpcOk());
  EXPECT_EQ(listed.segments_size(), 2);  // A and deep4
}

// A chain of 60 segments, each referring to the one before: closing it at
// either end, or onto itself, is INVALID_ARGUMENT at the reference's path.
TEST_F(SegmentReferencesTest, CycleDetectionOnALongChain) {
  const uint64_t de = NewContact("a@x.io", "DE");
  std::vector<uint64_t> chain = {
      MustCreate(MakeSegment("s0", {Country("DE")}))};
  for (int i = 1; i < 60; ++i) {
    chain.push_back(MustCreate(MakeSegment(
        absl::StrCat("s", i), {Ref(v1::Condition::IN_SEGMENT, chain.back())})));
  }
  EXPECT_THAT(Members(chain.back()), ElementsAre(de));

  v1::Segment out;
  grpc::Status cycle = UpdateFilter(
      chain.front(),
      {Country("DE"),
       Group(v1::Filter::ANY, {Ref(v1::Condition::IN_SEGMENT, chain.back())})},
      &out);
  EXPECT_THAT(cycle, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(cycle),
              ElementsAre("segment.filter.conditions[1].group.conditions[0]."
                          "segment_id"));
  EXPECT_THAT(BadRequestOf(cycle)[0].second, ::testing::HasSubstr("cycle"));

  grpc::Status self = UpdateFilter(
      chain[30], {Ref(v1::Condition::NOT_IN_SEGMENT, chain[30])}, &out);
  EXPECT_THAT(self, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(self),
              ElementsAre("segment.filter.conditions[0].segment_id"));

  // Nothing changed: the chain still holds the contact at its end, and a
  // reference the other way (no cycle) is accepted.
  EXPECT_THAT(Members(chain.back()), ElementsAre(de));
  ASSERT_THAT(
      UpdateFilter(chain.back(),
                   {Ref(v1::Condition::NOT_IN_SEGMENT, chain.front())}, &out),
      GrpcOk());
  EXPECT_EQ(out.member_count(), 0u);
}

// A referenced segment cannot be deleted: FAILED_PRECONDITION with
// ErrorInfo SEGMENT_REFERENCED naming the direct referrers; once they are
// gone, it can.
TEST_F(SegmentReferencesTest, DeletingAReferencedSegmentIsRefused) {
  NewContact("a@x.io", "DE");
  const uint64_t base = MustCreate(MakeSegment("base", {Country("DE")}));
  const uint64_t r1 =
      MustCreate(MakeSegment("r1", {Ref(v1::Condition::IN_SEGMENT, base)}));
  const uint64_t r2 = MustCreate(MakeSegment(
      "r2",
      {Group(v1::Filter::ANY, {Ref(v1::Condition::NOT_IN_SEGMENT, base)})}));
  const uint64_t top =
      MustCreate(MakeSegment("top", {Ref(v1::Condition::IN_SEGMENT, r1)}));

  grpc::Status refused = Delete(base);
  EXPECT_THAT(refused, GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(refused);
  ASSERT_TRUE(info.has_value()) << refused.error_message();
  EXPECT_EQ(info->reason(), "SEGMENT_REFERENCED");
  EXPECT_EQ(info->metadata().at("segment_id"), absl::StrCat(base));
  EXPECT_EQ(info->metadata().at("referrers"), absl::StrCat(r1, ",", r2));
  EXPECT_EQ(Get(base).member_count(), 1u);  // still there

  EXPECT_THAT(Delete(r1), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  ASSERT_THAT(Delete(top), GrpcOk());
  ASSERT_THAT(Delete(r1), GrpcOk());
  refused = Delete(base);
  info = ErrorInfoOf(refused);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("referrers"), absl::StrCat(r2));
  ASSERT_THAT(Delete(r2), GrpcOk());
  EXPECT_THAT(Delete(base), GrpcOk());
}

// A segment referring to a smart one is smart: it needs GROWTH, a
// downgrade freezes it with what it refers to, a new reference to the
// frozen one is refused naming the smart field, and an upgrade rebuilds
// both (the referrer from the rebuilt members).
TEST_F(SegmentReferencesTest, PlanGatingFollowsReferences) {
  const uint64_t hot = NewContact("a@x.io", "DE", {}, 90);
  const uint64_t cold = NewContact("b@x.io", "DE", {}, 10);
  const uint64_t scored = MustCreate(MakeSegment(
      "scored", {MakeCondition("lead_score", v1::Condition::GREATER_OR_EQUAL,
                               {NumberValue(50)})}));
  v1::Segment referrer;
  ASSERT_THAT(Create(MakeSegment("not scored",
                                 {Country("DE"),
                                  Ref(v1::Condition::NOT_IN_SEGMENT, scored)}),
                     &referrer),
              GrpcOk());
  EXPECT_EQ(referrer.kind(), v1::SMART);
  EXPECT_THAT(Members(referrer.id()), ElementsAre(cold));
  const uint64_t plain = MustCreate(MakeSegment("DE", {Country("DE")}));

  SetPlan(v1::STARTER);
  EXPECT_EQ(Get(scored).state(), v1::PLAN_RESTRICTED);
  EXPECT_EQ(Get(referrer.id()).state(), v1::PLAN_RESTRICTED);
  EXPECT_EQ(Get(plain).state(), v1::ACTIVE);

  v1::Segment out;
  grpc::Status refused = Create(
      MakeSegment("via", {Group(v1::Filter::ALL,
                                {Ref(v1::Condition::IN_SEGMENT, scored)})}),
      &out);
  EXPECT_THAT(refused, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(refused);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info->metadata().at("required_plan"), "GROWTH");
  EXPECT_EQ(info->metadata().at("field"), "lead_score");
  // A preview through the smart segment is refused the same way.
  v1::PreviewSegmentRequest preview;
  *preview.mutable_filter()->add_conditions() =
      Ref(v1::Condition::IN_SEGMENT, scored);
  v1::PreviewSegmentResponse previewed;
  EXPECT_THAT(
      server_.segments().PreviewSegment(Ctx(key_).get(), preview, &previewed),
      GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  // Standard references still work on STARTER.
  ASSERT_THAT(
      Create(MakeSegment("via plain", {Ref(v1::Condition::IN_SEGMENT, plain)}),
             &out),
      GrpcOk());
  EXPECT_EQ(out.kind(), v1::STANDARD);
  EXPECT_EQ(out.member_count(), 2u);

  // While frozen, the hot contact cools down: nothing moves until the
  // upgrade, which rebuilds "scored" and then its referrer.
  v1::UpdateContactRequest upd;
  upd.mutable_contact()->set_id(hot);
  upd.mutable_contact()->set_lead_score(20);
  upd.mutable_update_mask()->add_paths("lead_score");
  v1::Contact got;
  ASSERT_THAT(server_.contacts().UpdateContact(Ctx(key_).get(), upd, &got),
              GrpcOk());
  EXPECT_EQ(Get(referrer.id()).member_count(), 1u);  // frozen
  SetPlan(v1::GROWTH);
  EXPECT_EQ(Get(scored).state(), v1::ACTIVE);
  EXPECT_EQ(Get(referrer.id()).state(), v1::ACTIVE);
  EXPECT_THAT(Members(scored), IsEmpty());
  EXPECT_THAT(Members(referrer.id()), ElementsAre(hot, cold));
}

}  // namespace
}  // namespace segments::testing
