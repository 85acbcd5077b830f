#include "core/time/flip_scheduler.h"

#include <algorithm>

namespace segments {
namespace {

// The longest the thread sleeps while something is queued: a forward step
// of the system clock shortens the wait, which a sleep already under way
// would not notice.
constexpr absl::Duration kMaxSleep = absl::Seconds(1);

}  // namespace

FlipScheduler::FlipScheduler(const Clock* clock)
    : clock_(clock), thread_([this] { Loop(); }) {}

FlipScheduler::~FlipScheduler() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    changed_.SignalAll();
  }
  thread_.join();
}

FlipScheduler::TaskId FlipScheduler::Add(std::function<void()> task) {
  absl::MutexLock l(&mu_);
  const TaskId id = next_id_++;
  tasks_[id].run = std::move(task);
  return id;
}

void FlipScheduler::Remove(TaskId id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  Unqueue(id, it->second);
  tasks_.erase(it);
  while (running_ == id) changed_.Wait(&mu_);
}

void FlipScheduler::Schedule(TaskId id, std::optional<UnixSeconds> due) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  Task& task = it->second;
  if (task.due == due) return;
  Unqueue(id, task);
  task.due = due;
  if (!due.has_value()) return;
  const auto [pos, inserted] = queue_.insert({*due, id});
  // Only a new head changes how long the thread sleeps.
  if (pos == queue_.begin()) changed_.SignalAll();
}

void FlipScheduler::Wake() {
  absl::MutexLock l(&mu_);
  changed_.SignalAll();
}

uint64_t FlipScheduler::runs() const {
  absl::MutexLock l(&mu_);
  return runs_;
}

void FlipScheduler::Unqueue(TaskId id, Task& task) {
  if (task.due.has_value()) queue_.erase({*task.due, id});
  task.due.reset();
}

void FlipScheduler::Loop() {
  absl::MutexLock l(&mu_);
  while (!stop_) {
    if (queue_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const auto [due, id] = *queue_.begin();
    const absl::Duration wait = clock_->Until(due);
    if (wait > absl::ZeroDuration()) {
      changed_.WaitWithTimeout(&mu_, std::min(wait, kMaxSleep));
      continue;
    }
    Task& task = tasks_.at(id);
    Unqueue(id, task);
    // A copy: Add may move the map's slots while the task runs unlocked.
    const std::function<void()> run = task.run;
    running_ = id;
    ++runs_;
    mu_.Unlock();
    run();
    mu_.Lock();
    running_ = 0;
    changed_.SignalAll();
  }
}

}  // namespace segments
