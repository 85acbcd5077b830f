// Segments recommended for a goal (SPEC §7, PRO): the goal's drafts
// (goals.h), each evaluated live over the attribute index (the count is
// exact, as a segment built from the filter would be) and compared with
// the workspace's existing segments, so that a recommendation that merely
// repeats one is visible as such. Candidates that match no one, or the same
// contacts as an earlier candidate, are left out; at most
// kMaxRecommendations remain. Each candidate's filter is validated as
// CreateSegment validates it, so it can be saved unchanged.
//
// Thread-safety: none; the caller holds the index, the contacts and the
// segments' bitmaps still.
#ifndef SEGMENTS_CORE_ANALYTICS_RECOMMENDATIONS_H_
#define SEGMENTS_CORE_ANALYTICS_RECOMMENDATIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/analytics/goals.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_lookup.h"
#include "core/model/filter.h"
#include "roaring/roaring.hh"

namespace segments::analytics {

inline constexpr size_t kMaxRecommendations = 5;
// Existing segments named per candidate: the most similar ones.
inline constexpr size_t kMaxOverlapsShown = 3;

struct ExistingSegment {
  SegmentId id = 0;
  std::string_view name;
  const Roaring* members = nullptr;
};

struct SegmentOverlap {
  SegmentId id = 0;
  std::string name;
  uint64_t intersection = 0;
  double jaccard = 0;  // intersection / union: 1 means the same contacts
};

struct Candidate {
  std::string display_name;
  FilterSpec filter;
  std::string rationale;
  uint64_t member_count = 0;
  double share = 0;  // of the workspace's contacts
  // The existing segments sharing members with it, most similar first
  // (jaccard, then intersection, then id).
  std::vector<SegmentOverlap> overlaps;
};

struct RecommendationInputs {
  const AttributeIndex* index = nullptr;
  const ContactLookup* contacts = nullptr;
  UnixSeconds now = 0;
  absl::Span<const ExistingSegment> segments;  // active ones
  Limits limits;
};

// INTERNAL if a draft fails validation (a bug in goals.cc, never the
// caller's input). REQUIRES: `goal` is not kUnspecified.
absl::StatusOr<std::vector<Candidate>> Recommend(
    Goal goal, const RecommendationInputs& in);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_RECOMMENDATIONS_H_
