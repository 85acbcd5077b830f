// segments.v1.ChangeFeedService on gRPC's callback API: authenticate,
// check the request, then hand the call to a FeedStream (feed_stream.h).
// The streams' reads run on this service's StreamPump and share its
// FeedMessageCache; the service keeps the set of open streams so that
// Shutdown can end them at once (they never end on their own).
//
// WatchMembershipChanges is served raw (request and messages as bytes), so
// that streams at the same position send one encoding of a message instead
// of one each. The service parses the request itself; reflection reads the
// generated descriptors, so clients still see the real types.
//
// Thread-safety: thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_FEED_SERVICE_H_
#define SEGMENTS_SERVER_FEED_SERVICE_H_

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "core/base/limits.h"
#include "segments/v1/feed.grpc.pb.h"
#include "server/auth.h"
#include "server/feed_message_cache.h"
#include "server/feed_stream.h"
#include "server/stream_pump.h"

namespace segments {

inline constexpr char kWatchMembershipChangesMethod[] =
    "/segments.v1.ChangeFeedService/WatchMembershipChanges";

class FeedServiceImpl final : public v1::ChangeFeedService::
                                  WithRawCallbackMethod_WatchMembershipChanges<
                                      v1::ChangeFeedService::Service> {
 public:
  FeedServiceImpl(const Authenticator* auth, const Limits& limits,
                  const FeedStreamOptions& options);
  // After the grpc::Server that served it.
  ~FeedServiceImpl() override;

  // A serialized WatchMembershipChangesRequest in; serialized
  // WatchMembershipChangesResponse messages out.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchMembershipChanges(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;

  // How often a stream's message was encoded already by another stream.
  const FeedMessageCache& messages() const { return messages_; }

  // Ends every open stream with UNAVAILABLE (clients resume after their
  // last sequence) and refuses new ones. A stream is done once its client
  // has read the status (or the server's shutdown cancels it).
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits (up to `timeout`) until every stream is deleted, after the
  // grpc::Server has shut down: each keeps its Workspace alive, which must
  // go before the Registry does. False when some are left.
  bool WaitUntilNoStreams(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // The open streams, for metrics: how many, and the largest lag of one
  // (FeedStream::lag).
  struct StreamsStats {
    size_t open = 0;
    uint64_t max_lag = 0;
  };
  StreamsStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The stream's start: its workspace and the sequence it starts after.
  absl::Status Admit(const grpc::CallbackServerContext& context,
                     const v1::WatchMembershipChangesRequest& request,
                     std::shared_ptr<Workspace>* workspace, FeedFilter* filter,
                     uint64_t* after) const;
  void Remove(FeedStream* stream) ABSL_LOCKS_EXCLUDED(mu_);
  void Released() ABSL_LOCKS_EXCLUDED(mu_);

  const Authenticator* const auth_;
  const Limits limits_;
  const FeedStreamOptions options_;
  // Before the pump: its queued tasks, run when it is destroyed, use it.
  FeedMessageCache messages_;
  StreamPump pump_;

  mutable absl::Mutex mu_;
  // The streams not done yet (Stats reads their lag).
  absl::flat_hash_set<FeedStream*> streams_ ABSL_GUARDED_BY(mu_);
  // The streams not deleted yet, each holding its workspace: a done stream
  // is deleted just after it leaves streams_, on a pump thread, and may be
  // the last holder of its workspace.
  size_t undeleted_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_FEED_SERVICE_H_
