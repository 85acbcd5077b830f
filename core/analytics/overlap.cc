#include "core/analytics/overlap.h"

#include <bitset>

#include "core/analytics/and_count.h"
#include "core/analytics/dense_set.h"

namespace segments::analytics {
namespace {

// Every region of the Venn diagram by inclusion-exclusion over the
// intersections of every subset: region(m) = sum over T ⊇ m of
// (-1)^(|T|-|m|) |∩T|. The intersections of subsets of two or more are
// materialized once each, from the subset without its highest member.
std::vector<VennRegion> VennRegions(absl::Span<const Roaring* const> s) {
  const uint32_t k = static_cast<uint32_t>(s.size());
  const uint32_t full = (1u << k) - 1;
  std::vector<Roaring> meet(full + 1);
  std::vector<int64_t> meet_count(full + 1, 0);
  for (uint32_t t = 1; t <= full; ++t) {
    const uint32_t high = 31u - static_cast<uint32_t>(__builtin_clz(t));
    const uint32_t rest = t & ~(1u << high);
    if (rest == 0) {
      meet_count[t] = static_cast<int64_t>(s[high]->cardinality());
    } else if ((rest & (rest - 1)) == 0) {
      // Two members: the first intersection is taken from the inputs.
      const uint32_t low = static_cast<uint32_t>(__builtin_ctz(rest));
      meet[t] = *s[low] & *s[high];
      meet_count[t] = static_cast<int64_t>(meet[t].cardinality());
    } else {
      meet[t] = meet[rest] & *s[high];
      meet_count[t] = static_cast<int64_t>(meet[t].cardinality());
    }
  }
  std::vector<VennRegion> regions;
  regions.reserve(full);
  for (uint32_t m = 1; m <= full; ++m) {
    int64_t count = 0;
    for (uint32_t t = m; t <= full; t = (t + 1) | m) {
      const int sign =
          (std::bitset<32>(t).count() - std::bitset<32>(m).count()) % 2 ? -1
                                                                        : 1;
      count += sign * meet_count[t];
    }
    regions.push_back({m, static_cast<uint64_t>(count)});
  }
  return regions;
}

}  // namespace

Overlap OverlapOf(absl::Span<const Roaring* const> segments) {
  Overlap out;
  const size_t k = segments.size();
  out.sizes.reserve(k);
  for (const Roaring* s : segments) out.sizes.push_back(s->cardinality());
  for (size_t i = 0; i + 1 < k; ++i) {
    // One bit array per segment, counted against each later one.
    const DenseSet dense(*segments[i]);
    for (size_t j = i + 1; j < k; ++j) {
      const uint64_t both = dense.AndCardinality(*segments[j]);
      out.pairs.push_back({i, j, both, out.sizes[i] + out.sizes[j] - both});
    }
  }
  // In at least one (any) and at least two (twice) of the segments: the
  // members in exactly one are any - twice, and a segment's exclusive
  // members are its members among them.
  Roaring any = *segments[0];
  Roaring twice;
  Roaring all = *segments[0];
  for (size_t i = 1; i < k; ++i) {
    twice |= any & *segments[i];
    any |= *segments[i];
    if (!all.isEmpty()) all &= *segments[i];
  }
  const Roaring once = any - twice;
  for (const Roaring* s : segments) {
    out.exclusive.push_back(AndCardinality(*s, once));
  }
  out.union_count = any.cardinality();
  out.intersection_count = all.cardinality();
  if (k <= kMaxVennSegments) out.regions = VennRegions(segments);
  return out;
}

}  // namespace segments::analytics
