#include "core/snapshots/snapshot_set.h"

#include <utility>

namespace segments {

void SnapshotSet::Install(Snapshot snapshot) {
  const SnapshotId id = snapshot.record.id;
  by_id_.insert_or_assign(id, std::move(snapshot));
}

void SnapshotSet::Remove(SnapshotId id) { by_id_.erase(id); }

const Snapshot* SnapshotSet::FindLive(SnapshotId id, UnixSeconds now) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !IsLive(it->second, now)) return nullptr;
  return &it->second;
}

Page<const Snapshot*> SnapshotSet::ListLive(SnapshotId after_id,
                                            size_t page_size,
                                            UnixSeconds now) const {
  Page<const Snapshot*> page;
  for (auto it = by_id_.upper_bound(after_id); it != by_id_.end(); ++it) {
    if (!IsLive(it->second, now)) continue;
    if (page.items.size() == page_size) {
      page.more = true;
      break;
    }
    page.items.push_back(&it->second);
  }
  return page;
}

size_t SnapshotSet::CountLive(UnixSeconds now) const {
  size_t n = 0;
  for (const auto& [id, s] : by_id_) n += IsLive(s, now) ? 1 : 0;
  return n;
}

std::vector<SnapshotId> SnapshotSet::Expired(UnixSeconds now) const {
  std::vector<SnapshotId> ids;
  for (const auto& [id, s] : by_id_) {
    if (!IsLive(s, now)) ids.push_back(id);
  }
  return ids;
}

std::optional<UnixSeconds> SnapshotSet::EarliestExpiry() const {
  std::optional<UnixSeconds> earliest;
  for (const auto& [id, s] : by_id_) {
    if (!earliest.has_value() || s.record.expire_time < *earliest) {
      earliest = s.record.expire_time;
    }
  }
  return earliest;
}

}  // namespace segments
