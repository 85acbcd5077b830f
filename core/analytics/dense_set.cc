#include "core/analytics/dense_set.h"

#include <cstring>

#include "roaring/containers/containers.h"

// Debian's CRoaring and this build target baseline x86-64, whose popcount
// is a software routine; the hot loops get a popcnt clone chosen at load.
#if defined(__x86_64__) && !defined(__clang__)
#define SEGMENTS_POPCNT_CLONES \
  __attribute__((target_clones("popcnt", "default")))
#else
#define SEGMENTS_POPCNT_CLONES
#endif

namespace segments::analytics {
namespace {

constexpr uint64_t kWordsPerChunk = BITSET_CONTAINER_SIZE_IN_WORDS;

SEGMENTS_POPCNT_CLONES uint64_t CountAnd(const uint64_t* a, const uint64_t* b) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < kWordsPerChunk; ++i) {
    n += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  }
  return n;
}

// Bits [lo, hi] (inclusive) of `words`, set or counted.
uint64_t Mask(uint32_t from, uint32_t to) {  // bits from..to of one word
  const uint64_t high = to == 63 ? ~uint64_t{0} : (uint64_t{1} << (to + 1)) - 1;
  return high & ~((uint64_t{1} << from) - 1);
}

void SetRange(uint64_t* words, uint32_t lo, uint32_t hi) {
  for (uint32_t w = lo / 64; w <= hi / 64; ++w) {
    const uint32_t from = w == lo / 64 ? lo % 64 : 0;
    const uint32_t to = w == hi / 64 ? hi % 64 : 63;
    words[w] |= Mask(from, to);
  }
}

SEGMENTS_POPCNT_CLONES uint64_t CountRange(const uint64_t* words, uint32_t lo,
                                           uint32_t hi) {
  uint64_t n = 0;
  for (uint32_t w = lo / 64; w <= hi / 64; ++w) {
    const uint32_t from = w == lo / 64 ? lo % 64 : 0;
    const uint32_t to = w == hi / 64 ? hi % 64 : 63;
    n += static_cast<uint64_t>(__builtin_popcountll(words[w] & Mask(from, to)));
  }
  return n;
}

}  // namespace

DenseSet::DenseSet(const Roaring& members) {
  const roaring_array_t& ra = members.roaring.high_low_container;
  if (ra.size == 0) return;
  words_.assign((uint64_t{ra.keys[ra.size - 1]} + 1) * kWordsPerChunk, 0);
  for (int32_t i = 0; i < ra.size; ++i) {
    uint64_t* chunk = words_.data() + uint64_t{ra.keys[i]} * kWordsPerChunk;
    uint8_t type = ra.typecodes[i];
    const void* c = container_unwrap_shared(ra.containers[i], &type);
    if (type == BITSET_CONTAINER_TYPE_CODE) {
      std::memcpy(chunk, static_cast<const bitset_container_t*>(c)->array,
                  kWordsPerChunk * sizeof(uint64_t));
    } else if (type == ARRAY_CONTAINER_TYPE_CODE) {
      const auto* a = static_cast<const array_container_t*>(c);
      for (int32_t k = 0; k < a->cardinality; ++k) {
        chunk[a->array[k] / 64] |= uint64_t{1} << (a->array[k] % 64);
      }
    } else {
      const auto* r = static_cast<const run_container_t*>(c);
      for (int32_t k = 0; k < r->n_runs; ++k) {
        SetRange(chunk, r->runs[k].value,
                 uint32_t{r->runs[k].value} + r->runs[k].length);
      }
    }
  }
}

uint64_t DenseSet::AndCardinality(const Roaring& other) const {
  const roaring_array_t& ra = other.roaring.high_low_container;
  const uint64_t chunks = words_.size() / kWordsPerChunk;
  uint64_t n = 0;
  for (int32_t i = 0; i < ra.size && ra.keys[i] < chunks; ++i) {
    const uint64_t* chunk =
        words_.data() + uint64_t{ra.keys[i]} * kWordsPerChunk;
    uint8_t type = ra.typecodes[i];
    const void* c = container_unwrap_shared(ra.containers[i], &type);
    if (type == BITSET_CONTAINER_TYPE_CODE) {
      n += CountAnd(chunk, static_cast<const bitset_container_t*>(c)->array);
    } else if (type == ARRAY_CONTAINER_TYPE_CODE) {
      const auto* a = static_cast<const array_container_t*>(c);
      for (int32_t k = 0; k < a->cardinality; ++k) {
        n += (chunk[a->array[k] / 64] >> (a->array[k] % 64)) & 1;
      }
    } else {
      const auto* r = static_cast<const run_container_t*>(c);
      for (int32_t k = 0; k < r->n_runs; ++k) {
        n += CountRange(chunk, r->runs[k].value,
                        uint32_t{r->runs[k].value} + r->runs[k].length);
      }
    }
  }
  return n;
}

SEGMENTS_POPCNT_CLONES uint64_t Popcount(absl::Span<const uint64_t> a) {
  uint64_t n = 0;
  for (uint64_t w : a) n += static_cast<uint64_t>(__builtin_popcountll(w));
  return n;
}

SEGMENTS_POPCNT_CLONES uint64_t PopcountAndNot(absl::Span<const uint64_t> a,
                                               absl::Span<const uint64_t> b) {
  uint64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const uint64_t other = i < b.size() ? b[i] : 0;
    n += static_cast<uint64_t>(__builtin_popcountll(a[i] & ~other));
  }
  return n;
}

}  // namespace segments::analytics
