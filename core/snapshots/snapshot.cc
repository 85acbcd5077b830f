#include "core/snapshots/snapshot.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/index/bitmap_util.h"

namespace segments {
namespace {

std::string TtlLimitText(const Limits& limits) {
  return absl::StrCat("at most ", limits.max_snapshot_ttl_seconds,
                      " seconds ahead (limit max_snapshot_ttl)");
}

}  // namespace

absl::StatusOr<UnixSeconds> ResolveExpireTime(const SnapshotDraft& draft,
                                              UnixSeconds now,
                                              const Limits& limits,
                                              std::string_view path) {
  const int64_t max_ttl = limits.max_snapshot_ttl_seconds;
  if (draft.ttl_seconds.has_value()) {
    const int64_t ttl = *draft.ttl_seconds;
    const std::string field = absl::StrCat(std::string(path), ".ttl");
    if (ttl < 1) return InvalidFieldError(field, "must be at least 1 second");
    if (ttl > max_ttl) return InvalidFieldError(field, TtlLimitText(limits));
    return now + ttl;
  }
  if (draft.expire_time.has_value()) {
    const UnixSeconds at = *draft.expire_time;
    const std::string field = absl::StrCat(std::string(path), ".expire_time");
    if (at <= now) return InvalidFieldError(field, "must be in the future");
    if (at - now > max_ttl) {
      return InvalidFieldError(field, TtlLimitText(limits));
    }
    return at;
  }
  // A limit configured below the default lowers the default with it.
  return now + std::min(kDefaultSnapshotTtlSeconds, max_ttl);
}

Snapshot MakeSnapshot(SnapshotRecord record, const Roaring& live,
                      SnapshotRecord* stored) {
  Snapshot s;
  s.members = live;  // the one copy; the live bitmap moves on without it
  // Containers of consecutive ids become runs: smaller in memory and on
  // disk. One pass over the containers, not over the members.
  s.members.runOptimize();
  record.member_count = s.members.cardinality();
  record.members.clear();
  s.record = record;
  *stored = std::move(record);
  stored->members = SerializeBitmap(s.members);
  return s;
}

absl::StatusOr<Snapshot> LoadSnapshot(SnapshotRecord stored,
                                      ContactId next_contact_id) {
  auto damaged = [&stored](absl::string_view problem) {
    return absl::DataLossError(
        absl::StrCat("snapshots row id=", stored.id, ": ", problem));
  };
  absl::StatusOr<Roaring> members = DeserializeBitmap(stored.members);
  if (!members.ok()) return damaged(members.status().message());
  if (members->cardinality() != stored.member_count) {
    return damaged(absl::StrCat("holds ", members->cardinality(),
                                " members, not member_count ",
                                stored.member_count));
  }
  if (!members->isEmpty() && members->maximum() >= next_contact_id) {
    return damaged(absl::StrCat("holds contact ", members->maximum(),
                                ", not below next_contact_id ",
                                next_contact_id));
  }
  Snapshot s;
  s.members = *std::move(members);
  stored.members.clear();
  s.record = std::move(stored);
  return s;
}

SnapshotDrift DriftOf(const Roaring& frozen, const Roaring* live) {
  SnapshotDrift drift;
  const uint64_t frozen_count = frozen.cardinality();
  if (live == nullptr) {
    drift.left = frozen_count;
    return drift;
  }
  const uint64_t both = frozen.and_cardinality(*live);
  drift.left = frozen_count - both;
  drift.entered = live->cardinality() - both;
  return drift;
}

}  // namespace segments
