// A workspace's change feed (SPEC §6 "Change feed"): how far its log is
// published and retained, who follows it, and the batches a follower reads.
//
// The log itself is the store's. The feed keeps no events in memory: a
// follower reads its next batch from the store (ReadChangeRuns, on a read
// connection that never waits for a writer) when it is ready to send one.
// A writer only moves the published head and wakes the followers, so a slow
// follower costs the writers nothing and holds at most one batch.
//
// Thread-safety: thread-safe. Listeners run under the feed's lock (on the
// publishing writer's thread): they must only wake their follower, never
// call back into the feed.
#ifndef SEGMENTS_CORE_FEED_CHANGE_FEED_H_
#define SEGMENTS_CORE_FEED_CHANGE_FEED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/store/store.h"

namespace segments {

// Which segments' events a follower wants; none listed: every segment's.
struct FeedFilter {
  absl::flat_hash_set<SegmentId> segments;
  bool Matches(SegmentId id) const {
    return segments.empty() || segments.contains(id);
  }
};

// What a follower reads next.
struct FeedBatch {
  // The runs that match the filter, ascending, split where they exceed the
  // batch's size.
  std::vector<ChangeRun> runs;
  // Every event up to here has been read, matching or not: where the
  // follower stands now, and what it checkpoints.
  uint64_t last_sequence = 0;
  // last_sequence is the published head.
  bool caught_up = false;
  size_t events() const;
};

class ChangeFeed {
 public:
  using Listener = std::function<void()>;
  using FollowerId = uint64_t;

  // `store` must outlive the feed; `head` is the last sequence in memory,
  // `retention` what the store holds; at most `max_followers` at once.
  ChangeFeed(WorkspaceStore* store, uint64_t head, LogRetention retention,
             size_t max_followers);

  // The writer's side: the write whose last event is `last_sequence` is in
  // memory; wakes every follower.
  void Publish(uint64_t last_sequence) ABSL_LOCKS_EXCLUDED(mu_);
  // After the store pruned its log.
  void SetRetention(LogRetention retention) ABSL_LOCKS_EXCLUDED(mu_);
  // The workspace is gone (deleted): every follower is woken, and from now
  // on Follow, Read and ReadableHead answer `why` (not OK), so that open
  // streams end instead of idling on a feed that never moves again.
  void Close(absl::Status why) ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t head() const ABSL_LOCKS_EXCLUDED(mu_);
  // The head, or Close's status once the feed is closed.
  absl::StatusOr<uint64_t> ReadableHead() const ABSL_LOCKS_EXCLUDED(mu_);
  LogRetention retention() const ABSL_LOCKS_EXCLUDED(mu_);

  // Registers a follower; `on_publish` runs after every Publish (and on
  // Close) until Unfollow. RESOURCE_EXHAUSTED naming limit max_feed_streams
  // when max_followers already follow.
  absl::StatusOr<FollowerId> Follow(Listener on_publish)
      ABSL_LOCKS_EXCLUDED(mu_);
  // When it returns, the follower's listener is not running and never runs
  // again.
  void Unfollow(FollowerId id) ABSL_LOCKS_EXCLUDED(mu_);
  size_t followers() const ABSL_LOCKS_EXCLUDED(mu_);

  // OK when every event after `after` is still stored and `after` is not
  // beyond the head; else OUT_OF_RANGE, with the oldest stored sequence in
  // its ErrorInfo (reason CHANGES_NOT_RETAINED or SEQUENCE_NOT_REACHED).
  absl::Status CheckReadable(uint64_t after) const ABSL_LOCKS_EXCLUDED(mu_);
  // The batch after `after`: at most `max_events` events read from the
  // store (whether they match or not), never beyond the head.
  // OUT_OF_RANGE as CheckReadable (the log may be pruned under a reader);
  // Close's status once closed.
  absl::StatusOr<FeedBatch> Read(uint64_t after, const FeedFilter& filter,
                                 size_t max_events) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status CheckReadableLocked(uint64_t after) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  WorkspaceStore* const store_;
  const size_t max_followers_;
  mutable absl::Mutex mu_;
  uint64_t head_ ABSL_GUARDED_BY(mu_);
  LogRetention retention_ ABSL_GUARDED_BY(mu_);
  absl::Status closed_ ABSL_GUARDED_BY(mu_);  // OK while open
  FollowerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<FollowerId, Listener> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segments

#endif  // SEGMENTS_CORE_FEED_CHANGE_FEED_H_
