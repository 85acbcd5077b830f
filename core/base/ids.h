// Every id type of the domain, in one place.
#ifndef SEGMENTS_CORE_BASE_IDS_H_
#define SEGMENTS_CORE_BASE_IDS_H_

#include <cstdint>

namespace segments {

using WorkspaceId = uint64_t;
using SegmentId = uint64_t;
// Contact ids are bit positions in 32-bit Roaring bitmaps: 1 .. 2^32-1.
using ContactId = uint32_t;
using SnapshotId = uint64_t;  // audience snapshots (core/snapshots/)

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_IDS_H_
