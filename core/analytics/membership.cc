#include "core/analytics/membership.h"

#include <limits>

namespace segments::analytics {

MembershipCheck CheckMembership(const Roaring& members,
                                absl::Span<const uint64_t> ids) {
  MembershipCheck out;
  out.is_member.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    const bool member = id <= std::numeric_limits<uint32_t>::max() &&
                        members.contains(static_cast<uint32_t>(id));
    out.is_member[i] = member;
    out.member_count += member ? 1 : 0;
  }
  return out;
}

}  // namespace segments::analytics
