// The overlap of 2..max_overlap_segments segments (SPEC §7): every pairwise
// intersection and union, each segment's exclusive count (members in none
// of the others), the union and intersection of all, and for up to
// kMaxVennSegments segments every region of the Venn diagram. Exact, from
// the bitmaps (intersection cardinalities, and a few materialized
// intersections for the regions); the caller holds them still.
#ifndef SEGMENTS_CORE_ANALYTICS_OVERLAP_H_
#define SEGMENTS_CORE_ANALYTICS_OVERLAP_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "roaring/roaring.hh"

namespace segments::analytics {

inline constexpr size_t kMaxVennSegments = 4;

struct PairOverlap {
  size_t first = 0;  // indexes into the segments given, first < second
  size_t second = 0;
  uint64_t intersection = 0;
  uint64_t union_count = 0;
};

// The members in exactly the segments of `mask` (bit i: the i-th segment)
// and in none of the others.
struct VennRegion {
  uint32_t mask = 0;
  uint64_t count = 0;
};

struct Overlap {
  std::vector<uint64_t> sizes;      // per segment
  std::vector<uint64_t> exclusive;  // per segment
  std::vector<PairOverlap> pairs;   // (0,1), (0,2), ..., (k-2,k-1)
  uint64_t union_count = 0;
  uint64_t intersection_count = 0;
  std::vector<VennRegion> regions;  // masks 1..2^k-1 ascending; k <= 4 only
};

// REQUIRES: at least one bitmap; none null. The same segment given twice is
// treated as two equal sets.
Overlap OverlapOf(absl::Span<const Roaring* const> segments);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_OVERLAP_H_
