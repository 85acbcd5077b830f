// The audience snapshots of a workspace in memory, by id. A snapshot is
// live until its expire_time; from then on every reader here passes it by,
// and it stays only until a write deletes it (the workspace's expiry timer,
// or the next snapshot write).
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex.
#ifndef SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_SET_H_
#define SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_SET_H_

#include <map>
#include <optional>
#include <vector>

#include "core/base/ids.h"
#include "core/base/types.h"
#include "core/model/paging.h"
#include "core/snapshots/snapshot.h"

namespace segments {

class SnapshotSet {
 public:
  // Inserts or replaces by id.
  void Install(Snapshot snapshot);
  void Remove(SnapshotId id);

  // The snapshot if it is live at `now`, else null.
  const Snapshot* FindLive(SnapshotId id, UnixSeconds now) const;
  // The live snapshots with id > after_id, at most page_size, by id.
  Page<const Snapshot*> ListLive(SnapshotId after_id, size_t page_size,
                                 UnixSeconds now) const;
  size_t CountLive(UnixSeconds now) const;
  // The snapshots expired at `now` (still held), ascending.
  std::vector<SnapshotId> Expired(UnixSeconds now) const;
  // The earliest expire_time of any snapshot held; nullopt when none.
  std::optional<UnixSeconds> EarliestExpiry() const;
  // Every snapshot held, expired or not.
  size_t size() const { return by_id_.size(); }

 private:
  static bool IsLive(const Snapshot& s, UnixSeconds now) {
    return now < s.record.expire_time;
  }

  // A workspace holds at most max_snapshots live ones (and the expired ones
  // a failing disk kept from being deleted), so scans are short.
  std::map<SnapshotId, Snapshot> by_id_;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_SNAPSHOTS_SNAPSHOT_SET_H_
