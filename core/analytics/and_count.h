// |a ∩ b| without building the intersection: Roaring::and_cardinality,
// with its commonest dear case done here. Debian's CRoaring 0.2.66 is
// built for baseline x86-64, so a bitset container's popcount is a
// software routine (about half of an overlap's time in a profile); two
// bitset containers are counted here with the CPU's popcnt instruction
// when it has one, every other pair of containers by CRoaring itself.
//
// Thread-safety: reads both bitmaps; the caller holds them still.
#ifndef SEGMENTS_CORE_ANALYTICS_AND_COUNT_H_
#define SEGMENTS_CORE_ANALYTICS_AND_COUNT_H_

#include <cstdint>

#include "roaring/roaring.hh"

namespace segments::analytics {

uint64_t AndCardinality(const Roaring& a, const Roaring& b);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_AND_COUNT_H_
