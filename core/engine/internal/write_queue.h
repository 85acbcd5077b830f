// Group commit of concurrent writes, in the manner of leveldb's
// DBImpl::Write: writers queue; the one at the front is the leader, which
// takes every writer queued so far (at most kMaxGroupSize) as its group,
// commits the group through the caller's function, marks each member done
// and wakes it, then wakes the next front writer, which leads the next
// group. Each writer waits on its own condition variable, so only finished
// writers and the new leader are woken, never the whole queue.
//
// Thread-safety: Submit may be called from any number of threads.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_WRITE_QUEUE_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_WRITE_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace segments::engine {

// What a writer needs to wait in a WriteQueue; a request type derives from
// it. Touched only under the queue's mutex.
class QueuedWriter {
 private:
  template <typename W>
  friend class WriteQueue;
  absl::CondVar cv_;
  bool done_ = false;
};

// W derives from QueuedWriter.
template <typename W>
class WriteQueue {
 public:
  // A group holds at most this many writes, so a leader's own latency stays
  // bounded however many writers queue behind it.
  static constexpr size_t kMaxGroupSize = 256;

  using CommitGroup = absl::FunctionRef<void(absl::Span<W* const> group)>;

  // Queues `writer` and returns once a leader (this thread or another) has
  // passed it to `commit` and that call has returned. `commit` is called
  // with no lock of the queue held, by one leader at a time, with the
  // writers in queue order; it reports each writer's result in the writer.
  void Submit(W* writer, CommitGroup commit) ABSL_LOCKS_EXCLUDED(mu_) {
    mu_.Lock();
    queue_.push_back(writer);
    while (!writer->done_ && queue_.front() != writer) writer->cv_.Wait(&mu_);
    if (writer->done_) {
      mu_.Unlock();
      return;
    }
    const size_t n = std::min(queue_.size(), kMaxGroupSize);
    const std::vector<W*> group(queue_.begin(), queue_.begin() + n);
    mu_.Unlock();

    commit(absl::MakeConstSpan(group));

    mu_.Lock();
    for (W* w : group) {
      queue_.pop_front();
      w->done_ = true;
      if (w != writer) w->cv_.Signal();
    }
    if (!queue_.empty()) queue_.front()->cv_.Signal();
    mu_.Unlock();
  }

  // Writers queued, the leader's group included.
  size_t size() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    return queue_.size();
  }

 private:
  absl::Mutex mu_;
  std::deque<W*> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_WRITE_QUEUE_H_
