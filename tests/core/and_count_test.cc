// The two intersection counters of core/analytics (AndCardinality,
// DenseSet) against CRoaring's own and_cardinality, over every pair of
// container kinds (array, bitset, run, and copy-on-write shared ones).
#include "core/analytics/and_count.h"

#include <cstdint>
#include <vector>

#include "core/analytics/dense_set.h"
#include "gtest/gtest.h"
#include "roaring/roaring.hh"

namespace segments::analytics {
namespace {

// splitmix64, for a fixed sequence.
uint64_t Next(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

// Chunks of 2^16 ids, each sparse (array), dense (bitset), a few runs, or
// absent, at random.
Roaring RandomBitmap(uint64_t& seed) {
  Roaring r;
  for (uint32_t chunk = 0; chunk < 24; ++chunk) {
    const uint32_t base = chunk << 16;
    switch (Next(seed) % 4) {
      case 0:
        for (int i = 0; i < 300; ++i) r.add(base + Next(seed) % 65536);
        break;
      case 1:
        for (int i = 0; i < 30000; ++i) r.add(base + Next(seed) % 65536);
        break;
      case 2:
        for (int i = 0; i < 5; ++i) {
          const uint32_t start = base + Next(seed) % 60000;
          r.addRange(start, start + Next(seed) % 5000);
        }
        break;
      default:
        break;
    }
  }
  r.runOptimize();
  return r;
}

TEST(AndCardinality, AgreesWithCRoaringOnEveryContainerPair) {
  uint64_t seed = 15;
  std::vector<Roaring> bitmaps;
  for (int i = 0; i < 12; ++i) bitmaps.push_back(RandomBitmap(seed));
  bitmaps.emplace_back();  // empty
  Roaring shared = bitmaps[0];
  shared.setCopyOnWrite(true);
  Roaring shared_copy(shared);  // containers shared with `shared`
  bitmaps.push_back(shared_copy);
  for (const Roaring& a : bitmaps) {
    for (const Roaring& b : bitmaps) {
      EXPECT_EQ(AndCardinality(a, b), a.and_cardinality(b));
    }
  }
}

TEST(DenseSet, CountsAndContainsAsCRoaringDoes) {
  uint64_t seed = 16;
  std::vector<Roaring> bitmaps;
  for (int i = 0; i < 10; ++i) bitmaps.push_back(RandomBitmap(seed));
  bitmaps.emplace_back();
  Roaring edges;  // runs ending at a chunk's last id, ids at word edges
  edges.addRange(65536 - 70, 65536 + 70);
  edges.add(63);
  edges.add(64);
  edges.add(24u << 16);  // past every other bitmap's chunks
  edges.runOptimize();
  bitmaps.push_back(edges);
  for (const Roaring& a : bitmaps) {
    const DenseSet dense(a);
    for (const Roaring& b : bitmaps) {
      EXPECT_EQ(dense.AndCardinality(b), a.and_cardinality(b));
    }
    for (uint32_t id = 0; id < (25u << 16); id += 97) {
      EXPECT_EQ(dense.contains(id), a.contains(id)) << id;
    }
  }
}

}  // namespace
}  // namespace segments::analytics
