// The facade's audience snapshots: each call takes the locks it needs and
// hands the work to core/snapshots/ (the values and the set in memory) and
// internal/snapshot_writes (the preparation of a write), then commits
// through the same path as every other write.
#include <algorithm>
#include <utility>

#include "core/base/status_macros.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/engine/internal/snapshot_writes.h"
#include "core/engine/workspace.h"
#include "core/index/bitmap_util.h"

namespace segments {

using engine::PreparedWrite;
using engine::SnapshotWrites;

absl::StatusOr<SnapshotView> Workspace::CreateSnapshot(
    const SnapshotDraft& draft) {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  SnapshotId id;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(
        id, SnapshotWrites(*memory_, limits_).PrepareCreate(draft, now, &p));
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  ScheduleExpiry();
  absl::ReaderMutexLock l(&mu_);
  return SnapshotViewOf(*memory_->snapshots.FindLive(id, now));
}

absl::Status Workspace::DeleteSnapshot(SnapshotId id) {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    RETURN_IF_ERROR(
        SnapshotWrites(*memory_, limits_).PrepareDelete(id, now, &p));
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  ScheduleExpiry();
  return absl::OkStatus();
}

absl::Status Workspace::RemoveExpiredSnapshots() {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  bool any;
  {
    absl::ReaderMutexLock l(&mu_);
    any = SnapshotWrites(*memory_, limits_).PrepareExpiry(now, &p);
  }
  if (any) RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  ScheduleExpiry();
  return absl::OkStatus();
}

std::optional<UnixSeconds> Workspace::next_snapshot_expiry() const {
  absl::ReaderMutexLock l(&mu_);
  return memory_->snapshots.EarliestExpiry();
}

void Workspace::ScheduleExpiry() {
  if (expiry_timer_ == 0) return;
  std::optional<UnixSeconds> due;
  {
    absl::ReaderMutexLock l(&mu_);
    due = memory_->snapshots.EarliestExpiry();
  }
  scheduler_->Schedule(expiry_timer_, due);
}

void Workspace::OnSnapshotsExpire() {
  if (RemoveExpiredSnapshots().ok()) return;
  // The store could not commit (a failing disk): the expired snapshots stay
  // invisible, and their deletion is tried again in a second.
  scheduler_->Schedule(expiry_timer_, clock_->Now() + 1);
}

// ---------------------------------------------------------------------------
// Reads

absl::StatusOr<SnapshotView> Workspace::GetSnapshot(SnapshotId id) const {
  absl::ReaderMutexLock l(&mu_);
  const Snapshot* s = memory_->snapshots.FindLive(id, ReadNow());
  if (s == nullptr) return engine::SnapshotNotFound(id);
  return SnapshotViewOf(*s);
}

Page<SnapshotView> Workspace::ListSnapshots(SnapshotId after_id,
                                            size_t page_size) const {
  absl::ReaderMutexLock l(&mu_);
  const Page<const Snapshot*> live =
      memory_->snapshots.ListLive(after_id, page_size, ReadNow());
  Page<SnapshotView> page;
  page.more = live.more;
  for (const Snapshot* s : live.items) page.items.push_back(SnapshotViewOf(*s));
  return page;
}

absl::StatusOr<SnapshotMemberPage> Workspace::ListSnapshotMembers(
    SnapshotId id, ContactId after_id, size_t page_size,
    ContactView view) const {
  absl::ReaderMutexLock l(&mu_);
  const Snapshot* s = memory_->snapshots.FindLive(id, ReadNow());
  if (s == nullptr) return engine::SnapshotNotFound(id);
  SnapshotMemberPage out;
  Page<Contact>& page = out.members;
  const std::vector<ContactId> ids =
      MembersAfter(s->members, after_id, page_size, &page.more);
  page.items.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    Contact& item = page.items[i];
    item.id = ids[i];
    if (view != ContactView::kFull) continue;
    std::optional<Contact> now = memory_->contacts.Get(ids[i]);
    if (now.has_value()) {
      item = *std::move(now);
    } else {
      out.deleted.push_back(ids[i]);
    }
  }
  return out;
}

UnixSeconds Workspace::ReadNow() const {
  return std::max(clock_->Now(), memory_->counters.time_applied_until);
}

SnapshotView Workspace::SnapshotViewOf(const Snapshot& s) const {
  SnapshotView view;
  view.record = s.record;
  const engine::SegmentEntry* segment =
      memory_->segments.Find(s.record.segment_id);
  view.segment_deleted = segment == nullptr;
  view.drift = DriftOf(s.members, segment ? &segment->members : nullptr);
  return view;
}

}  // namespace segments
