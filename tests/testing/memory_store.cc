#include "tests/testing/memory_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "tests/testing/store_helpers.h"

namespace segments {

void MemoryStorage::FailNextCommits(int n) {
  absl::MutexLock l(&mu_);
  fail_next_ = n;
}

int MemoryStorage::commit_count() const {
  absl::MutexLock l(&mu_);
  return commits_;
}

void MemoryStorage::FailOpen(WorkspaceId id, absl::Status error) {
  absl::MutexLock l(&mu_);
  open_errors_[id] = std::move(error);
}

void MemoryStorage::DamageRecord(WorkspaceId id, std::string problem) {
  absl::MutexLock l(&mu_);
  damaged_[id] = std::move(problem);
}

void MemoryStorage::PruneChangesBefore(WorkspaceId id, UnixSeconds before) {
  absl::MutexLock l(&mu_);
  WorkspaceState& state = data_.at(id);
  std::vector<MembershipChange>& log = state.changes;
  log.erase(std::remove_if(log.begin(), log.end(),
                           [before](const MembershipChange& c) {
                             return c.time < before;
                           }),
            log.end());
  state.changes_pruned_before = std::max(state.changes_pruned_before, before);
}

int MemoryStorage::opens() const {
  absl::MutexLock l(&mu_);
  return opens_;
}

std::optional<UnixSeconds> MemoryStorage::wake_time(WorkspaceId id) const {
  absl::MutexLock l(&mu_);
  auto it = wake_times_.find(id);
  return it == wake_times_.end() ? std::optional<UnixSeconds>(kWakeAtOnce)
                                 : it->second;
}

absl::Status MemoryStorage::MaybeFail() {
  absl::MutexLock l(&mu_);
  if (fail_next_ <= 0) return absl::OkStatus();
  --fail_next_;
  return absl::UnavailableError("injected commit failure");
}

// One workspace's view of MemoryStorage. Like the SQLite store, it applies a
// write's puts before its deletes, and it refuses (INTERNAL) change sequence
// numbers that do not increase, which SQLite would also refuse when repeated.
class MemoryWorkspaceStore : public WorkspaceStore {
 public:
  MemoryWorkspaceStore(std::shared_ptr<MemoryStorage> storage, WorkspaceId id)
      : storage_(std::move(storage)), id_(id) {}

  absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) override {
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    WorkspaceData data;
    for (const auto& [id, c] : state->contacts) sink(c);
    for (const auto& [id, s] : state->segments) data.segments.push_back(s);
    for (const auto& [id, s] : state->snapshots) data.snapshots.push_back(s);
    data.counters = state->counters;
    return data;
  }

  absl::Status Commit(const WorkspaceWrite& write) override {
    return CommitWithRows(write, nullptr);
  }

  // Like the SQLite store, runs `complete` on another thread while it
  // writes the rows (here: copies them), so that tests run the engine's
  // concurrent path.
  absl::Status CommitCompleting(WorkspaceWrite* write,
                                absl::FunctionRef<void()> complete) override {
    std::vector<Contact> rows;
    RunConcurrently([&] { rows = write->put_contacts; }, complete);
    return CommitWithRows(*write, &rows);
  }

  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) override {
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    const auto& log = state->changes;
    auto it = std::upper_bound(log.begin(), log.end(), after_sequence,
                               [](uint64_t seq, const MembershipChange& c) {
                                 return seq < c.sequence;
                               });
    const size_t n =
        std::min<size_t>(limit, static_cast<size_t>(log.end() - it));
    return std::vector<MembershipChange>(it,
                                         it + static_cast<std::ptrdiff_t>(n));
  }

  absl::StatusOr<LogRetention> ReadRetention() override {
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    return RetentionOf(*state);
  }

  // As the SQLite store: the oldest runs (here: groups of consecutive
  // events) older than `before`, up to max_runs of them.
  absl::StatusOr<LogRetention> PruneChanges(UnixSeconds before,
                                            size_t max_runs) override {
    RETURN_IF_ERROR(storage_->MaybeFail());
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    std::vector<MembershipChange>& log = state->changes;
    const std::vector<ChangeRun> runs = GroupIntoRuns(log);
    size_t events = 0;
    UnixSeconds newest = 0;
    for (size_t i = 0; i < runs.size() && i < max_runs; ++i) {
      if (runs[i].time >= before) break;
      events += runs[i].contact_ids.size();
      newest = std::max(newest, runs[i].time);
    }
    if (events > 0) {
      log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(events));
      state->changes_pruned_before =
          std::max(state->changes_pruned_before, newest + 1);
    }
    return RetentionOf(*state);
  }

  // Event by event over the log, under the storage's lock: one snapshot
  // with the horizon, as SQLite's read transaction.
  absl::StatusOr<SegmentChangeCounts> CountSegmentChanges(
      const SegmentChangeCountsQuery& query) override {
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    SegmentChangeCounts counts;
    StartCounts(query, &counts);
    for (const MembershipChange& c : state->changes) {
      CountChange(query, c, &counts);
    }
    counts.pruned_before = state->changes_pruned_before;
    return counts;
  }

  absl::StatusOr<ContactChanges> ReadContactChanges(
      SegmentId segment_id, ContactId contact_id,
      uint64_t up_to_sequence) override {
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    ContactChanges out;
    for (const MembershipChange& c : state->changes) {
      if (c.segment_id == segment_id && c.contact_id == contact_id &&
          c.sequence <= up_to_sequence) {
        out.changes.push_back(c);
      }
    }
    out.pruned_before = state->changes_pruned_before;
    return out;
  }

 private:
  static LogRetention RetentionOf(const MemoryStorage::WorkspaceState& state) {
    return {state.changes.empty() ? state.counters.last_sequence + 1
                                  : state.changes.front().sequence,
            state.changes_pruned_before};
  }

  // Commit, taking the put contacts from `copied` (a copy of them, moved
  // from) when given, else copying them from `write`.
  absl::Status CommitWithRows(const WorkspaceWrite& write,
                              std::vector<Contact>* copied) {
    RETURN_IF_ERROR(storage_->MaybeFail());
    absl::MutexLock l(&storage_->mu_);
    ASSIGN_OR_RETURN(MemoryStorage::WorkspaceState * state, State());
    uint64_t last = state->changes.empty() ? 0 : state->changes.back().sequence;
    for (const ChangeRun& r : write.changes) {
      if (r.first_sequence <= last) {
        return absl::InternalError(absl::StrCat(
            "change sequence ", r.first_sequence, " does not follow ", last));
      }
      last = r.last_sequence();
    }
    if (copied != nullptr) {
      for (Contact& c : *copied) state->contacts[c.id] = std::move(c);
    } else {
      for (const Contact& c : write.put_contacts) state->contacts[c.id] = c;
    }
    for (ContactId id : write.deleted_contacts) state->contacts.erase(id);
    for (const SegmentRecord& s : write.put_segments) state->segments[s.id] = s;
    for (SegmentId id : write.deleted_segments) state->segments.erase(id);
    for (const SnapshotRecord& s : write.put_snapshots) {
      state->snapshots[s.id] = s;
    }
    for (SnapshotId id : write.deleted_snapshots) state->snapshots.erase(id);
    for (MembershipChange& e : ExpandRuns(write.changes)) {
      state->changes.push_back(e);
    }
    state->counters = write.counters;
    ++storage_->commits_;
    return absl::OkStatus();
  }

  absl::StatusOr<MemoryStorage::WorkspaceState*> State()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(storage_->mu_) {
    auto it = storage_->data_.find(id_);
    if (it == storage_->data_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace ", id_, " was deleted"));
    }
    return &it->second;
  }

  const std::shared_ptr<MemoryStorage> storage_;
  const WorkspaceId id_;
};

