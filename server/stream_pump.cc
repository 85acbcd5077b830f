#include "server/stream_pump.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace segments {

StreamPump::StreamPump(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

StreamPump::~StreamPump() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void StreamPump::Post(std::function<void()> task) {
  absl::MutexLock l(&mu_);
  tasks_.push_back(std::move(task));
}

bool StreamPump::TryPost(std::function<void()> task, size_t max_queued) {
  absl::MutexLock l(&mu_);
  if (tasks_.size() >= max_queued) return false;
  tasks_.push_back(std::move(task));
  return true;
}

absl::Status PumpFullError(size_t max_queued, const char* calls) {
  return absl::ResourceExhaustedError(
      absl::StrCat("server busy: ", max_queued, " ", calls,
                   " already wait for their workspaces to open; retry later"));
}

void StreamPump::Loop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !tasks_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace segments
