// One timer thread for every workspace of a server: each workspace tells it
// when its next relative date rule flip falls due, and the thread sleeps
// until the earliest of them, then calls that workspace back. Nothing polls
// contacts or segments; an idle server with nothing due does not wake at
// all, and one with flips pending wakes at their due moments (and at least
// once a second, so that a forward step of the system clock is noticed).
//
// Tasks run one at a time on the scheduler's thread, so a slow one delays
// the others; a task that cannot finish (a failing disk) asks to be called
// again later by scheduling itself.
//
// Thread-safety: thread-safe. Remove() may not be called from a task.
#ifndef SEGMENTS_CORE_TIME_FLIP_SCHEDULER_H_
#define SEGMENTS_CORE_TIME_FLIP_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
#include "core/base/types.h"

namespace segments {

class FlipScheduler {
 public:
  using TaskId = uint64_t;

  // Starts the thread. `clock` must outlive the scheduler.
  explicit FlipScheduler(const Clock* clock);
  // Stops the thread; every task must have been removed.
  ~FlipScheduler();
  FlipScheduler(const FlipScheduler&) = delete;
  FlipScheduler& operator=(const FlipScheduler&) = delete;

  // Registers `task`, not scheduled yet.
  TaskId Add(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Unregisters a task; when it returns, the task is not running and never
  // runs again.
  void Remove(TaskId id) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs the task once the clock reads `due` (at once if it already does);
  // nullopt: not at all. Replaces the task's previous due moment.
  void Schedule(TaskId id, std::optional<UnixSeconds> due)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Makes the thread read the clock again (after a FakeClock moved).
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);

  // How many tasks have run, for tests and benchmarks.
  uint64_t runs() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Task {
    std::function<void()> run;
    std::optional<UnixSeconds> due;
  };

  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  void Unqueue(TaskId id, Task& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // the queue's head, stop_ or running_ changed
  absl::flat_hash_map<TaskId, Task> tasks_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<UnixSeconds, TaskId>> queue_ ABSL_GUARDED_BY(mu_);
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  TaskId running_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none
  uint64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_TIME_FLIP_SCHEDULER_H_
