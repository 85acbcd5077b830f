// The relative date rules' windows (SPEC §4 "Time"): WITHIN_LAST_DAYS n and
// MORE_THAN_DAYS_AGO n on a timestamp field f both ask whether
// t >= now - n*86400, so both change their answer for a contact at the same
// moment, t + n*86400 + 1 (the first second at which t is more than n days
// ago). A window is the pair (f, n); the time-driven work of a workspace is
// keyed by its distinct windows, not by contacts times rules.
#ifndef SEGMENTS_CORE_TIME_TIME_WINDOW_H_
#define SEGMENTS_CORE_TIME_TIME_WINDOW_H_

#include <cstdint>
#include <tuple>
#include <vector>

#include "core/base/types.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"

namespace segments {

inline constexpr int64_t kSecondsPerDay = 86400;

struct TimeWindow {
  Field field = Field::kCreatedAt;  // kCreatedAt or kLastEngagedAt
  int64_t days = 0;

  // The moment a contact whose `field` is `t` flips under this window.
  UnixSeconds FlipMoment(UnixSeconds t) const {
    return t + days * kSecondsPerDay + 1;
  }
  // The timestamps that flip in (after, until]: [lo, hi], empty when
  // lo > hi.
  UnixSeconds FlipsFrom(UnixSeconds after) const {
    return after - days * kSecondsPerDay;
  }
  UnixSeconds FlipsTo(UnixSeconds until) const {
    return until - days * kSecondsPerDay - 1;
  }

  bool operator==(const TimeWindow& o) const {
    return field == o.field && days == o.days;
  }
  bool operator<(const TimeWindow& o) const {
    return std::tie(field, days) < std::tie(o.field, o.days);
  }
};

// The distinct windows of `filter`'s relative date rules, ascending.
std::vector<TimeWindow> WindowsOf(const Filter& filter);

}  // namespace segments

#endif  // SEGMENTS_CORE_TIME_TIME_WINDOW_H_
