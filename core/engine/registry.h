// The workspaces of this server: their records (name, plan, key hash) and
// their engines, opened on first use and closed again, least recently used
// first, to stay within a budget (RegistryOptions). Authentication maps a key
// hash to a workspace.
//
// Open reads the catalog only: no workspace is loaded at start, so start time
// does not grow with the number of workspaces. A call to a closed workspace
// opens it (Workspace::Open: load, rebuild, apply the time flips due since);
// concurrent calls to it wait for that one open. After every open, while more
// than max_open_workspaces are open or their memory exceeds
// memory_budget_bytes, the least recently used workspace that no call holds
// (no call in flight, no feed or export stream) is closed; one that calls
// hold stays open, so the budget can be exceeded while they do.
//
// Time: closing a workspace stores its next flip's due moment in the catalog
// (its wake time), and the registry opens it again at that moment, through
// the same timer thread the open workspaces use; the open applies the flip
// and the workspace is then closed again when the budget needs it. An open
// workspace's stored wake time is kWakeAtOnce, so that after a crash (when
// nothing could store it) the workspaces that were open are opened at start
// and catch up; a clean close of the registry stores every open one's. A
// closed workspace's feed resumes from any retained sequence (the log is on
// disk); its expired snapshots and old log are removed once it is open.
//
// A workspace whose record is damaged or whose data failed to load (a
// missing, empty or corrupt file, rows that break the model) is kept as a
// failed workspace: its record is known (GetWorkspace), its engine absent,
// its load error kept (LoadError). It does not serve, while the others do:
// calls with its key, and admin calls that need its engine, get DATA_LOSS
// (FAILED_PRECONDITION when the error was not a data loss) with a message
// that names the workspace but no file. It can be deleted. A damaged record
// is found at start; damaged data when the workspace is first opened. An
// UNAVAILABLE error while opening (the disk failing, descriptors run out)
// is not kept: the call gets it, and the next call tries again.
//
// A shared catalog (CatalogStore::Shared: several nodes over one database,
// docs/scale-out.md) hands a workspace's store out only to its owner. Then
// the registry serves a workspace only while this node owns it: a call for
// one another node owns gets UNAVAILABLE with reason WORKSPACE_NOT_OWNED
// and a retry delay (the open is tried again at the next call, so a free
// or expired one is taken: that is how a dead node's workspaces move); when
// the catalog reports the ownership lost, the workspace is closed at once,
// storing nothing, and its feed streams end with that error. When the
// catalog reports that another node wants an open workspace (it was asked
// for it: a proxy routes its calls there now), the workspace is closed and
// its ownership given up once no call has come for it for a whole report
// period (its feed streams are ended first, to resume there), so ownership
// follows the calls; a new workspace is closed as soon as it is created,
// for the first call to take wherever it lands. Records are
// read on demand (a key or id this node has not seen, and again at every
// open, since another node may have changed or deleted them); key changes
// need ownership. Wake times are not queued locally: every ScanSeconds the
// registry opens the due workspaces no node owns (UnownedDueWorkspaces).
//
// Thread-safety: thread-safe. Workspaces are handed out as shared_ptr so a
// call in flight keeps its workspace alive (and open) while it is being
// deleted.
#ifndef SEGMENTS_CORE_ENGINE_REGISTRY_H_
#define SEGMENTS_CORE_ENGINE_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "core/store/store.h"
#include "core/time/flip_scheduler.h"

