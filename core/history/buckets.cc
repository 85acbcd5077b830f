#include "core/history/buckets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"

namespace segments {

int64_t BucketSeconds(Granularity g) {
  return g == Granularity::kDay ? kDayBucketSeconds : kHourBucketSeconds;
}

UnixSeconds AlignDown(UnixSeconds t, int64_t width) {
  const int64_t r = t % width;
  return r < 0 ? t - r - width : t - r;
}

UnixSeconds AlignUp(UnixSeconds t, int64_t width) {
  const UnixSeconds down = AlignDown(t, width);
  return down == t ? t : down + width;
}

absl::StatusOr<BucketRange> PlanBuckets(UnixSeconds start, UnixSeconds end,
                                        Granularity granularity,
                                        UnixSeconds now, size_t max_buckets) {
  Violations violations;
  if (end <= start) {
    violations.Add("end_time", "must be after start_time");
  }
  if (start > now) {
    violations.Add("start_time", "is in the future: history ends at now");
  }
  BucketRange r;
  r.width = BucketSeconds(granularity);
  r.start = AlignDown(start, r.width);
  if (end > start) {
    // Timestamps are within +-2^38 s, so nothing here overflows.
    r.count = static_cast<size_t>((AlignUp(end, r.width) - r.start) / r.width);
    if (r.count > max_buckets) {
      violations.Add(
          "end_time",
          absl::StrCat("the range holds ", r.count, " ",
                       granularity == Granularity::kDay ? "DAY" : "HOUR",
                       " buckets; at most ", max_buckets,
                       " (limit max_history_buckets)"));
    }
  }
  if (!violations.empty()) return violations.ToStatus();
  const int64_t up_to_now = (AlignDown(now, r.width) - r.start) / r.width + 1;
  r.reported = std::min(r.count, static_cast<size_t>(up_to_now));
  return r;
}

}  // namespace segments
