// The checks of an analytics request's arguments, each reporting every
// violation at once at the request's field paths and naming the limit it
// enforces ("limit max_overlap_segments"), before anything is read.
#ifndef SEGMENTS_CORE_ANALYTICS_REQUESTS_H_
#define SEGMENTS_CORE_ANALYTICS_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/analytics/goals.h"
#include "core/base/limits.h"
#include "core/model/field_catalog.h"

namespace segments::analytics {

// 1..max_membership_check_ids ids at "contact_ids", none 0.
absl::Status CheckMembershipIds(absl::Span<const uint64_t> ids,
                                const Limits& limits);

struct BreakdownArgs {
  std::vector<Field> fields;  // empty: the caller picks by plan
  size_t top_n = 0;
};
// Known breakdown fields at "dimensions[i]", each once; top_n at "top_n"
// (0: the default; 1..max_breakdown_top_n).
absl::StatusOr<BreakdownArgs> CheckBreakdownArgs(
    const std::vector<std::string>& dimensions, int64_t top_n,
    const Limits& limits);

// 2..max_overlap_segments distinct ids at "segment_ids", none 0.
absl::Status CheckOverlapIds(absl::Span<const uint64_t> ids,
                             const Limits& limits);

// A known goal at "goal".
absl::StatusOr<Goal> CheckGoal(int goal);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_REQUESTS_H_
