#include "core/base/types.h"

#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(Plan, NamesAndCaseInsensitiveParse) {
  EXPECT_EQ(PlanName(Plan::kFree), "FREE");
  EXPECT_EQ(PlanName(Plan::kStarter), "STARTER");
  EXPECT_EQ(PlanName(Plan::kGrowth), "GROWTH");
  EXPECT_EQ(PlanName(Plan::kPro), "PRO");
  EXPECT_EQ(PlanName(Plan::kUnspecified), "PLAN_UNSPECIFIED");
  for (Plan p : {Plan::kFree, Plan::kStarter, Plan::kGrowth, Plan::kPro}) {
    EXPECT_EQ(ParsePlan(PlanName(p)), p);
  }
  EXPECT_EQ(ParsePlan("growth"), Plan::kGrowth);
  EXPECT_EQ(ParsePlan("Pro"), Plan::kPro);
  EXPECT_FALSE(ParsePlan("PLAN_UNSPECIFIED").has_value());
  EXPECT_FALSE(ParsePlan("").has_value());
  EXPECT_FALSE(ParsePlan("ENTERPRISE").has_value());
  EXPECT_FALSE(ParsePlan(" pro").has_value());
}

TEST(EnumNames, AreTheProtoNames) {
  EXPECT_EQ(LifecycleStageName(LifecycleStage::kSubscriber), "SUBSCRIBER");
  EXPECT_EQ(LifecycleStageName(LifecycleStage::kMql), "MQL");
  EXPECT_EQ(LifecycleStageName(LifecycleStage::kCustomer), "CUSTOMER");
  EXPECT_EQ(EngagementTrendName(EngagementTrend::kRising), "RISING");
  EXPECT_EQ(EngagementTrendName(EngagementTrend::kDeclining), "DECLINING");
  EXPECT_EQ(ConversionLikelihoodName(ConversionLikelihood::kVeryLikely),
            "VERY_LIKELY");
  EXPECT_EQ(LifecycleStageName(static_cast<LifecycleStage>(99)), "");
}

}  // namespace
}  // namespace segments
