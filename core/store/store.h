// The persistence the core needs, declared here and implemented by storage/
// (SQLite) and by MemoryCatalogStore (tests). The core calls Commit before it
// changes memory, so a failed commit leaves both memory and disk unchanged.
#ifndef SEGMENTS_CORE_STORE_STORE_H_
#define SEGMENTS_CORE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/ids.h"
#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments {

struct WorkspaceRecord {
  WorkspaceId id = 0;
  std::string display_name;
  Plan plan = Plan::kFree;
  // SHA-256 of the workspace's API key (raw 32 bytes); the key itself is
  // never stored.
  std::string key_hash;
  UnixSeconds create_time = 0;
  bool operator==(const WorkspaceRecord& o) const;
};

struct SegmentRecord {
  SegmentId id = 0;
  std::string display_name;
  Filter filter;
  SegmentState state = SegmentState::kActive;
  UnixSeconds create_time = 0;
  UnixSeconds update_time = 0;
  // For PLAN_RESTRICTED segments only: the frozen membership (portable
  // Roaring serialization) and the sequence number it is as of.
  std::string frozen_members;
  uint64_t frozen_as_of = 0;
  bool operator==(const SegmentRecord& o) const;
};

struct MembershipChange {
  uint64_t sequence = 0;  // per-workspace, strictly increasing
  SegmentId segment_id = 0;
  ContactId contact_id = 0;
  ChangeKind kind = ChangeKind::kEntered;
  ChangeCause cause = ChangeCause::kContactChanged;
  UnixSeconds time = 0;
  bool operator==(const MembershipChange& o) const;
};

// Consecutive change events of one segment with the same kind, cause and
// time, as a write produces them (a batch's entries into one segment) and
// as the store keeps them: the event of contact_ids[i] has sequence
// first_sequence + i.
struct ChangeRun {
  uint64_t first_sequence = 0;
  SegmentId segment_id = 0;
  ChangeKind kind = ChangeKind::kEntered;
  ChangeCause cause = ChangeCause::kContactChanged;
  UnixSeconds time = 0;
  std::vector<ContactId> contact_ids;  // never empty
  uint64_t last_sequence() const {
    return first_sequence + contact_ids.size() - 1;
  }
  bool operator==(const ChangeRun& o) const;
};

// A frozen copy of a segment's membership (an audience snapshot).
struct SnapshotRecord {
  SnapshotId id = 0;
  SegmentId segment_id = 0;  // the segment may since have been deleted
  // The counters' last_sequence the members reflect.
  uint64_t as_of_sequence = 0;
  uint64_t member_count = 0;  // the cardinality of `members`
  UnixSeconds create_time = 0;
  UnixSeconds expire_time = 0;  // gone from this moment on
  std::string members;          // portable Roaring serialization
  bool operator==(const SnapshotRecord& o) const;
};

// Per-workspace counters that must survive restarts.
struct WorkspaceCounters {
  ContactId next_contact_id = 1;
  SegmentId next_segment_id = 1;
  uint64_t last_sequence = 0;  // the sequence number of the newest change
  // Time has been applied up to this moment: every relative date rule's
  // flip due at or before it is in the memberships and the log (0: never
  // recorded, as in data written before time-driven flips).
  UnixSeconds time_applied_until = 0;
  SnapshotId next_snapshot_id = 1;
  bool operator==(const WorkspaceCounters& o) const;
};

// One atomic write to a workspace: all of it commits, or none.
struct WorkspaceWrite {
  std::vector<Contact> put_contacts;  // insert or replace by id
  std::vector<ContactId> deleted_contacts;
  std::vector<SegmentRecord> put_segments;  // insert or replace by id
  std::vector<SegmentId> deleted_segments;
  std::vector<SnapshotRecord> put_snapshots;  // insert or replace by id
  std::vector<SnapshotId> deleted_snapshots;
  std::vector<ChangeRun> changes;  // appended to the change log
  WorkspaceCounters counters;      // replaces the stored counters
};

// Everything a workspace needs to be rebuilt in memory.
struct WorkspaceData {
  std::vector<Contact> contacts;  // ascending id; empty from LoadStreaming
  std::vector<SegmentRecord> segments;  // ascending id

  // Ascending id, expired ones too.
  std::vector<SnapshotRecord> snapshots;
  WorkspaceCounters counters;
};

// One workspace's data. Commit calls are serialized by the caller;
// LoadStreaming is called once, before any Commit.
class WorkspaceStore {
 public:
  virtual ~WorkspaceStore() = default;
  // Receives one contact; the reference is valid during the call only.
  using ContactSink = std::function<void(const Contact&)>;
  // Reads everything back: the contacts one by one into `sink`, by
  // ascending id, the rest into the result (whose `contacts` stay empty).
  // A restart streams a million contacts into the engine without holding
  // them all twice.
  virtual absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) = 0;
  // Durable when it returns OK; on error nothing of `write` is stored.
  virtual absl::Status Commit(const WorkspaceWrite& write) = 0;
  // Commit of a write whose membership changes are still to be found:
  // `complete` finishes them, writing only write->changes and
  // write->counters, and the store may run it on another thread while it
  // stores the rest of the write. The default runs it first, then commits.
  virtual absl::Status CommitCompleting(WorkspaceWrite* write,
                                        absl::FunctionRef<void()> complete) {
    complete();
    return Commit(*write);
  }
  // The change log from `after_sequence` (exclusive), ascending, at most
  // `limit` entries.
  virtual absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) = 0;
};

// A catalog row as read back: the record, and what is wrong with it ("" when
// nothing). A damaged row still names its workspace, which then does not
// serve while the others do.
struct LoadedWorkspaceRecord {
  WorkspaceRecord record;
  std::string problem;
};

// The store of a workspace that CreateWorkspaceStore has just created.
struct NewWorkspaceStore {
  WorkspaceId id = 0;
  std::unique_ptr<WorkspaceStore> store;
};

// The catalog of workspaces and the factory for their stores. Thread-safe.
class CatalogStore {
 public:
  virtual ~CatalogStore() = default;
  // Ascending id.
  virtual absl::StatusOr<std::vector<LoadedWorkspaceRecord>>
  LoadWorkspaces() = 0;
  // Insert or replace by id. Durable when it returns OK.
  virtual absl::Status PutWorkspace(const WorkspaceRecord& record) = 0;
  // Removes the record and all of the workspace's data.
  virtual absl::Status DeleteWorkspace(WorkspaceId id) = 0;
  // Takes an id no workspace ever had (it stays taken whatever happens next)
  // and creates that workspace's empty store. Until PutWorkspace stores its
  // record, the store is provisional: the next start removes it.
  virtual absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() = 0;
  // Opens the store of existing workspace `id`; never creates one. DATA_LOSS
  // when its data is missing or damaged.
  virtual absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) = 0;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_STORE_STORE_H_
