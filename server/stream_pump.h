// The threads that do the change feed streams' work. Reading a batch from
// the store is blocking I/O, which gRPC's callback reactions must not do;
// the streams post it here instead. A fixed number of threads serves every
// stream of the server, so 1,000 idle streams cost memory, not threads.
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_SERVER_STREAM_PUMP_H_
#define SEGMENTS_SERVER_STREAM_PUMP_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

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

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_STREAM_PUMP_H_
