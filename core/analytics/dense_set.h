// One set of contact ids held as a plain bit array, to count its
// intersection with many bitmaps (a candidate against every segment, a
// segment against the others, a segment against small postings). Each of
// the other bitmap's containers is counted against the words of its 2^16
// ids: a bitset by a popcount of the AND of 1,024 words, an array by one
// bit test per member, a run by the popcount of its range. That is cheaper
// than CRoaring's merge of two sorted arrays, which is most of the time of
// such loops otherwise. It costs 8 KiB per 2^16 ids up to the highest one
// (128 KiB at a million contacts; ids are dense).
//
// Thread-safety: immutable after construction; the bitmaps it reads must
// be held still by the caller.
#ifndef SEGMENTS_CORE_ANALYTICS_DENSE_SET_H_
#define SEGMENTS_CORE_ANALYTICS_DENSE_SET_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "roaring/roaring.hh"

namespace segments::analytics {

class DenseSet {
 public:
  explicit DenseSet(const Roaring& members);

  bool contains(uint32_t id) const {
    const uint64_t word = id / 64;
    return word < words_.size() && (words_[word] >> (id % 64)) & 1;
  }
  // |members ∩ other|.
  uint64_t AndCardinality(const Roaring& other) const;
  // The bit array itself: bit i % 64 of word i / 64 is id i, up to the
  // highest chunk of 2^16 ids holding a member.
  absl::Span<const uint64_t> words() const { return words_; }

 private:
  std::vector<uint64_t> words_;  // bit i: id i
};

// Bits set in `a`, and in `a` but not in `b` (words beyond `b` count as 0).
uint64_t Popcount(absl::Span<const uint64_t> a);
uint64_t PopcountAndNot(absl::Span<const uint64_t> a,
                        absl::Span<const uint64_t> b);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_DENSE_SET_H_
