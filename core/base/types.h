// Enumerations of the domain (SPEC §2-§3). Their numeric values equal those
// of the same-named enums in protos/segments/v1, so translation is a checked
// cast; 0 means "unspecified/unset" throughout.
#ifndef SEGMENTS_CORE_BASE_TYPES_H_
#define SEGMENTS_CORE_BASE_TYPES_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace segments {

enum class Plan : int {
  kUnspecified = 0,
  kFree = 1,
  kStarter = 2,
  kGrowth = 3,
  kPro = 4
};
// Plans are ordered: each allows everything the ones below it do (a rule is
// allowed when plan >= its required plan).
static_assert(Plan::kFree < Plan::kStarter && Plan::kStarter < Plan::kGrowth &&
                  Plan::kGrowth < Plan::kPro,
              "plans are ordered FREE < STARTER < GROWTH < PRO");
enum class LifecycleStage : int {
  kUnspecified = 0,
  kSubscriber = 1,
  kLead = 2,
  kMql = 3,
  kSql = 4,
  kCustomer = 5
};
enum class EngagementTrend : int {
  kUnset = 0,
  kRising = 1,
  kStable = 2,
  kDeclining = 3
};
enum class ConversionLikelihood : int {
  kUnset = 0,
  kLow = 1,
  kPossible = 2,
  kLikely = 3,
  kVeryLikely = 4
};

enum class SegmentKind : int { kUnspecified = 0, kStandard = 1, kSmart = 2 };
enum class SegmentState : int {
  kUnspecified = 0,
  kActive = 1,
  kPlanRestricted = 2
};

// Membership change log (SPEC §6).
// kSegmentDeleted: the segment is gone (its remaining members with it); one
// event, contact id 0, so a feed consumer learns of it in order.
enum class ChangeKind : int { kEntered = 1, kLeft = 2, kSegmentDeleted = 3 };
enum class ChangeCause : int {
  kContactChanged = 1,
  kContactDeleted = 2,
  kTime = 3,
  kRulesChanged = 4,
  kPlanChanged = 5
};

// Canonical upper-case names ("GROWTH", "MQL") and their case-insensitive
// parse. Parse returns nullopt for unknown names and for the unspecified value.
std::string_view PlanName(Plan p);
std::optional<Plan> ParsePlan(std::string_view name);
std::string_view LifecycleStageName(LifecycleStage s);
std::string_view EngagementTrendName(EngagementTrend t);
std::string_view ConversionLikelihoodName(ConversionLikelihood c);

// Seconds since the Unix epoch, UTC. Rules compare at one-second precision.
using UnixSeconds = int64_t;
// The range google.protobuf.Timestamp allows: 0001-01-01 .. 9999-12-31.
inline constexpr UnixSeconds kMinTimestamp = -62135596800;
inline constexpr UnixSeconds kMaxTimestamp = 253402300799;

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_TYPES_H_
