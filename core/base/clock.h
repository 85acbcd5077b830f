// The service's UTC clock, injectable so tests can move time.
#ifndef SEGMENTS_CORE_BASE_CLOCK_H_
#define SEGMENTS_CORE_BASE_CLOCK_H_

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/types.h"

namespace segments {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds Now() const = 0;
  // How long until second `t` begins (negative once it has). A clock whose
  // Now() moves by itself is measured to the sub-second, so a timer set to
  // the start of `t` wakes when Now() first reads t.
  virtual absl::Duration Until(UnixSeconds t) const {
    return absl::Seconds(t - Now());
  }
};

class SystemClock : public Clock {
 public:
  UnixSeconds Now() const override { return absl::ToUnixSeconds(absl::Now()); }
  absl::Duration Until(UnixSeconds t) const override {
    return absl::FromUnixSeconds(t) - absl::Now();
  }
};

// A clock that moves only when told to (a timer waiting on it must be woken
// after it moves; see FlipScheduler::Wake). Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(UnixSeconds start) : now_(start) {}
  UnixSeconds Now() const override { return now_.load(); }
  void Set(UnixSeconds t) { now_.store(t); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<UnixSeconds> now_;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_CLOCK_H_
