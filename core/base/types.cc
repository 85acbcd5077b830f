#include "core/base/types.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace segments {

std::string_view PlanName(Plan p) {
  switch (p) {
    case Plan::kUnspecified:
      return "PLAN_UNSPECIFIED";
    case Plan::kFree:
      return "FREE";
    case Plan::kStarter:
      return "STARTER";
    case Plan::kGrowth:
      return "GROWTH";
    case Plan::kPro:
      return "PRO";
  }
  return "";
}

std::optional<Plan> ParsePlan(std::string_view name) {
  const absl::string_view n(name.data(), name.size());
  for (Plan p : {Plan::kFree, Plan::kStarter, Plan::kGrowth, Plan::kPro}) {
    const std::string_view candidate = PlanName(p);
    if (absl::EqualsIgnoreCase(
            n, absl::string_view(candidate.data(), candidate.size()))) {
      return p;
    }
  }
  return std::nullopt;
}

std::string_view LifecycleStageName(LifecycleStage s) {
  switch (s) {
    case LifecycleStage::kUnspecified:
      return "LIFECYCLE_STAGE_UNSPECIFIED";
    case LifecycleStage::kSubscriber:
      return "SUBSCRIBER";
    case LifecycleStage::kLead:
      return "LEAD";
    case LifecycleStage::kMql:
      return "MQL";
    case LifecycleStage::kSql:
      return "SQL";
    case LifecycleStage::kCustomer:
      return "CUSTOMER";
  }
  return "";
}

std::string_view EngagementTrendName(EngagementTrend t) {
  switch (t) {
    case EngagementTrend::kUnset:
      return "ENGAGEMENT_TREND_UNSPECIFIED";
    case EngagementTrend::kRising:
      return "RISING";
    case EngagementTrend::kStable:
      return "STABLE";
    case EngagementTrend::kDeclining:
      return "DECLINING";
  }
  return "";
}

std::string_view ConversionLikelihoodName(ConversionLikelihood c) {
  switch (c) {
    case ConversionLikelihood::kUnset:
      return "CONVERSION_LIKELIHOOD_UNSPECIFIED";
    case ConversionLikelihood::kLow:
      return "LOW";
    case ConversionLikelihood::kPossible:
      return "POSSIBLE";
    case ConversionLikelihood::kLikely:
      return "LIKELY";
    case ConversionLikelihood::kVeryLikely:
      return "VERY_LIKELY";
  }
  return "";
}

}  // namespace segments
