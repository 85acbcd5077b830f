// The bucket arithmetic of a segment's history: a range [start, end) cut
// into UTC-aligned hours or days. Pure functions; no state.
#ifndef SEGMENTS_CORE_HISTORY_BUCKETS_H_
#define SEGMENTS_CORE_HISTORY_BUCKETS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "core/base/types.h"

namespace segments {

enum class Granularity { kHour, kDay };

inline constexpr int64_t kHourBucketSeconds = 3600;
inline constexpr int64_t kDayBucketSeconds = 86400;

int64_t BucketSeconds(Granularity g);

// `t` rounded down / up to a multiple of `width` (floor and ceiling, also
// for moments before 1970). REQUIRES: width > 0.
UnixSeconds AlignDown(UnixSeconds t, int64_t width);
UnixSeconds AlignUp(UnixSeconds t, int64_t width);

// The buckets a history request covers: `count` buckets of `width` seconds
// from `start`; `reported` of them (the first ones) start at or before now,
// and only those are answered (history does not chart the future).
struct BucketRange {
  UnixSeconds start = 0;
  int64_t width = 0;
  size_t count = 0;
  size_t reported = 0;
  UnixSeconds StartOf(size_t i) const {
    return start + static_cast<int64_t>(i) * width;
  }
  UnixSeconds EndOf(size_t i) const { return StartOf(i + 1); }
};

// [start, end) widened to whole buckets: start rounded down, end up.
// INVALID_ARGUMENT (field paths "start_time", "end_time") when end <= start,
// start is after `now`, or the range holds more than `max_buckets` buckets
// (limit max_history_buckets). REQUIRES: both within kMinTimestamp ..
// kMaxTimestamp.
absl::StatusOr<BucketRange> PlanBuckets(UnixSeconds start, UnixSeconds end,
                                        Granularity granularity,
                                        UnixSeconds now, size_t max_buckets);

}  // namespace segments

#endif  // SEGMENTS_CORE_HISTORY_BUCKETS_H_
