// Which of many contact ids belong to one segment: one `contains` per id
// against the segment's bitmap (the caller holds it still). Ids that are
// not bit positions (0, or beyond 32 bits) or that no contact holds are
// simply not members: nothing of another workspace is ever looked at.
#ifndef SEGMENTS_CORE_ANALYTICS_MEMBERSHIP_H_
#define SEGMENTS_CORE_ANALYTICS_MEMBERSHIP_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "roaring/roaring.hh"

namespace segments::analytics {

struct MembershipCheck {
  std::vector<bool> is_member;  // parallel to the ids asked about
  uint64_t member_count = 0;    // how many of them are members (repeats too)
};

MembershipCheck CheckMembership(const Roaring& members,
                                absl::Span<const uint64_t> ids);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_MEMBERSHIP_H_
