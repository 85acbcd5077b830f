// The stored filter codec (core/model/filter_codec.h) on arbitrary bytes, as
// a damaged or foreign segments.filter column would hold them.
//
// Properties: decoding never crashes and fails only with DATA_LOSS; whatever
// decodes re-encodes to bytes that decode to the same filter, and that
// encoding is a fixed point (encode(decode(encode(f))) == encode(f)); the
// decoded filter passes ValidateFilter again unchanged, with no size or depth
// limit (the decoder itself allows deeper nesting than the default).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/filter.h"
#include "core/model/filter_codec.h"
#include "tests/fuzz/fuzz_input.h"

namespace segments {
namespace {

void Check(std::string_view bytes) {
  absl::StatusOr<Filter> filter = DecodeFilter(bytes);
  if (!filter.ok()) {
    FUZZ_CHECK(filter.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  FUZZ_CHECK(!filter->conditions.empty());
  const std::string encoded = EncodeFilter(*filter);
  absl::StatusOr<Filter> again = DecodeFilter(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *filter);
  FUZZ_CHECK(EncodeFilter(*again) == encoded);

  Limits unlimited;
  unlimited.max_conditions = std::numeric_limits<size_t>::max();
  unlimited.max_list_values = std::numeric_limits<size_t>::max();
  // The decoder accepts deeper nesting than the default limit (a filter
  // stored under a higher one must still load), so revalidate without it.
  unlimited.max_group_depth = std::numeric_limits<size_t>::max();
  absl::StatusOr<Filter> revalidated =
      ValidateFilter(ToSpec(*filter), "filter", unlimited);
  FUZZ_CHECK(revalidated.ok());
  FUZZ_CHECK(*revalidated == *filter);
}

}  // namespace
}  // namespace segments

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  segments::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
