// One WatchMembershipChanges stream (segments.v1.ChangeFeedService), on
// gRPC's callback API: it holds no thread. It follows its workspace's
// ChangeFeed and sends one message at a time, each read from the store (or
// taken from the FeedMessageCache, encoded already by a stream at the same
// position) on a StreamPump thread when the previous one has been written:
//
//   Wake (a write published, or a write done) -> Pump on the pump's thread:
//   Get the message after the cursor -> StartWrite -> OnWriteDone -> Pump ...
//
// A stream is idle (no Pump queued, no write) once it has sent everything up
// to the head; the next Publish wakes it. It holds at most one message. A
// stream whose message has waited longer than stall_timeout for the client
// while writers move on is ended with RESOURCE_EXHAUSTED: the client resumes
// after the last sequence it received, reading from the store at its own
// pace.
//
// Thread-safety: gRPC's reactions, the feed's listener (a writer's thread)
// and the pump run concurrently; mu_ guards the stream's state. mu_ is never
// held while calling into gRPC, the feed or the service (lock order: feed ->
// stream; service -> stream).
#ifndef SEGMENTS_SERVER_FEED_STREAM_H_
#define SEGMENTS_SERVER_FEED_STREAM_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/engine/workspace.h"
#include "core/feed/change_feed.h"
#include "server/feed_message_cache.h"
#include "server/stream_pump.h"

namespace segments {

struct FeedStreamOptions {
  // Changes read per message (matching the filter or not).
  size_t max_events_per_message = 16384;
  // How long a message may wait for the client while the log moves on.
  absl::Duration stall_timeout = absl::Seconds(30);
};

// Served raw: each message is a serialized WatchMembershipChangesResponse,
// shared with the other streams that send it.
class FeedStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // What the stream tells its service at its end.
  struct Callbacks {
    // Just before the stream is deleted: it is done, and no task of it is
    // left on the pump. From here on its lag() is not read.
    std::function<void(FeedStream*)> done;
    // Once it is deleted: it holds its workspace no more (so the Registry,
    // whose scheduler a Workspace's destructor unregisters from, may go).
    std::function<void()> released;
  };

  // A stream of `workspace`'s changes after `after` that `filter` matches.
  // Start() begins it; gRPC's OnDone deletes it. `pump` and `messages`
  // must outlive it.
  FeedStream(std::shared_ptr<Workspace> workspace, FeedFilter filter,
             uint64_t after, StreamPump* pump, FeedMessageCache* messages,
             const FeedStreamOptions& options, Callbacks callbacks);

  // Follows the feed (or finishes with RESOURCE_EXHAUSTED past the
  // workspace's stream limit) and queues the first message, which is sent
  // even when it holds no change: it tells the client where it starts.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Finishes the stream with `status` unless it is finished already.
  void End(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  // Changes published that the stream has not sent yet (whether its filter
  // keeps them or not): how far behind its client is (for metrics).
  uint64_t lag() const ABSL_LOCKS_EXCLUDED(mu_);

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ~FeedStream() override = default;

  // The feed's listener.
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  // On the pump's thread: gets the next message and writes it, unless
  // there is nothing new.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_);
  // Calls Finish, deferred to here when End ran while this Pump was about
  // to start a write: gRPC forbids a write after Finish (the call may be
  // gone by then).
  void WriteStarted() ABSL_LOCKS_EXCLUDED(mu_);
  // Posts Pump. REQUIRES: the caller set pump_active_ and took a reference
  // for the task (++refs_), under mu_.
  void PostPump();
  void Unref() ABSL_LOCKS_EXCLUDED(mu_);

  const std::shared_ptr<Workspace> workspace_;  // kept alive while streaming
  ChangeFeed& feed_;
  const FeedFilter filter_;
  StreamPump* const pump_;
  FeedMessageCache* const messages_;
  const FeedStreamOptions options_;
  Callbacks callbacks_;

  mutable absl::Mutex mu_;
  std::optional<ChangeFeed::FollowerId> follower_ ABSL_GUARDED_BY(mu_);
  uint64_t cursor_ ABSL_GUARDED_BY(mu_);  // the last sequence sent
  bool sent_first_ ABSL_GUARDED_BY(mu_) = false;
  bool pump_active_ ABSL_GUARDED_BY(mu_) = false;   // queued or running
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;  // woken while active
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool stall_ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Pumps between deciding to write and StartWrite's return (two may
  // overlap: OnWriteDone can post the next Pump before the first returns).
  int writes_starting_ ABSL_GUARDED_BY(mu_) = 0;
  // End's status while writes_starting_ > 0.
  std::optional<grpc::Status> deferred_finish_ ABSL_GUARDED_BY(mu_);
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  // gRPC's (until OnDone) and one per posted task.
  int refs_ ABSL_GUARDED_BY(mu_) = 1;
  // Set by Pump while no write is in flight; read by gRPC during one.
  grpc::ByteBuffer response_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_FEED_STREAM_H_
