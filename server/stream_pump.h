// Threads for the blocking work of calls served on gRPC's callback API,
// whose reactions must not block: the change feed streams' reads from the
// store, and the slow path of a callback unary method (a workspace to open
// first). A fixed number of threads serves every such call of the server,
// so 1,000 idle streams cost memory, not threads.
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_SERVER_STREAM_PUMP_H_
#define SEGMENTS_SERVER_STREAM_PUMP_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace segments {

class StreamPump {
 public:
  explicit StreamPump(int threads);
  // Runs the tasks still queued, then joins the threads.
  ~StreamPump();
  StreamPump(const StreamPump&) = delete;
  StreamPump& operator=(const StreamPump&) = delete;

  // Runs `task` on one of the pump's threads, in the order posted.
  void Post(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // As Post, unless `max_queued` tasks already wait for a thread: then
  // returns false and drops `task`.
  bool TryPost(std::function<void()> task, size_t max_queued)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// The answer to a call whose blocking part TryPost refused: `max_queued`
// calls of the same method (`calls`, a plural noun: "counts", "exports")
// already wait for their workspaces to open. RESOURCE_EXHAUSTED, as a call
// that finds no handler thread gets from gRPC.
absl::Status PumpFullError(size_t max_queued, const char* calls);

}  // namespace segments

#endif  // SEGMENTS_SERVER_STREAM_PUMP_H_
