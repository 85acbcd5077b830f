// What the plan allows of analytics (SPEC §5): recommendations need PRO;
// a breakdown by a scoring field (engagement_trend, conversion_likelihood)
// needs the plan that rules on that field need (GROWTH), so analytics never
// shows below a plan what its rules would not let it select.
#ifndef SEGMENTS_CORE_ANALYTICS_PLAN_GATE_H_
#define SEGMENTS_CORE_ANALYTICS_PLAN_GATE_H_

#include <vector>

#include "absl/status/status.h"
#include "core/base/types.h"
#include "core/model/field_catalog.h"

namespace segments::analytics {

inline constexpr Plan kRecommendationsPlan = Plan::kPro;

// PERMISSION_DENIED with ErrorInfo PLAN_UPGRADE_REQUIRED (metadata
// required_plan PRO, feature "recommendations") below PRO.
absl::Status CheckRecommendationsAllowed(Plan plan);
// PERMISSION_DENIED with ErrorInfo PLAN_UPGRADE_REQUIRED (metadata
// required_plan, field) for the first field `plan` does not allow.
absl::Status CheckBreakdownAllowed(Plan plan, const std::vector<Field>& fields);
// The breakdown fields `plan` allows, in BreakdownFields() order.
std::vector<Field> AllowedBreakdownFields(Plan plan);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_PLAN_GATE_H_
