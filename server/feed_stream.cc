#include "server/feed_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/status_util.h"

namespace segments {
FeedStream::FeedStream(std::shared_ptr<Workspace> workspace, FeedFilter filter,
                       uint64_t after, StreamPump* pump,
                       FeedMessageCache* messages,
                       const FeedStreamOptions& options, Callbacks callbacks)
    : workspace_(std::move(workspace)),
      feed_(workspace_->feed()),
      filter_(std::move(filter)),
      pump_(pump),
      messages_(messages),
      options_(options),
      callbacks_(std::move(callbacks)),
      cursor_(after) {}

void FeedStream::Start() {
  // Now, before anything can run concurrently: Write and Finish then never
  // both decide to send the initial metadata.
  StartSendInitialMetadata();
  absl::StatusOr<ChangeFeed::FollowerId> follower =
      feed_.Follow([this] { Wake(); });
  if (!follower.ok()) {
    End(ToGrpcStatus(follower.status()));
    return;
  }
  {
    absl::MutexLock l(&mu_);
    follower_ = *follower;
    if (finished_ || pump_active_) return;
    pump_active_ = true;
    ++refs_;
  }
  PostPump();
}

void FeedStream::End(const grpc::Status& status) {
  {
    absl::MutexLock l(&mu_);
    if (finished_) return;
    finished_ = true;
    if (writes_starting_ > 0) {
      deferred_finish_ = status;
      return;
    }
  }
  // A write may still be in flight (a stalled client): gRPC sends the
  // status after it.
  Finish(status);
}

void FeedStream::Wake() {
  absl::MutexLock l(&mu_);
  if (finished_) return;
  if (pump_active_) {
    wake_pending_ = true;
    return;
  }
  if (writing_) {
    // OnWriteDone pumps again; a client that has not read for
    // stall_timeout while the log moved on is too far behind.
    if (!stall_ending_ &&
        absl::Now() - write_started_ > options_.stall_timeout) {
      stall_ending_ = true;
      ++refs_;
      // Not here: Finish must not run under the feed's lock.
      pump_->Post([this] {
        End(grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            absl::StrCat("the stream fell too far behind: a message waited "
                         "more than ",
                         absl::FormatDuration(options_.stall_timeout),
                         " for the client to read it; resume after the last "
                         "last_sequence received")));
        Unref();
      });
    }
    return;
  }
  pump_active_ = true;
  ++refs_;
  PostPump();
}

void FeedStream::PostPump() {
  pump_->Post([this] {
    Pump();
    Unref();
  });
}

void FeedStream::Pump() {
  while (true) {
    uint64_t after = 0;
    bool first = false;
    {
      absl::MutexLock l(&mu_);
      if (finished_ || writing_) {
        pump_active_ = false;
        return;
      }
      wake_pending_ = false;
      after = cursor_;
      first = !sent_first_;
    }
    absl::StatusOr<std::shared_ptr<const FeedMessage>> message = messages_->Get(
        workspace_, after, filter_, options_.max_events_per_message);
    if (!message.ok()) {
      {
        absl::MutexLock l(&mu_);
        pump_active_ = false;
      }
      End(ToGrpcStatus(message.status()));
      return;
    }
    if ((*message)->last_sequence == after && !first) {
      absl::MutexLock l(&mu_);
      if (wake_pending_) continue;  // published while reading
      pump_active_ = false;
      return;
    }
    response_ = (*message)->bytes;  // shares the slices
    {
      absl::MutexLock l(&mu_);
      pump_active_ = false;
      if (finished_) return;
      cursor_ = (*message)->last_sequence;
      sent_first_ = true;
      writing_ = true;
      write_started_ = absl::Now();
      ++writes_starting_;
    }
    StartWrite(&response_);
    WriteStarted();
    return;
  }
}

void FeedStream::WriteStarted() {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock l(&mu_);
    if (--writes_starting_ == 0) finish.swap(deferred_finish_);
  }
  if (finish.has_value()) Finish(*finish);
}

uint64_t FeedStream::lag() const {
  uint64_t cursor;
  {
    absl::MutexLock l(&mu_);
    cursor = cursor_;
  }
  // Outside mu_: the feed's lock comes before the stream's.
  const uint64_t head = feed_.head();
  return head > cursor ? head - cursor : 0;
}

void FeedStream::OnWriteDone(bool ok) {
  if (!ok) {  // the call is over (cancelled, or the client is gone)
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
    return;
  }
  {
    absl::MutexLock l(&mu_);
    writing_ = false;
    if (finished_ || pump_active_) return;
    pump_active_ = true;
    ++refs_;
  }
  PostPump();
}

void FeedStream::OnCancel() {
  End(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
}

void FeedStream::OnDone() {
  std::optional<ChangeFeed::FollowerId> follower;
  {
    absl::MutexLock l(&mu_);
    follower = follower_;
  }
  // From here on Wake never runs.
  if (follower.has_value()) feed_.Unfollow(*follower);
  Unref();
}

void FeedStream::Unref() {
  bool last = false;
  {
    absl::MutexLock l(&mu_);
    last = --refs_ == 0;
  }
  if (!last) return;
  callbacks_.done(this);
  std::function<void()> released = std::move(callbacks_.released);
  delete this;  // and with it the stream's hold on its workspace
  released();
}

}  // namespace segments
