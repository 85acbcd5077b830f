// The goals segments are recommended for (SPEC §7, PRO) and, for each, the
// candidate filters with the figures they rest on. Every threshold is read
// from the workspace's own data (percentiles of lead and engagement scores,
// the date distribution of last engagement and creation, over the contacts
// the goal is about), so the same data always gives the same drafts. Rules,
// not a model: nothing here is learned or guessed.
//
// Thread-safety: none; the caller holds the index still.
#ifndef SEGMENTS_CORE_ANALYTICS_GOALS_H_
#define SEGMENTS_CORE_ANALYTICS_GOALS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "core/index/attribute_index.h"
#include "core/model/filter.h"

namespace segments::analytics {

// Wire values of segments.v1.RecommendationGoal.
enum class Goal : int {
  kUnspecified = 0,
  kReengage = 1,      // engaged before, not recently
  kConvertLeads = 2,  // open leads (LEAD..SQL) most likely to convert
  kNurtureNew = 3,    // recently created, not yet qualified
  kWinBack = 4,       // customers gone quiet
  kUpsell = 5,        // customers engaged now
};
inline constexpr int kMaxGoal = 5;
std::string_view GoalName(Goal goal);

// A candidate before it is evaluated: a name to save it under, its filter
// (as a caller would send it to CreateSegment), and the figures its
// thresholds rest on, as a phrase ("lead score >= 72, the 75th percentile
// of open leads").
struct CandidateDraft {
  std::string display_name;
  FilterSpec filter;
  std::string basis;
};

// The goal's drafts, most central first; none that rests on a figure the
// data does not have (no customers: no win-back drafts). REQUIRES: `goal`
// is not kUnspecified.
std::vector<CandidateDraft> DraftsFor(Goal goal, const AttributeIndex& index,
                                      UnixSeconds now);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_GOALS_H_
