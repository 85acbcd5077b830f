#include "core/index/bitmap_util.h"

#include <stdexcept>

namespace segments {

std::string SerializeBitmap(const Roaring& bitmap) {
  std::string out(bitmap.getSizeInBytes(/*portable=*/true), '\0');
  bitmap.write(out.data(), /*portable=*/true);
  return out;
}

absl::StatusOr<Roaring> DeserializeBitmap(std::string_view bytes) {
  // CRoaring 0.2.66 checks bounds in the _safe variant only, and signals a
  // malformed input the same way as an allocation failure: by throwing.
  if (bytes.empty()) return Roaring();
  try {
    Roaring r = Roaring::readSafe(bytes.data(), bytes.size());
    if (r.getSizeInBytes(true) != bytes.size()) {
      return absl::DataLossError("bitmap: trailing or inconsistent bytes");
    }
    // Nor does it check the containers: an array out of order or with
    // repeats, overlapping runs or a bitset whose stored cardinality is
    // wrong would be taken as they are, and answer membership wrongly.
    // Their members then do not come out strictly ascending, or not as
    // many as the cardinality says.
    // Nor does it refuse an empty container (a run container of no runs),
    // which its iterator and most operations assume away: iterating one
    // dereferences a null pointer. The C++ wrapper exposes the containers.
    const roaring_array_t& containers = r.roaring.high_low_container;
    for (int32_t i = 0; i < containers.size; ++i) {
      if (!container_nonzero_cardinality(containers.containers[i],
                                         containers.typecodes[i])) {
        return absl::DataLossError("bitmap: an empty container");
      }
    }
    // A run may also reach past the end of its container's 2^16 values:
    // its members then carry the next high 16 bits, which no container has
    // (a later one would be out of order), so contains() denies the first
    // member of each new 2^16 range that is not in a container of its own.
    uint64_t count = 0;
    uint32_t previous = 0;
    for (const uint32_t v : r) {
      if (count > 0 && v <= previous) {
        return absl::DataLossError("bitmap: members out of order");
      }
      if ((count == 0 || (v >> 16) != (previous >> 16)) && !r.contains(v)) {
        return absl::DataLossError("bitmap: a run past its container's end");
      }
      previous = v;
      ++count;
    }
    if (count != r.cardinality()) {
      return absl::DataLossError("bitmap: wrong cardinality");
    }
    return r;
  } catch (const std::exception& e) {
    return absl::DataLossError(
        std::string("bitmap: not a portable Roaring serialization: ") +
        e.what());
  }
}

std::vector<uint32_t> MembersAfter(const Roaring& bitmap, uint32_t after,
                                   size_t limit, bool* more) {
  std::vector<uint32_t> out;
  *more = false;
  if (after == UINT32_MAX) return out;
  auto it = bitmap.begin();
  it.equalorlarger(after + 1);
  const auto end = bitmap.end();
  for (; it != end; ++it) {
    if (out.size() == limit) {
      *more = true;
      break;
    }
    out.push_back(*it);
  }
  return out;
}

}  // namespace segments
