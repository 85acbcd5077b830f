// A set of members as the standard portable Roaring serialization
// (RoaringFormatSpec), with the change-log sequence it is as of: what an
// export hands to other systems (CRoaring, Java RoaringBitmap, Go roaring,
// ClickHouse's groupBitmap). Made from a bitmap the caller holds still, so
// the bytes can be sent after the lock is released.
#ifndef SEGMENTS_CORE_ANALYTICS_BITMAP_EXPORT_H_
#define SEGMENTS_CORE_ANALYTICS_BITMAP_EXPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "roaring/roaring.hh"

namespace segments::analytics {

struct BitmapExport {
  std::string bytes;
  uint64_t member_count = 0;
  uint64_t as_of_sequence = 0;
};

BitmapExport ExportBitmap(const Roaring& members, uint64_t as_of_sequence);

// `bytes` cut into consecutive pieces of at most `max_chunk` bytes (one
// empty piece for no bytes, so a stream always has a first message).
// REQUIRES: max_chunk >= 1.
std::vector<std::string_view> Chunks(std::string_view bytes, size_t max_chunk);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_BITMAP_EXPORT_H_
