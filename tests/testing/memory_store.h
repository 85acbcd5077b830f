// An in-memory CatalogStore for tests, with fault injection: it can be told
// to fail the next commits, so tests can check that a failed write changes
// nothing. Data lives as long as the MemoryCatalogStore's shared state, so a
// "restart" is a new Registry over a store sharing the same state.
#ifndef SEGMENTS_TESTS_TESTING_MEMORY_STORE_H_
#define SEGMENTS_TESTS_TESTING_MEMORY_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/store/store.h"

namespace segments {

// The durable state behind MemoryCatalogStore. Thread-safe.
class MemoryStorage {
 public:
  // The next `n` commits (workspace or catalog) fail with UNAVAILABLE.
  void FailNextCommits(int n);
  // How many commits succeeded so far.
  int commit_count() const;
  // From now on, opening workspace `id` fails with `error` (its data is
  // "lost" or "damaged"), as SqliteCatalogStore::OpenWorkspace would.
  void FailOpen(WorkspaceId id, absl::Status error);
  // From now on, LoadWorkspaces reports the record of `id` as damaged.
  void DamageRecord(WorkspaceId id, std::string problem);
  // Prunes workspace `id`'s change log as a retention would: drops every
  // event before `before` and records it as the horizon history reads
  // (changes_pruned_before in SQLite). The workspace must have data.
  void PruneChangesBefore(WorkspaceId id, UnixSeconds before);
  // How many times a workspace store was opened (OpenWorkspace) so far.
  int opens() const;
  // The wake time stored for workspace `id` (kWakeAtOnce when none was).
  std::optional<UnixSeconds> wake_time(WorkspaceId id) const;

 private:
  friend class MemoryCatalogStore;
  friend class MemoryWorkspaceStore;
  struct WorkspaceState {
    std::map<ContactId, Contact> contacts;
    std::map<SegmentId, SegmentRecord> segments;
    std::map<SnapshotId, SnapshotRecord> snapshots;
    std::vector<MembershipChange> changes;
    WorkspaceCounters counters;
    UnixSeconds changes_pruned_before = 0;
  };
  // Consumes one injected failure if any is pending.
  absl::Status MaybeFail();

  mutable absl::Mutex mu_;
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<WorkspaceId, WorkspaceRecord> workspaces_ ABSL_GUARDED_BY(mu_);
  std::map<WorkspaceId, WorkspaceState> data_ ABSL_GUARDED_BY(mu_);
  std::map<WorkspaceId, absl::Status> open_errors_ ABSL_GUARDED_BY(mu_);
  std::map<WorkspaceId, std::string> damaged_ ABSL_GUARDED_BY(mu_);
  std::map<WorkspaceId, std::optional<UnixSeconds>> wake_times_
      ABSL_GUARDED_BY(mu_);
  int opens_ ABSL_GUARDED_BY(mu_) = 0;
  // The next id CreateWorkspaceStore hands out: never one it gave before.
  WorkspaceId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

class MemoryCatalogStore : public CatalogStore {
 public:
  explicit MemoryCatalogStore(std::shared_ptr<MemoryStorage> storage)
      : storage_(std::move(storage)) {}
  absl::StatusOr<std::vector<LoadedWorkspaceRecord>> LoadWorkspaces() override;
  absl::Status PutWorkspace(const WorkspaceRecord& record) override;
  absl::Status DeleteWorkspace(WorkspaceId id) override;
  absl::Status PutWakeTimes(
      const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
          wake_times) override;
  absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() override;
  // Unlike SqliteCatalogStore, creates the workspace's empty data when it
  // has none (engine tests open stores of workspaces never created); see
  // MemoryStorage::FailOpen for a lost one.
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) override;

 private:
  std::shared_ptr<MemoryStorage> storage_;
};

}  // namespace segments

#endif  // SEGMENTS_TESTS_TESTING_MEMORY_STORE_H_
