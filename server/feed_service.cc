#include "server/feed_service.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "server/parse_error_interceptor.h"
#include "server/raw_messages.h"
#include "server/refused_stream.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {
namespace {

// Two threads: one stream's read from the store does not hold up the
// others' on a two-core machine, and more would only contend.
constexpr int kPumpThreads = 2;

// Messages kept for streams at the same position: a burst of 20 messages
// for each of a few workspaces or filters. At most 16,384 events (about
// 100 KiB) each.
constexpr size_t kCachedMessages = 64;

}  // namespace

FeedServiceImpl::FeedServiceImpl(const Authenticator* auth,
                                 const Limits& limits,
                                 const FeedStreamOptions& options)
    : auth_(auth),
      limits_(limits),
      options_(options),
      messages_(kCachedMessages),
      pump_(kPumpThreads) {}

// The grpc::Server is gone by now: every stream is done, and the pump runs
// what is still queued for them before its threads join.
FeedServiceImpl::~FeedServiceImpl() = default;

absl::Status FeedServiceImpl::Admit(
    const grpc::CallbackServerContext& context,
    const v1::WatchMembershipChangesRequest& request,
    std::shared_ptr<Workspace>* workspace, FeedFilter* filter,
    uint64_t* after) const {
  ASSIGN_OR_RETURN(*workspace, auth_->AuthenticateWorkspace(context));
  if (static_cast<size_t>(request.segment_ids_size()) > limits_.max_segments) {
    return InvalidFieldError(
        "segment_ids", absl::StrCat("lists ", request.segment_ids_size(),
                                    " segments; at most ", limits_.max_segments,
                                    " (limit max_segments)"));
  }
  Violations violations;
  for (int i = 0; i < request.segment_ids_size(); ++i) {
    CheckIdPresent(request.segment_ids(i), absl::StrCat("segment_ids[", i, "]"),
                   &violations);
    filter->segments.insert(static_cast<SegmentId>(request.segment_ids(i)));
  }
  RETURN_IF_ERROR(violations.ToStatus());
  ChangeFeed& feed = (*workspace)->feed();
  *after = request.from_now() ? feed.head() : request.after_sequence();
  return feed.CheckReadable(*after);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>*
FeedServiceImpl::WatchMembershipChanges(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request) {
  v1::WatchMembershipChangesRequest parsed;
  if (!ParseRawMessage(*request, &parsed)) {
    return new RefusedStream<grpc::ByteBuffer>(UnparsableRequestStatus(
        kWatchMembershipChangesMethod,
        auth_->AuthenticateMethod(*context, kWatchMembershipChangesMethod)));
  }
  std::shared_ptr<Workspace> workspace;
  FeedFilter filter;
  uint64_t after = 0;
  if (absl::Status admitted =
          Admit(*context, parsed, &workspace, &filter, &after);
      !admitted.ok()) {
    return new RefusedStream<grpc::ByteBuffer>(ToGrpcStatus(admitted));
  }
  auto* stream = new FeedStream(
      std::move(workspace), std::move(filter), after, &pump_, &messages_,
      options_, {[this](FeedStream* s) { Remove(s); }, [this] { Released(); }});
  {
    absl::MutexLock l(&mu_);
    ++undeleted_;
    if (shut_down_) {
      stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the server is shutting down"));
      return stream;
    }
    streams_.insert(stream);
  }
  stream->Start();
  return stream;
}

void FeedServiceImpl::Remove(FeedStream* stream) {
  absl::MutexLock l(&mu_);
  streams_.erase(stream);
}

void FeedServiceImpl::Released() {
  absl::MutexLock l(&mu_);
  --undeleted_;
}

void FeedServiceImpl::Shutdown() {
  absl::MutexLock l(&mu_);
  shut_down_ = true;
  // End runs no reaction inline (OnDone comes later, on a gRPC thread, and
  // the stream's deletion takes mu_ to remove it), so it may be called
  // under mu_.
  for (FeedStream* s : streams_) {
    s->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the server is shutting down; resume after the last "
                        "last_sequence received"));
  }
}

FeedServiceImpl::StreamsStats FeedServiceImpl::Stats() const {
  // Under mu_, so that no stream is deleted meanwhile (it is removed under
  // mu_ first). lag() takes the stream's lock, releases it, then takes the
  // feed's: neither is ever held by a thread that takes mu_.
  absl::MutexLock l(&mu_);
  StreamsStats stats;
  stats.open = streams_.size();
  for (const FeedStream* s : streams_) {
    stats.max_lag = std::max(stats.max_lag, s->lag());
  }
  return stats;
}

bool FeedServiceImpl::WaitUntilNoStreams(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  // Deleted, not only done: the Registry, which the server closes next,
  // must outlive every Workspace.
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return undeleted_ == 0;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

}  // namespace segments
