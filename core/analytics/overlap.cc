#include "core/analytics/overlap.h"

#include <algorithm>
#include <bitset>

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

// "In at least one" (any), "in at least two" (twice) and "in all" over the
// segments' bit arrays, word by word: the members in exactly one are
// any - twice, and a segment's exclusive members are its members among
// them.
struct Cover {
  std::vector<uint64_t> any;
  std::vector<uint64_t> twice;
  std::vector<uint64_t> all;
};

Cover CoverOf(const std::vector<DenseSet>& dense) {
  size_t n = 0;
  for (const DenseSet& d : dense) n = std::max(n, d.words().size());
  Cover c;
  c.any.assign(n, 0);
  c.twice.assign(n, 0);
  c.all.assign(dense[0].words().begin(), dense[0].words().end());
  for (const DenseSet& d : dense) {
    const absl::Span<const uint64_t> w = d.words();
    for (size_t i = 0; i < w.size(); ++i) {
      c.twice[i] |= c.any[i] & w[i];
      c.any[i] |= w[i];
    }
    for (size_t i = 0; i < c.all.size(); ++i) {
      c.all[i] &= i < w.size() ? w[i] : 0;
    }
  }
  return c;
}

}  // namespace

Overlap OverlapOf(absl::Span<const Roaring* const> segments) {
  Overlap out;
  const size_t k = segments.size();
  std::vector<DenseSet> dense;
  dense.reserve(k);
  out.sizes.reserve(k);
  for (const Roaring* s : segments) {
    out.sizes.push_back(s->cardinality());
    dense.emplace_back(*s);
  }
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i + 1; j < k; ++j) {
      const uint64_t both = dense[i].AndCardinality(*segments[j]);
      out.pairs.push_back({i, j, both, out.sizes[i] + out.sizes[j] - both});
    }
  }
  const Cover cover = CoverOf(dense);
  for (const DenseSet& d : dense) {
    out.exclusive.push_back(PopcountAndNot(d.words(), cover.twice));
  }
  out.union_count = Popcount(cover.any);
  out.intersection_count = Popcount(cover.all);
  if (k <= kMaxVennSegments) out.regions = VennRegions(segments);
  return out;
}

}  // namespace segments::analytics
