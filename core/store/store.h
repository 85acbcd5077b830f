// The persistence the core needs, declared here and implemented by storage/
// (SQLite) and by MemoryCatalogStore (tests). The core calls Commit before it
// changes memory, so a failed commit leaves both memory and disk unchanged.
#ifndef SEGMENTS_CORE_STORE_STORE_H_
#define SEGMENTS_CORE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
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

// `events` grouped into maximal runs (consecutive sequence numbers, one
// segment, kind, cause and time), in the order given.
std::vector<ChangeRun> GroupIntoRuns(
    const std::vector<MembershipChange>& events);

// How much of the change log is still stored (SPEC §6: the feed replays
// from any retained sequence number). Pruning removes the oldest runs only,
// so what is stored is always every event from first_sequence on.
struct LogRetention {
  // The oldest stored event's sequence number; the newest + 1 when the log
  // is empty (1 when nothing was ever logged).
  uint64_t first_sequence = 1;
  // Every event logged at or after this moment is stored (0: every event
  // ever logged is).
  UnixSeconds complete_since = 0;
  bool operator==(const LogRetention& o) const;
};

// History queries (core/history/) read the log under one snapshot of the
// store, and with it the retention horizon: `pruned_before` is the moment
// before which events may have been pruned (every event at or after it is
// kept; 0: nothing was ever pruned, the log is complete). Only events with
// sequence <= up_to_sequence count, so a reader pairs the answer with the
// memberships it read at that sequence, whatever commits meanwhile.
struct SegmentChangeCountsQuery {
  SegmentId segment_id = 0;
  UnixSeconds start = 0;       // the first bucket's start
  int64_t bucket_seconds = 1;  // > 0
  size_t buckets = 0;
  uint64_t up_to_sequence = 0;
};

// One segment's events counted by time: entered[i] and left[i] are those
// with time in [start + i * bucket_seconds, start + (i + 1) * bucket_seconds);
// *_after those at or after the last bucket's end. Events before `start` are
// not counted.
struct SegmentChangeCounts {
  std::vector<uint64_t> entered;
  std::vector<uint64_t> left;
  uint64_t entered_after = 0;
  uint64_t left_after = 0;
  UnixSeconds pruned_before = 0;
};

// Sizes `counts` for `query` (zeroed), then adds one event to it if the
// query counts it: the building block of stores that count event by event.
void StartCounts(const SegmentChangeCountsQuery& query,
                 SegmentChangeCounts* counts);
void CountChange(const SegmentChangeCountsQuery& query,
                 const MembershipChange& change, SegmentChangeCounts* counts);

// The retained events of one (segment, contact), ascending sequence.
struct ContactChanges {
  std::vector<MembershipChange> changes;
  UnixSeconds pruned_before = 0;
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
  // The same log as runs, from `after_sequence` (exclusive), ascending,
  // holding at most `max_events` events: the first run may start inside a
  // stored one, the last may be cut short. The default groups ReadChanges.
  virtual absl::StatusOr<std::vector<ChangeRun>> ReadChangeRuns(
      uint64_t after_sequence, size_t max_events);
  // What is stored of the log. The default: everything ever logged.
  virtual absl::StatusOr<LogRetention> ReadRetention() {
    return LogRetention{};
  }
  // Deletes, in one transaction, up to `max_runs` of the oldest runs logged
  // before `before` (never a run after one it keeps), and returns what is
  // stored then. Serialized with Commit by the caller. The default keeps
  // everything.
  virtual absl::StatusOr<LogRetention> PruneChanges(UnixSeconds before,
                                                    size_t max_runs) {
    (void)before;
    (void)max_runs;
    return ReadRetention();
  }
  // History. The defaults read the whole log through ReadChanges and
  // report nothing pruned: right for a store that never prunes; a store
  // that prunes, or can aggregate, overrides both.
  virtual absl::StatusOr<SegmentChangeCounts> CountSegmentChanges(
      const SegmentChangeCountsQuery& query);
  virtual absl::StatusOr<ContactChanges> ReadContactChanges(
      SegmentId segment_id, ContactId contact_id, uint64_t up_to_sequence);
};

