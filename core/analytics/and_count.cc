#include "core/analytics/and_count.h"

#include "roaring/containers/containers.h"

namespace segments::analytics {
namespace {

constexpr int kWords = BITSET_CONTAINER_SIZE_IN_WORDS;

uint64_t CountWords(const uint64_t* a, const uint64_t* b) {
  uint64_t n = 0;
  for (int i = 0; i < kWords; ++i) {
    n += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  }
  return n;
}

#if defined(__x86_64__)
// The same loop compiled for CPUs with popcnt, chosen at run time.
__attribute__((target("popcnt"))) uint64_t CountWordsPopcnt(const uint64_t* a,
                                                            const uint64_t* b) {
  uint64_t n = 0;
  for (int i = 0; i < kWords; ++i) {
    n += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  }
  return n;
}
const bool kHasPopcnt = __builtin_cpu_supports("popcnt");
#endif

uint64_t BitsetAndCount(const bitset_container_t* a,
                        const bitset_container_t* b) {
#if defined(__x86_64__)
  if (kHasPopcnt) return CountWordsPopcnt(a->array, b->array);
#endif
  return CountWords(a->array, b->array);
}

}  // namespace

uint64_t AndCardinality(const Roaring& a, const Roaring& b) {
  const roaring_array_t& x = a.roaring.high_low_container;
  const roaring_array_t& y = b.roaring.high_low_container;
  uint64_t n = 0;
  int32_t i = 0, j = 0;
  while (i < x.size && j < y.size) {
    if (x.keys[i] < y.keys[j]) {
      ++i;
      continue;
    }
    if (y.keys[j] < x.keys[i]) {
      ++j;
      continue;
    }
    uint8_t tx = x.typecodes[i];
    uint8_t ty = y.typecodes[j];
    const void* cx = container_unwrap_shared(x.containers[i], &tx);
    const void* cy = container_unwrap_shared(y.containers[j], &ty);
    if (tx == BITSET_CONTAINER_TYPE_CODE && ty == BITSET_CONTAINER_TYPE_CODE) {
      n += BitsetAndCount(static_cast<const bitset_container_t*>(cx),
                          static_cast<const bitset_container_t*>(cy));
    } else {
      n += static_cast<uint64_t>(container_and_cardinality(cx, tx, cy, ty));
    }
    ++i;
    ++j;
  }
  return n;
}

}  // namespace segments::analytics
