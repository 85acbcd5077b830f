#include "core/base/parallel.h"

#include <array>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(RunConcurrentlyTest, RunsBothTheSecondOnAnotherThread) {
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id first_on, second_on;
  int first_runs = 0, second_runs = 0;
  RunConcurrently(
      [&] {
        first_on = std::this_thread::get_id();
        ++first_runs;
      },
      [&] {
        second_on = std::this_thread::get_id();
        ++second_runs;
      });
  EXPECT_EQ(first_runs, 1);
  EXPECT_EQ(second_runs, 1);  // done when RunConcurrently returns
  EXPECT_EQ(first_on, caller);
  EXPECT_NE(second_on, caller);
}

TEST(ForEachHalfTest, CoversBothHalvesEitherWay) {
  for (bool concurrently : {false, true}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}}) {
      std::vector<int> seen(n, 0);
      std::array<std::pair<size_t, size_t>, 2> ranges;
      ForEachHalf(n, concurrently, [&](size_t begin, size_t end, size_t half) {
        ranges[half] = {begin, end};
        for (size_t i = begin; i < end; ++i) ++seen[i];
      });
      EXPECT_EQ(ranges[0], std::make_pair(size_t{0}, n / 2));
      EXPECT_EQ(ranges[1], std::make_pair(n / 2, n));
      EXPECT_EQ(seen, std::vector<int>(n, 1)) << "n " << n;
    }
  }
}

// Records, once destroyed for good (not as a moved-from shell), on which
// thread that happened.
class DestructionProbe {
 public:
  explicit DestructionProbe(absl::Notification* done, std::thread::id* on)
      : done_(done), on_(on) {}
  DestructionProbe(DestructionProbe&& o) noexcept
      : done_(std::exchange(o.done_, nullptr)), on_(o.on_) {}
  ~DestructionProbe() {
    if (done_ == nullptr) return;
    *on_ = std::this_thread::get_id();
    done_->Notify();
  }

 private:
  absl::Notification* done_;
  std::thread::id* on_;
};

TEST(DestroyInBackgroundTest, DestroysTheValueOnAnotherThread) {
  absl::Notification destroyed;
  std::thread::id on;
  std::vector<DestructionProbe> value;
  value.emplace_back(&destroyed, &on);
  DestroyInBackground(std::move(value));
  ASSERT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_NE(on, std::this_thread::get_id());
}

}  // namespace
}  // namespace segments
