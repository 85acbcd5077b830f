#include "core/feed/change_feed.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"

namespace segments {
namespace {

absl::Status NotRetained(uint64_t after, const LogRetention& retention) {
  return WithErrorInfo(
      absl::OutOfRangeError(absl::StrCat(
          "the changes after sequence ", after,
          " are no longer retained; the oldest retained is sequence ",
          retention.first_sequence, " (resume after ",
          retention.first_sequence - 1, ", from a snapshot or a listing)")),
      {"CHANGES_NOT_RETAINED",
       {{"oldest_retained_sequence", absl::StrCat(retention.first_sequence)}}});
}

absl::Status NotReached(uint64_t after, uint64_t head,
                        const LogRetention& retention) {
  return WithErrorInfo(
      absl::OutOfRangeError(absl::StrCat(
          "sequence ", after, " has not been reached; the newest is ", head)),
      {"SEQUENCE_NOT_REACHED",
       {{"last_sequence", absl::StrCat(head)},
        {"oldest_retained_sequence", absl::StrCat(retention.first_sequence)}}});
}

}  // namespace

size_t FeedBatch::events() const {
  size_t n = 0;
  for (const ChangeRun& r : runs) n += r.contact_ids.size();
  return n;
}

ChangeFeed::ChangeFeed(WorkspaceStore* store, uint64_t head,
                       LogRetention retention, size_t max_followers)
    : store_(store),
      max_followers_(max_followers),
      head_(head),
      retention_(retention) {}

void ChangeFeed::Publish(uint64_t last_sequence) {
  absl::MutexLock l(&mu_);
  if (last_sequence <= head_) return;
  head_ = last_sequence;
  for (const auto& [id, listener] : listeners_) listener();
}

void ChangeFeed::SetRetention(LogRetention retention) {
  absl::MutexLock l(&mu_);
  retention_ = retention;
}

void ChangeFeed::Close(absl::Status why) {
  absl::MutexLock l(&mu_);
  if (!closed_.ok()) return;
  closed_ = std::move(why);
  for (const auto& [id, listener] : listeners_) listener();
}

absl::StatusOr<uint64_t> ChangeFeed::ReadableHead() const {
  absl::ReaderMutexLock l(&mu_);
  if (!closed_.ok()) return closed_;
  return head_;
}

uint64_t ChangeFeed::head() const {
  absl::ReaderMutexLock l(&mu_);
  return head_;
}

LogRetention ChangeFeed::retention() const {
  absl::ReaderMutexLock l(&mu_);
  return retention_;
}

absl::StatusOr<ChangeFeed::FollowerId> ChangeFeed::Follow(Listener on_publish) {
  absl::MutexLock l(&mu_);
  if (!closed_.ok()) return closed_;
  if (listeners_.size() >= max_followers_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the workspace already has ", listeners_.size(),
                     " change feed streams open (limit max_feed_streams)"));
  }
  const FollowerId id = next_id_++;
  listeners_.emplace(id, std::move(on_publish));
  return id;
}

void ChangeFeed::Unfollow(FollowerId id) {
  absl::MutexLock l(&mu_);
  listeners_.erase(id);
}

size_t ChangeFeed::followers() const {
  absl::ReaderMutexLock l(&mu_);
  return listeners_.size();
}

absl::Status ChangeFeed::CheckReadable(uint64_t after) const {
  absl::ReaderMutexLock l(&mu_);
  return CheckReadableLocked(after);
}

absl::Status ChangeFeed::CheckReadableLocked(uint64_t after) const {
  if (!closed_.ok()) return closed_;
  if (after > head_) return NotReached(after, head_, retention_);
  // Sequence numbers have no gaps: the events after `after` are all stored
  // when the oldest stored one is at most after + 1.
  if (after + 1 < retention_.first_sequence) {
    return NotRetained(after, retention_);
  }
  return absl::OkStatus();
}

absl::StatusOr<FeedBatch> ChangeFeed::Read(uint64_t after,
                                           const FeedFilter& filter,
                                           size_t max_events) const {
  uint64_t head = 0;
  {
    absl::ReaderMutexLock l(&mu_);
    RETURN_IF_ERROR(CheckReadableLocked(after));
    head = head_;
  }
  FeedBatch batch;
  batch.last_sequence = after;
  const uint64_t want = std::min<uint64_t>(max_events, head - after);
  if (want > 0) {
    ASSIGN_OR_RETURN(std::vector<ChangeRun> runs,
                     store_->ReadChangeRuns(after, want));
    if (runs.empty() || runs.front().first_sequence != after + 1) {
      // Pruned between the check and the read.
      const LogRetention now = retention();
      if (after + 1 < now.first_sequence) return NotRetained(after, now);
      return absl::DataLossError(absl::StrCat(
          "the change log holds no event ", after + 1, " (newest ", head, ")"));
    }
    for (ChangeRun& run : runs) {
      batch.last_sequence = run.last_sequence();
      if (filter.Matches(run.segment_id)) batch.runs.push_back(std::move(run));
    }
  }
  batch.caught_up = batch.last_sequence == head;
  return batch;
}

}  // namespace segments
