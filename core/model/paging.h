// Page sizes and opaque page tokens (AIP-158). A token records the last id
// returned and what it pages over, so a token from one listing is refused by
// another.
#ifndef SEGMENTS_CORE_MODEL_PAGING_H_
#define SEGMENTS_CORE_MODEL_PAGING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace segments {

// One page of any listing: items by ascending id, and whether items follow
// the last one (the next page starts after its id).
template <typename T>
struct Page {
  std::vector<T> items;
  bool more = false;
};

inline constexpr size_t kDefaultPageSize = 100;

// 0 -> kDefaultPageSize; negative -> INVALID_ARGUMENT; over `max` ->
// INVALID_ARGUMENT naming the limit. Violations name `path` ("page_size").
absl::StatusOr<size_t> ResolvePageSize(int64_t requested, size_t max,
                                       std::string_view path);

// `scope` names what is paged ("members/12", "segments").
std::string EncodePageToken(std::string_view scope, uint64_t after_id);
// "" -> 0 (start). INVALID_ARGUMENT at `path` for a token that is malformed
// or belongs to another scope.
absl::StatusOr<uint64_t> DecodePageToken(std::string_view token,
                                         std::string_view scope,
                                         std::string_view path);

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_PAGING_H_
