#include "core/analytics/bitmap_export.h"

#include <algorithm>

#include "core/index/bitmap_util.h"

namespace segments::analytics {

BitmapExport ExportBitmap(const Roaring& members, uint64_t as_of_sequence) {
  return {SerializeBitmap(members), members.cardinality(), as_of_sequence};
}

std::vector<std::string_view> Chunks(std::string_view bytes, size_t max_chunk) {
  std::vector<std::string_view> out;
  size_t at = 0;
  do {
    const size_t n = std::min(max_chunk, bytes.size() - at);
    out.push_back(bytes.substr(at, n));
    at += n;
  } while (at < bytes.size());
  return out;
}

}  // namespace segments::analytics