// A workspace's wake time: the moment a closed workspace must be opened so
// that its next relative date rule flip is applied on time. nullopt: none
// will fall due until its data changes (which opens it). kWakeAtOnce: it
// may have flips due at any moment, as when it was open when the server
// stopped without closing it (a crash), or was written by a binary that
// stored no wake times.
inline constexpr UnixSeconds kWakeAtOnce = 0;

// A catalog row as read back: the record, and what is wrong with it ("" when
// nothing). A damaged row still names its workspace, which then does not
// serve while the others do.
struct LoadedWorkspaceRecord {
  WorkspaceRecord record;
  std::string problem;
  // When the workspace must next be opened for time to move it (see
  // CatalogStore::PutWakeTimes).
  std::optional<UnixSeconds> wake_time = kWakeAtOnce;
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
  // Stores the wake times of workspaces (ids the catalog does not list are
  // skipped), all in one transaction: durable when it returns OK, nothing
  // stored otherwise. A new record's wake time is kWakeAtOnce.
  virtual absl::Status PutWakeTimes(
      const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
          wake_times) = 0;
  // Takes an id no workspace ever had (it stays taken whatever happens next)
  // and creates that workspace's empty store. Until PutWorkspace stores its
  // record, the store is provisional: the next start removes it.
  virtual absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() = 0;
  // Opens the store of existing workspace `id`; never creates one. DATA_LOSS
  // when its data is missing or damaged. A shared catalog (below) hands the
  // store out only with ownership: otherwise UNAVAILABLE with reason
  // WORKSPACE_NOT_OWNED (WorkspaceNotOwnedError) and a retry delay.
  virtual absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) = 0;

  // Ownership, for a catalog that several nodes share (docs/scale-out.md;
  // the PostgreSQL store with a node id). Each workspace is owned by one
  // node at a time: OpenWorkspace and CreateWorkspaceStore take ownership,
  // destroying the store gives it up, and a store whose ownership is lost
  // fails its commits (UNAVAILABLE, WORKSPACE_NOT_OWNED), so two nodes
  // never both write. The defaults are a catalog only this node uses, which
  // owns every workspace for good.
  //
  // Whether other nodes share the catalog: then records appear, change and
  // go behind this node's back, and the registry reads them on demand.
  virtual bool Shared() const { return false; }
  // The record of workspace `id`, or of the workspace whose key hashes to
  // `key_hash`, as stored now; nullopt when there is none.
  virtual absl::StatusOr<std::optional<LoadedWorkspaceRecord>> LoadWorkspace(
      WorkspaceId id) {
    (void)id;
    return std::nullopt;
  }
  virtual absl::StatusOr<std::optional<LoadedWorkspaceRecord>>
  FindWorkspaceByKeyHash(std::string_view key_hash) {
    (void)key_hash;
    return std::nullopt;
  }
  // `lost(id)` is called, on a thread of the catalog's, when this node lost
  // the ownership of workspace `id` whose store it handed out (the store
  // then only fails its commits; the caller should stop serving it). An
  // empty function stops the calls: once this returns, none is running.
  virtual void SetOwnershipLostHandler(std::function<void(WorkspaceId)> lost) {
    (void)lost;
  }
  // `wanted(id)` is called, on a thread of the catalog's, about once per
  // OwnershipRetryDelay while another node has been refused workspace `id`,
  // whose store this node handed out and still owns (a proxy sends that
  // workspace's calls there now). The caller gives it up (destroys the
  // store) once it has no calls of its own, so ownership follows the calls.
  // The same rule for an empty function.
  virtual void SetOwnershipWantedHandler(
      std::function<void(WorkspaceId)> wanted) {
    (void)wanted;
  }
  // Up to `limit` workspaces that no node owns whose stored wake time is
  // at or before `now`, earliest first: those a node that died (or lost
  // them) will not wake, for any node to open.
  virtual absl::StatusOr<std::vector<WorkspaceId>> UnownedDueWorkspaces(
      UnixSeconds now, size_t limit) {
    (void)now;
    (void)limit;
    return std::vector<WorkspaceId>{};
  }
  // How often ownership is checked (a workspace another node owns may be
  // free after about this long): the retry delay calls are told, and the
  // period of the registry's scan for UnownedDueWorkspaces.
  virtual absl::Duration OwnershipRetryDelay() const {
    return absl::Seconds(1);
  }
};

}  // namespace segments

#endif  // SEGMENTS_CORE_STORE_STORE_H_
