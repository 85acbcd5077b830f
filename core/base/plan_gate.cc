#include "core/base/plan_gate.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"

namespace segments {

absl::Status PlanUpgradeRequiredError(std::string_view what_needs,
                                      Plan required, Plan plan,
                                      std::string detail_key,
                                      std::string detail_value) {
  const std::string_view required_name = PlanName(required);
  absl::Status status = absl::PermissionDeniedError(absl::StrCat(
      AbslView(what_needs), " the ", AbslView(required_name),
      " plan; this workspace's plan is ", AbslView(PlanName(plan))));
  return WithErrorInfo(std::move(status),
                       {"PLAN_UPGRADE_REQUIRED",
                        {{"required_plan", std::string(required_name)},
                         {std::move(detail_key), std::move(detail_value)}}});
}

}  // namespace segments
