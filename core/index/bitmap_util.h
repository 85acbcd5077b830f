// Roaring bitmap helpers: the portable serialization (readable by CRoaring,
// Java RoaringBitmap, ClickHouse, ...) with errors as statuses instead of the
// exceptions CRoaring's C++ wrapper throws.
#ifndef SEGMENTS_CORE_INDEX_BITMAP_UTIL_H_
#define SEGMENTS_CORE_INDEX_BITMAP_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "roaring/roaring.hh"

namespace segments {

// The standard portable Roaring serialization of `bitmap`.
std::string SerializeBitmap(const Roaring& bitmap);
// Parses a portable serialization, reading no byte past `bytes`. DATA_LOSS
// when it is not one: truncated, followed by other bytes, or with
// containers out of order or inconsistent with their header. No bytes at
// all is the empty bitmap.
absl::StatusOr<Roaring> DeserializeBitmap(std::string_view bytes);

// Up to `limit` members greater than `after`, ascending; `*more` says whether
// further members follow.
std::vector<uint32_t> MembersAfter(const Roaring& bitmap, uint32_t after,
                                   size_t limit, bool* more);

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_BITMAP_UTIL_H_
