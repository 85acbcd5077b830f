#include "core/analytics/plan_gate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/analytics/breakdown.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"

namespace segments::analytics {
namespace {

constexpr char kReason[] = "PLAN_UPGRADE_REQUIRED";

bool Allows(Plan plan, Plan required) {
  return static_cast<int>(plan) >= static_cast<int>(required);
}

}  // namespace

absl::Status CheckRecommendationsAllowed(Plan plan) {
  if (Allows(plan, kRecommendationsPlan)) return absl::OkStatus();
  const std::string required(PlanName(kRecommendationsPlan));
  return WithErrorInfo(
      absl::PermissionDeniedError(absl::StrCat(
          "recommendations need the ", required,
          " plan; this workspace's plan is ", AbslView(PlanName(plan)))),
      {kReason, {{"required_plan", required}, {"feature", "recommendations"}}});
}

absl::Status CheckBreakdownAllowed(Plan plan,
                                   const std::vector<Field>& fields) {
  for (Field f : fields) {
    const FieldInfo& info = GetFieldInfo(f);
    if (Allows(plan, info.required_plan)) continue;
    const std::string required(PlanName(info.required_plan));
    return WithErrorInfo(
        absl::PermissionDeniedError(absl::StrCat(
            "a breakdown by ", AbslView(info.name), " needs the ", required,
            " plan; this workspace's plan is ", AbslView(PlanName(plan)))),
        {kReason,
         {{"required_plan", required}, {"field", std::string(info.name)}}});
  }
  return absl::OkStatus();
}

std::vector<Field> AllowedBreakdownFields(Plan plan) {
  std::vector<Field> out;
  for (Field f : BreakdownFields()) {
    if (Allows(plan, GetFieldInfo(f).required_plan)) out.push_back(f);
  }
  return out;
}

}  // namespace segments::analytics
