// A stable, versioned byte encoding of a validated filter, for storage.
// Decoding validates again, so a stored filter is never trusted blindly.
#ifndef SEGMENTS_CORE_MODEL_FILTER_CODEC_H_
#define SEGMENTS_CORE_MODEL_FILTER_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/filter.h"

namespace segments {

std::string EncodeFilter(const Filter& filter);
// DATA_LOSS when `bytes` is not an encoding this version understands.
absl::StatusOr<Filter> DecodeFilter(std::string_view bytes);

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_FILTER_CODEC_H_
