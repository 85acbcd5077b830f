#include "server/feed_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/convert.h"
#include "server/status_util.h"

namespace segments {
namespace {

v1::ChangeKind KindToProto(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kEntered:
      return v1::ENTERED;
    case ChangeKind::kLeft:
      return v1::LEFT;
    case ChangeKind::kSegmentDeleted:
      return v1::SEGMENT_DELETED;
  }
  return v1::CHANGE_KIND_UNSPECIFIED;
}

v1::ChangeCause CauseToProto(ChangeCause cause) {
  switch (cause) {
    case ChangeCause::kContactChanged:
      return v1::CONTACT_CHANGED;
    case ChangeCause::kContactDeleted:
      return v1::CONTACT_DELETED;
    case ChangeCause::kTime:
      return v1::TIME;
    case ChangeCause::kRulesChanged:
      return v1::RULES_CHANGED;
    case ChangeCause::kPlanChanged:
      return v1::PLAN_CHANGED;
  }
  return v1::CHANGE_CAUSE_UNSPECIFIED;
}

}  // namespace

FeedStream::FeedStream(std::shared_ptr<Workspace> workspace, FeedFilter filter,
                       uint64_t after, StreamPump* pump,
                       const FeedStreamOptions& options, DoneCallback on_done)
    : workspace_(std::move(workspace)),
      feed_(workspace_->feed()),
      filter_(std::move(filter)),
      pump_(pump),
      options_(options),
      on_done_(std::move(on_done)),
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
    absl::StatusOr<FeedBatch> batch =
        feed_.Read(after, filter_, options_.max_events_per_message);
    if (!batch.ok()) {
      {
        absl::MutexLock l(&mu_);
        pump_active_ = false;
      }
      End(ToGrpcStatus(batch.status()));
      return;
    }
    if (batch->last_sequence == after && !first) {
      absl::MutexLock l(&mu_);
      if (wake_pending_) continue;  // published while reading
      pump_active_ = false;
      return;
    }
    const uint64_t last = batch->last_sequence;
    FillResponse(*std::move(batch));
    {
      absl::MutexLock l(&mu_);
      pump_active_ = false;
      if (finished_) return;
      cursor_ = last;
      sent_first_ = true;
      writing_ = true;
      write_started_ = absl::Now();
    }
    StartWrite(&response_);
    return;
  }
}

void FeedStream::FillResponse(FeedBatch batch) {
  response_.Clear();
  response_.set_last_sequence(batch.last_sequence);
  response_.set_caught_up(batch.caught_up);
  for (const ChangeRun& run : batch.runs) {
    v1::MembershipChangeRun* out = response_.add_runs();
    out->set_first_sequence(run.first_sequence);
    out->set_segment_id(run.segment_id);
    out->set_kind(KindToProto(run.kind));
    out->set_cause(CauseToProto(run.cause));
    SecondsToProto(run.time, out->mutable_time());
    auto* ids = out->mutable_contact_ids();
    ids->Resize(static_cast<int>(run.contact_ids.size()), 0);
    std::copy(run.contact_ids.begin(), run.contact_ids.end(),
              ids->mutable_data());
  }
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
  on_done_(this);
  delete this;
}

}  // namespace segments