namespace segments {

// A workspace's display name: trimmed, 1..200 bytes of UTF-8.
inline constexpr size_t kMaxWorkspaceNameBytes = 200;
// A key hash is a SHA-256 (or empty: no key authenticates).
inline constexpr size_t kKeyHashBytes = 32;

struct RegistryOptions {
  // At most this many workspaces are open (each holds three SQLite
  // connections, about seven file descriptors: docs/operations.md) ...
  size_t max_open_workspaces = 1000;
  // ... and their memory (Workspace::ApproximateMemoryBytes) is kept under
  // this, closing the least recently used ones.
  size_t memory_budget_bytes = size_t{8} << 30;
  // Called, on the thread that opened it, when a workspace fails to load
  // (for the server's log); may be empty.
  std::function<void(WorkspaceId, const absl::Status&)> on_load_failure;
};

// What the registry holds, for metrics.
struct RegistryStats {
  size_t workspaces = 0;  // in the catalog, failed ones too
  size_t open = 0;
  size_t failed = 0;
  uint64_t opened_total = 0;     // opens since start (failed ones too)
  uint64_t evicted_total = 0;    // closes to stay within the budget
  size_t open_memory_bytes = 0;  // as estimated at the last eviction check
};

class Registry {
 public:
  // Reads the catalog; opens no workspace (but schedules the opens their
  // wake times ask for). Fails only when the catalog cannot be read. A
  // damaged record is kept as failed (see above); two records with the same
  // key hash both fail.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      std::unique_ptr<CatalogStore> catalog, const Clock* clock,
      const Limits& limits, RegistryOptions options = {});
  // Stores the wake time of every open workspace, then closes them.
  ~Registry();

  // `key_hash` is the SHA-256 of the new workspace's key. Violations are
  // reported under "workspace". Plan unspecified means FREE.
  absl::StatusOr<WorkspaceRecord> CreateWorkspace(std::string_view display_name,
                                                  Plan plan,
                                                  std::string key_hash);
  // The same, with the key hash made from the new workspace's id once the
  // catalog has given it (keys that carry their workspace: server/auth.h).
  // An error from `key_hash_for` fails the creation (the id stays used).
  absl::StatusOr<WorkspaceRecord> CreateWorkspace(
      std::string_view display_name, Plan plan,
      const std::function<absl::StatusOr<std::string>(WorkspaceId)>&
          key_hash_for);
  // Also the record of a failed workspace.
  absl::StatusOr<WorkspaceRecord> GetWorkspace(WorkspaceId id) const;
  // Not for a failed workspace (see above). Opens the workspace.
  absl::StatusOr<WorkspaceRecord> SetPlan(WorkspaceId id, Plan plan);
  absl::Status SetKeyHash(WorkspaceId id, std::string key_hash);
  absl::Status DeleteWorkspace(WorkspaceId id);

  // The workspace whose key hashes to `key_hash` (compared in constant
  // time), opened if closed; UNAUTHENTICATED when none does; DATA_LOSS or
  // FAILED_PRECONDITION when it is a failed workspace (or fails to open
  // now); the store's error (UNAVAILABLE) when its wake time cannot be
  // stored.
  absl::StatusOr<std::shared_ptr<Workspace>> Authenticate(
      std::string_view key_hash);
  // Authenticate's answer when memory alone gives it, without blocking:
  // the open workspace, UNAUTHENTICATED for a key no workspace has (on a
  // shared catalog, only for a key looked up lately), a failed workspace's
  // error. nullopt when answering needs a workspace opened (or an open or
  // close waited out) or the catalog read: Authenticate does that.
  std::optional<absl::StatusOr<std::shared_ptr<Workspace>>> AuthenticateIfOpen(
      std::string_view key_hash);
  // Whether `key_hash` is a workspace's key, from memory alone and without
  // opening the workspace: OK for the key of a serving or a closed one (on
  // a shared catalog, as this node last read the catalog), a failed one's
  // error, UNAUTHENTICATED for a key no workspace has; nullopt when, on a
  // shared catalog, only reading it can tell (Authenticate does).
  std::optional<absl::Status> CheckKeyIfKnown(std::string_view key_hash);
  // NOT_FOUND when absent; otherwise as Authenticate.
  absl::StatusOr<std::shared_ptr<Workspace>> Find(WorkspaceId id);

  // OK when workspace `id` serves, is closed or does not exist; else the
  // error that kept it from loading, as storage reported it (with file
  // paths: for the server log, not for callers).
  absl::Status LoadError(WorkspaceId id) const;
  // The failed workspaces known so far and their load errors, ascending id.
  std::vector<std::pair<WorkspaceId, absl::Status>> FailedWorkspaces() const;
  // The open workspaces' engines, ascending id, as of the call (for the
  // server's metrics: what is open, and what it holds).
  std::vector<std::shared_ptr<Workspace>> OpenWorkspaces() const;
  RegistryStats Stats() const;
  // Workspace `id` is open (for tests).
  bool IsOpen(WorkspaceId id) const;

