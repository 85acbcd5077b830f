// Configurable limits (SPEC §10). Defaults are the SPEC's.
#ifndef SEGMENTS_CORE_BASE_LIMITS_H_
#define SEGMENTS_CORE_BASE_LIMITS_H_

#include <cstddef>

namespace segments {

struct Limits {
  size_t max_segments = 1000;  // per workspace
  size_t max_conditions = 50;  // per segment filter
  size_t max_batch_contacts = 10000;
  size_t max_page_size = 1000;
  size_t max_membership_ids = 10000;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_LIMITS_H_
