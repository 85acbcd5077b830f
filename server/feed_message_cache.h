// The change feed's messages, read and encoded once for every stream that
// sends the same one.
//
// Live followers of a workspace stand at the same sequence, mostly with the
// same filter: after a write, each of them would read the same batch from
// the store and encode the same message (a batch of 10,000 new contacts is
// about 20 messages of 16,384 events). The first stream to need a message
// reads and encodes it; the others at the same position send the same
// bytes (grpc::ByteBuffer copies share their slices). The log never changes
// below the head, so a message stays right for its position for as long as
// it is kept; it may end below the current head (read before the latest
// write), and its stream then reads on from there.
//
// Only messages with events or progress are kept. An empty read ("nothing
// after `after`") is never served from here: a stream woken by a write must
// see that write.
//
// Thread-safety: thread-safe. Two streams that miss at the same moment may
// both read and encode the message; the cache keeps the later.
#ifndef SEGMENTS_SERVER_FEED_MESSAGE_CACHE_H_
#define SEGMENTS_SERVER_FEED_MESSAGE_CACHE_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/engine/workspace.h"
#include "core/feed/change_feed.h"

namespace segments {

// One encoded WatchMembershipChangesResponse.
struct FeedMessage {
  grpc::ByteBuffer bytes;
  uint64_t last_sequence = 0;  // what the client checkpoints
  // It reached the head when it was read: it is served again only while
  // the head is still there (else a client would be told it is caught up
  // when it is not).
  bool caught_up = false;
};

// The message of `batch`, serialized.
grpc::ByteBuffer EncodeFeedBatch(const FeedBatch& batch);

class FeedMessageCache {
 public:
  // Keeps the `capacity` newest messages, across workspaces.
  explicit FeedMessageCache(size_t capacity);

  // The message of the changes after `after` in `workspace`'s feed that
  // `filter` matches (at most `max_events` read): from the cache, or read
  // and encoded (and kept when it moves past `after`). OUT_OF_RANGE as
  // ChangeFeed::Read.
  absl::StatusOr<std::shared_ptr<const FeedMessage>> Get(
      const std::shared_ptr<Workspace>& workspace, uint64_t after,
      const FeedFilter& filter, size_t max_events) ABSL_LOCKS_EXCLUDED(mu_);

  size_t hits() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t misses() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    // Not an owner: a cached message never keeps a deleted workspace alive,
    // and a new workspace at the old one's address is another owner.
    std::weak_ptr<Workspace> workspace;
    uint64_t after = 0;
    size_t max_events = 0;
    FeedFilter filter;
    std::shared_ptr<const FeedMessage> message;
  };
  Entry* FindLocked(const std::shared_ptr<Workspace>& workspace, uint64_t after,
                    const FeedFilter& filter, size_t max_events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);  // oldest first
  size_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  size_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_FEED_MESSAGE_CACHE_H_