 private:
  enum class State { kClosed, kOpening, kOpen, kClosing, kFailed };
  struct Entry {
    WorkspaceRecord record;
    State state = State::kClosed;
    std::shared_ptr<Workspace> workspace;  // when kOpen
    absl::Status load_error;               // OK unless kFailed
    // When kClosed: the wake time stored in the catalog.
    std::optional<UnixSeconds> wake_time;
    // When kOpen: the last use (a tick of use_clock_), written under a
    // reader lock by every call, and the memory at the last estimate, made
    // at tick `estimated_at` of estimate_clock_.
    mutable std::atomic<uint64_t> last_use{0};
    // When kOpen and another node wants it: last_use at the previous report.
    std::optional<uint64_t> use_when_wanted;
    // When kOpen: given up to another node, waiting for its holds to end;
    // it serves no new call (OnOwnershipWanted).
    bool leaving = false;
    size_t memory_bytes = 0;
    uint64_t estimated_at = 0;
  };

  Registry(std::unique_ptr<CatalogStore> catalog, const Clock* clock,
           const Limits& limits, RegistryOptions options);

  // The error calls to failed entry `e` get.
  static absl::Status NotServing(const Entry& e);
  // What the entries say of `key_hash`: the answer when it is final (the
  // open workspace, touched; a failed one's error), else the id of the
  // closed (or opening, or closing) workspace it is the key of, else
  // neither (a key no entry has).
  struct KeyLookup {
    std::optional<absl::StatusOr<std::shared_ptr<Workspace>>> answer;
    WorkspaceId id = 0;
  };
  KeyLookup LookUpKey(std::string_view key_hash) const ABSL_LOCKS_EXCLUDED(mu_);
  // The engine of entry `id`, opened if closed, waiting out an open or a
  // close under way. NOT_FOUND when there is no entry.
  absl::StatusOr<std::shared_ptr<Workspace>> Acquire(WorkspaceId id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Opens closed entry `id` (marked kOpening by the caller).
  absl::StatusOr<std::shared_ptr<Workspace>> OpenEntry(WorkspaceId id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Re-estimates the memory of the kEstimatesPerCheck open workspaces
  // estimated longest ago, then closes least recently used idle workspaces
  // while over the budget.
  void EvictOverBudget() ABSL_LOCKS_EXCLUDED(mu_);
  // The open workspaces estimated longest ago, at most kEstimatesPerCheck.
  std::vector<std::pair<WorkspaceId, std::shared_ptr<Workspace>>>
  StalestEstimates() const ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `ws`'s wake time and drops the registry's hold of it (kClosing
  // entry `id`); on a failed store it stays open. Returns whether closed.
  // `evicted`: closed to stay within the budget (counted in the stats).
  bool Close(WorkspaceId id, std::shared_ptr<Workspace> ws, bool evicted)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Open entry `e` marked kClosing, out of the open count and memory; its
  // engine, for Close.
  std::shared_ptr<Workspace> StartClosing(Entry& e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes entry `id` if it is open and nothing but the registry holds it
  // (no call in flight, no stream). False when it is held, or stays open.
  bool CloseIfUnused(WorkspaceId id) ABSL_LOCKS_EXCLUDED(mu_);
  // Entry `id` closed with `wake`: queued for the waker.
  void SetClosed(Entry& e, std::optional<UnixSeconds> wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Entry `e` open with `ws`, whose memory is estimated at `memory_bytes`.
  void SetOpen(Entry& e, std::shared_ptr<Workspace> ws, size_t memory_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unwake(const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The waker's task: opens the closed workspaces whose wake time came.
  void OnWake() ABSL_LOCKS_EXCLUDED(mu_);
  // Shared catalogs (store.h, "Ownership"): a record read from the catalog
  // now, added as a closed (or failed) entry, or taken by a closed one.
  void Adopt(LoadedWorkspaceRecord loaded) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `e` takes `record` (as stored now), its key hash too.
  void UpdateRecord(Entry& e, const WorkspaceRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Shared: adds entry `id` if the catalog has it and this node does not
  // know it yet. The catalog's error when it cannot be read.
  absl::Status Discover(WorkspaceId id) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops entry `id` (deleted by another node).
  void Forget(WorkspaceId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The catalog's report that this node no longer owns `id`: it closes,
  // storing nothing, and its feed streams end with UNAVAILABLE.
  void OnOwnershipLost(WorkspaceId id) ABSL_LOCKS_EXCLUDED(mu_);
  // The catalog's report that another node wants `id`: closed when no call
  // has used it since the previous report (see the header).
  void OnOwnershipWanted(WorkspaceId id) ABSL_LOCKS_EXCLUDED(mu_);
  // The error calls to a leaving workspace get (UNAVAILABLE, retry).
  absl::Status Leaving(WorkspaceId id) const;
  // The scan's task: opens due workspaces no node owns.
  void OnScan() ABSL_LOCKS_EXCLUDED(mu_);
  // The scan's period: the ownership retry delay, at least a second.
  int64_t ScanSeconds() const;
  void ScheduleWaker() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Shared: whether `key_hash` was looked up in the catalog within the last
  // kUnknownKeyMemory and found in no record: a repeated bad key costs one
  // catalog query per that period, not one per call. (A key is minted after
  // its record is stored, so only a fixed key, the demo's, can become known
  // later; the period bounds how long it is refused.)
  bool KnownUnknownKey(std::string_view key_hash) const
      ABSL_LOCKS_EXCLUDED(mu_);
  void RememberUnknownKey(std::string_view key_hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Touch(const Entry& e) const;
  bool Busy(const Entry& e) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return e.state == State::kOpening || e.state == State::kClosing;
  }

  const std::unique_ptr<CatalogStore> catalog_;
  // How many closed workspaces one turn of the waker (or of the shared
  // catalog's scan) opens: the timer thread is shared with every open
  // workspace's flips, so a crowd of wake-ups (after a crash, every
  // workspace that was open) goes in turns.
  static constexpr size_t kWakesPerTurn = 16;

  const Clock* const clock_;
  const Limits limits_;
  const RegistryOptions options_;
  // catalog_->Shared(): other nodes use the catalog (see the header).
  const bool shared_;
  // Wakes every open workspace when its next relative date rule flip falls
  // due, and the registry when a closed one's does. Declared before
  // entries_, so it outlives the workspaces it calls, as long as nothing
  // else holds a Workspace when the Registry is destroyed (a Workspace's
  // destructor unregisters from it): the server waits until every feed
  // stream, each holding its workspace, is deleted.
  const std::unique_ptr<FlipScheduler> timer_;
  FlipScheduler::TaskId waker_ = 0;    // set once, in Open
  FlipScheduler::TaskId scanner_ = 0;  // shared only; set once, in Open
  mutable std::atomic<uint64_t> use_clock_{0};

  // Serializes admin writes (create, plan, key, delete).
  absl::Mutex admin_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  // Signalled when an entry leaves kOpening or kClosing.
  absl::CondVar settled_;
  std::map<WorkspaceId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, WorkspaceId> id_by_key_hash_
      ABSL_GUARDED_BY(mu_);
  // Shared: key hashes the catalog had no record of, and when it was asked
  // (KnownUnknownKey); at most kMaxUnknownKeys (about 1.5 MB).
  static constexpr size_t kMaxUnknownKeys = 16384;
  static constexpr absl::Duration kUnknownKeyMemory = absl::Seconds(2);
  absl::flat_hash_map<std::string, absl::Time> unknown_key_hashes_
      ABSL_GUARDED_BY(mu_);
  // The closed entries with a wake time, by it.
  std::set<std::pair<UnixSeconds, WorkspaceId>> wakes_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t opened_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_total_ ABSL_GUARDED_BY(mu_) = 0;
  size_t open_memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t estimate_clock_ ABSL_GUARDED_BY(mu_) = 0;
};

// Constant-time equality of two byte strings of equal length (false when the
// lengths differ; the length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_REGISTRY_H_
