#include "core/analytics/plan_gate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/analytics/breakdown.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"
#include "core/base/plan_gate.h"

namespace segments::analytics {

absl::Status CheckRecommendationsAllowed(Plan plan) {
  if (PlanAllows(plan, kRecommendationsPlan)) return absl::OkStatus();
  return PlanUpgradeRequiredError("recommendations need", kRecommendationsPlan,
                                  plan, "feature", "recommendations");
}

absl::Status CheckBreakdownAllowed(Plan plan,
                                   const std::vector<Field>& fields) {
  for (Field f : fields) {
    const FieldInfo& info = GetFieldInfo(f);
    if (PlanAllows(plan, info.required_plan)) continue;
    return PlanUpgradeRequiredError(
        absl::StrCat("a breakdown by ", AbslView(info.name), " needs"),
        info.required_plan, plan, "field", std::string(info.name));
  }
  return absl::OkStatus();
}

std::vector<Field> AllowedBreakdownFields(Plan plan) {
  std::vector<Field> out;
  for (Field f : BreakdownFields()) {
    if (PlanAllows(plan, GetFieldInfo(f).required_plan)) out.push_back(f);
  }
  return out;
}

}  // namespace segments::analytics
