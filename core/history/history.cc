#include "core/history/history.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"

namespace segments {
namespace {

std::string Rfc3339(UnixSeconds t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t),
                          absl::UTCTimeZone());
}

// The count after the last reported bucket: live count less what entered
// after it, plus what left after it. Signed: a log that does not add up
// must show, not wrap.
int64_t CountAtEnd(const SegmentNow& s, const SegmentChangeCounts& c) {
  return static_cast<int64_t>(s.member_count) -
         static_cast<int64_t>(c.entered_after) +
         static_cast<int64_t>(c.left_after);
}

absl::Status DoesNotAddUp(SegmentId id, UnixSeconds at, int64_t count) {
  return absl::InternalError(absl::StrCat("the change log of segment ", id,
                                          " does not add up: ", count,
                                          " members at ", Rfc3339(at)));
}

}  // namespace

bool HistoryBucket::operator==(const HistoryBucket& o) const {
  return start_time == o.start_time && segment_existed == o.segment_existed &&
         entered == o.entered && left == o.left &&
         member_count == o.member_count;
}

absl::Status NotRetainedError(absl::string_view what, UnixSeconds oldest) {
  return WithErrorInfo(
      absl::OutOfRangeError(absl::StrCat(
          what, " is before the retained change log, which answers from ",
          Rfc3339(oldest), " on")),
      {"HISTORY_NOT_RETAINED",
       {{"oldest_time", Rfc3339(oldest)},
        {"oldest_time_seconds", absl::StrCat(oldest)}}});
}

absl::StatusOr<SegmentHistory> SegmentHistoryOf(const SegmentNow& segment,
                                                const HistoryRequest& request,
                                                const Limits& limits,
                                                WorkspaceStore& store) {
  ASSIGN_OR_RETURN(
      const BucketRange range,
      PlanBuckets(request.start_time, request.end_time, request.granularity,
                  segment.now, limits.max_history_buckets));
  SegmentChangeCountsQuery query;
  query.segment_id = segment.id;
  query.start = range.start;
  query.bucket_seconds = range.width;
  query.buckets = range.reported;
  query.up_to_sequence = segment.as_of_sequence;
  ASSIGN_OR_RETURN(const SegmentChangeCounts counts,
                   store.CountSegmentChanges(query));
  if (range.start < counts.pruned_before) {
    return NotRetainedError(
        absl::StrCat("start_time ", Rfc3339(request.start_time),
                     " (its bucket from ", Rfc3339(range.start), ")"),
        counts.pruned_before);
  }
  SegmentHistory history;
  history.as_of_sequence = segment.as_of_sequence;
  history.retained_since = counts.pruned_before;
  history.buckets.resize(range.reported);
  // Backwards from now: each bucket's count is the next one's less its
  // entries plus its exits.
  int64_t count = CountAtEnd(segment, counts);
  for (size_t i = range.reported; i-- > 0;) {
    HistoryBucket& b = history.buckets[i];
    b.start_time = range.StartOf(i);
    b.segment_existed = segment.create_time < range.EndOf(i);
    b.entered = counts.entered[i];
    b.left = counts.left[i];
    if (b.segment_existed) {
      if (count < 0) return DoesNotAddUp(segment.id, range.EndOf(i), count);
      b.member_count = static_cast<uint64_t>(count);
    }
    count -= static_cast<int64_t>(b.entered) - static_cast<int64_t>(b.left);
  }
  return history;
}

absl::StatusOr<ContactHistory> ContactHistoryOf(const SegmentNow& segment,
                                                ContactId contact,
                                                bool member_now,
                                                std::optional<UnixSeconds> at,
                                                const Limits& limits,
                                                WorkspaceStore& store) {
  const UnixSeconds t = at.value_or(segment.now);
  if (t > segment.now) {
    return InvalidFieldError("at_time",
                             "is in the future: history ends at now");
  }
  ASSIGN_OR_RETURN(
      ContactChanges changes,
      store.ReadContactChanges(segment.id, contact, segment.as_of_sequence));
  if (t < changes.pruned_before) {
    return NotRetainedError(absl::StrCat("at_time ", Rfc3339(t)),
                            changes.pruned_before);
  }
  ContactHistory history;
  history.at_time = t;
  history.as_of_sequence = segment.as_of_sequence;
  history.retained_since = changes.pruned_before;
  std::vector<MembershipChange>& events = changes.changes;
  if (t >= segment.create_time) {
    const auto first_after =
        std::find_if(events.begin(), events.end(),
                     [t](const MembershipChange& c) { return c.time > t; });
    history.member_at = first_after == events.end()
                            ? member_now
                            : first_after->kind == ChangeKind::kLeft;
  }
  if (events.size() > limits.max_history_events) {
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(
                                                    limits.max_history_events));
    history.events_truncated = true;
  }
  history.events = std::move(events);
  return history;
}

}  // namespace segments
