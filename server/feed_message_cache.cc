#include "server/feed_message_cache.h"

#include <utility>

#include "core/base/status_macros.h"
#include "segments/v1/feed.pb.h"
#include "server/convert.h"
#include "server/raw_messages.h"

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

bool SameOwner(const std::weak_ptr<Workspace>& a,
               const std::shared_ptr<Workspace>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

grpc::ByteBuffer EncodeFeedBatch(const FeedBatch& batch) {
  v1::WatchMembershipChangesResponse response;
  response.set_last_sequence(batch.last_sequence);
  response.set_caught_up(batch.caught_up);
  for (const ChangeRun& run : batch.runs) {
    v1::MembershipChangeRun* out = response.add_runs();
    out->set_first_sequence(run.first_sequence);
    out->set_segment_id(run.segment_id);
    out->set_kind(KindToProto(run.kind));
    out->set_cause(CauseToProto(run.cause));
    SecondsToProto(run.time, out->mutable_time());
    auto* ids = out->mutable_contact_ids();
    ids->Reserve(static_cast<int>(run.contact_ids.size()));
    for (ContactId id : run.contact_ids) ids->AddAlreadyReserved(id);
  }
  return SerializeRawMessage(response);
}

FeedMessageCache::FeedMessageCache(size_t capacity) : capacity_(capacity) {}

FeedMessageCache::Entry* FeedMessageCache::FindLocked(
    const std::shared_ptr<Workspace>& workspace, uint64_t after,
    const FeedFilter& filter, size_t max_events) {
  for (Entry& e : entries_) {
    if (e.after == after && e.max_events == max_events &&
        SameOwner(e.workspace, workspace) &&
        e.filter.segments == filter.segments) {
      return &e;
    }
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const FeedMessage>> FeedMessageCache::Get(
    const std::shared_ptr<Workspace>& workspace, uint64_t after,
    const FeedFilter& filter, size_t max_events) {
  ChangeFeed& feed = workspace->feed();
  ASSIGN_OR_RETURN(const uint64_t head, feed.ReadableHead());
  {
    absl::MutexLock l(&mu_);
    const Entry* e = FindLocked(workspace, after, filter, max_events);
    if (e != nullptr &&
        (!e->message->caught_up || e->message->last_sequence == head)) {
      ++hits_;
      return e->message;
    }
    ++misses_;
  }
  // Outside the lock: the read is I/O, and other streams' hits go on.
  ASSIGN_OR_RETURN(FeedBatch batch, feed.Read(after, filter, max_events));
  auto message = std::make_shared<FeedMessage>();
  message->bytes = EncodeFeedBatch(batch);
  message->last_sequence = batch.last_sequence;
  message->caught_up = batch.caught_up;
  if (batch.last_sequence == after || capacity_ == 0) return message;
  absl::MutexLock l(&mu_);
  if (Entry* e = FindLocked(workspace, after, filter, max_events)) {
    e->message = message;
    return message;
  }
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back(Entry{workspace, after, max_events, filter, message});
  return message;
}

size_t FeedMessageCache::hits() const {
  absl::MutexLock l(&mu_);
  return hits_;
}

size_t FeedMessageCache::misses() const {
  absl::MutexLock l(&mu_);
  return misses_;
}

}  // namespace segments