absl::StatusOr<std::vector<LoadedWorkspaceRecord>>
MemoryCatalogStore::LoadWorkspaces() {
  absl::MutexLock l(&storage_->mu_);
  std::vector<LoadedWorkspaceRecord> out;
  for (const auto& [id, w] : storage_->workspaces_) {
    auto damaged = storage_->damaged_.find(id);
    LoadedWorkspaceRecord& loaded = out.emplace_back();
    loaded.record = w;
    if (damaged != storage_->damaged_.end()) loaded.problem = damaged->second;
    auto wake = storage_->wake_times_.find(id);
    if (wake != storage_->wake_times_.end()) loaded.wake_time = wake->second;
  }
  return out;
}

absl::Status MemoryCatalogStore::PutWorkspace(const WorkspaceRecord& record) {
  RETURN_IF_ERROR(storage_->MaybeFail());
  absl::MutexLock l(&storage_->mu_);
  storage_->workspaces_[record.id] = record;
  storage_->next_id_ = std::max(storage_->next_id_, record.id + 1);
  ++storage_->commits_;
  return absl::OkStatus();
}

absl::Status MemoryCatalogStore::DeleteWorkspace(WorkspaceId id) {
  RETURN_IF_ERROR(storage_->MaybeFail());
  absl::MutexLock l(&storage_->mu_);
  storage_->workspaces_.erase(id);
  storage_->data_.erase(id);
  storage_->wake_times_.erase(id);
  ++storage_->commits_;
  return absl::OkStatus();
}

absl::Status MemoryCatalogStore::PutWakeTimes(
    const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
        wake_times) {
  RETURN_IF_ERROR(storage_->MaybeFail());
  absl::MutexLock l(&storage_->mu_);
  for (const auto& [id, wake] : wake_times) {
    if (storage_->workspaces_.count(id) != 0) storage_->wake_times_[id] = wake;
  }
  ++storage_->commits_;
  return absl::OkStatus();
}

absl::StatusOr<NewWorkspaceStore> MemoryCatalogStore::CreateWorkspaceStore() {
  NewWorkspaceStore out;
  {
    absl::MutexLock l(&storage_->mu_);
    out.id = storage_->next_id_++;
    storage_->data_[out.id] = MemoryStorage::WorkspaceState();
  }
  out.store = std::make_unique<MemoryWorkspaceStore>(storage_, out.id);
  return out;
}

absl::StatusOr<std::unique_ptr<WorkspaceStore>>
MemoryCatalogStore::OpenWorkspace(WorkspaceId id) {
  {
    absl::MutexLock l(&storage_->mu_);
    auto error = storage_->open_errors_.find(id);
    if (error != storage_->open_errors_.end()) return error->second;
    storage_->data_.try_emplace(id);
    ++storage_->opens_;
  }
  return std::unique_ptr<WorkspaceStore>(
      new MemoryWorkspaceStore(storage_, id));
}

}  // namespace segments
