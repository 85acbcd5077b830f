// Every configurable limit (SPEC §10), in one place. Defaults are the SPEC's.
// A limit's name is what an error that enforces it says ("limit
// max_conditions").
#ifndef SEGMENTS_CORE_BASE_LIMITS_H_
#define SEGMENTS_CORE_BASE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace segments {

struct Limits {
  size_t max_segments = 1000;    // per workspace
  size_t max_conditions = 50;    // per segment filter
  size_t max_list_values = 500;  // values of one IN / NOT_IN condition
  size_t max_segment_name_bytes = 200;
  size_t max_batch_contacts = 10000;
  size_t max_page_size = 1000;
  size_t max_preview_sample = 100;  // ids in a preview's sample
  // Audience snapshots: live (not yet expired) ones per workspace, and how
  // far ahead a snapshot may expire. A snapshot holds a copy of its
  // segment's bitmap in memory and on disk until it expires.
  size_t max_snapshots = 100;
  int64_t max_snapshot_ttl_seconds = 30 * 86400;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_LIMITS_H_
