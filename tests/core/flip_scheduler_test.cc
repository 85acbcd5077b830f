// FlipScheduler: one timer thread that runs each task once the clock reads
// its due moment. With a FakeClock the thread must be woken after the clock
// moves (Wake); with the SystemClock it wakes by itself, to the sub-second.
// Waits are bounded: a task that never runs fails the test after kPatience,
// never hangs it.
#include "core/time/flip_scheduler.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

constexpr UnixSeconds kNow = 1'800'000'000;
// How long a test waits for something that must happen.
constexpr absl::Duration kPatience = absl::Seconds(5);
// Less than the thread's longest sleep (1 s) with something queued: a task
// that runs within this after Wake or Schedule was woken by it, not by the
// sleep's end.
constexpr absl::Duration kPrompt = absl::Milliseconds(600);

// Runs of a task, recorded thread-safely.
class Recorder {
 public:
  void Record(int what) {
    absl::MutexLock l(&mu_);
    runs_.push_back(what);
  }
  std::vector<int> runs() const {
    absl::MutexLock l(&mu_);
    return runs_;
  }
  // Waits until at least `n` runs were recorded; false after kPatience.
  bool AwaitRuns(size_t n) const {
    absl::MutexLock l(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return runs_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> runs_ ABSL_GUARDED_BY(mu_);
};

TEST(FlipSchedulerTest, RunsATaskOnceTheFakeClockReadsItsDueMoment) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId id = scheduler.Add([&] { rec.Record(1); });
  scheduler.Schedule(id, kNow + 100);
  // Not due yet: the thread sleeps (and rereads the clock every second).
  absl::SleepFor(absl::Milliseconds(100));
  clock.Set(kNow + 99);
  scheduler.Wake();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_THAT(rec.runs(), ::testing::IsEmpty());
  EXPECT_EQ(scheduler.runs(), 0u);

  clock.Set(kNow + 100);
  const absl::Time woken = absl::Now();
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(1));
  EXPECT_LT(absl::Now() - woken, kPrompt);
  // Once: running unschedules it.
  clock.Advance(1000);
  scheduler.Wake();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(1));
  EXPECT_EQ(scheduler.runs(), 1u);
  scheduler.Remove(id);
}

TEST(FlipSchedulerTest, RunsATaskAtOnceWhenItIsAlreadyDue) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId id = scheduler.Add([&] { rec.Record(1); });
  scheduler.Schedule(id, kNow - 5);
  ASSERT_TRUE(rec.AwaitRuns(1));
  scheduler.Remove(id);
}

// The SystemClock: due 1-2 s ahead (the start of the second after next), the
// task must not run before that second begins, and must run well within a
// second after (SPEC §6: within 1 s of the flip).
TEST(FlipSchedulerTest, RunsATaskWhenTheSystemClockReachesItsSecond) {
  SystemClock clock;
  FlipScheduler scheduler(&clock);
  const UnixSeconds due = clock.Now() + 2;
  absl::Mutex mu;
  absl::Time ran_at = absl::InfinitePast();
  absl::Notification ran;
  const FlipScheduler::TaskId id = scheduler.Add([&] {
    {
      absl::MutexLock l(&mu);
      ran_at = absl::Now();
    }
    ran.Notify();
  });
  scheduler.Schedule(id, due);
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kPatience));
  absl::MutexLock l(&mu);
  const absl::Duration lag = ran_at - absl::FromUnixSeconds(due);
  EXPECT_GE(lag, absl::ZeroDuration()) << "ran before its second";
  EXPECT_LT(lag, absl::Seconds(1));
  std::printf("FlipScheduler with SystemClock: ran %s after its second\n",
              absl::FormatDuration(lag).c_str());
  scheduler.Remove(id);
}

TEST(FlipSchedulerTest, AnEarlierScheduleWakesTheSleepingThread) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId late = scheduler.Add([&] { rec.Record(1); });
  const FlipScheduler::TaskId early = scheduler.Add([&] { rec.Record(2); });
  scheduler.Schedule(late, kNow + 3600);
  absl::SleepFor(absl::Milliseconds(100));  // the thread is asleep on `late`
  const absl::Time scheduled = absl::Now();
  scheduler.Schedule(early, kNow);  // due now: a new head
  ASSERT_TRUE(rec.AwaitRuns(1));
  EXPECT_LT(absl::Now() - scheduled, kPrompt);
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(2));
  scheduler.Remove(late);
  scheduler.Remove(early);
}

TEST(FlipSchedulerTest, RescheduleMovesTheDueMomentBothWays) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId a = scheduler.Add([&] { rec.Record(1); });
  const FlipScheduler::TaskId sentinel = scheduler.Add([&] { rec.Record(9); });
  scheduler.Schedule(a, kNow + 10);
  scheduler.Schedule(a, kNow + 30);  // later: replaces kNow + 10
  scheduler.Schedule(sentinel, kNow + 20);
  clock.Set(kNow + 20);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(1));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(9));
  clock.Set(kNow + 30);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(2));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(9, 1));
  scheduler.Remove(a);
  scheduler.Remove(sentinel);
}

TEST(FlipSchedulerTest, NulloptUnschedules) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId a = scheduler.Add([&] { rec.Record(1); });
  const FlipScheduler::TaskId sentinel = scheduler.Add([&] { rec.Record(9); });
  scheduler.Schedule(a, kNow + 10);
  scheduler.Schedule(a, std::nullopt);
  // The sentinel is due after a's old moment: once it has run, the thread
  // has passed that moment.
  scheduler.Schedule(sentinel, kNow + 11);
  clock.Set(kNow + 11);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(1));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(9));
  EXPECT_EQ(scheduler.runs(), 1u);
  // Scheduled again, it runs.
  scheduler.Schedule(a, kNow + 11);
  ASSERT_TRUE(rec.AwaitRuns(2));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(9, 1));
  scheduler.Remove(a);
  scheduler.Remove(sentinel);
}

TEST(FlipSchedulerTest, RemoveWaitsForARunningTaskWhichNeverRunsAgain) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> runs{0};
  const FlipScheduler::TaskId id = scheduler.Add([&] {
    running.fetch_add(1);
    runs.fetch_add(1);
    started.Notify();
    release.WaitForNotificationWithTimeout(kPatience);
    running.fetch_sub(1);
  });
  scheduler.Schedule(id, kNow);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kPatience));

  std::atomic<bool> removed{false};
  std::thread remover([&] {
    scheduler.Remove(id);
    // When Remove returns, the task is not running.
    EXPECT_EQ(running.load(), 0);
    removed.store(true);
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(removed.load()) << "Remove returned while its task ran";
  release.Notify();
  remover.join();
  EXPECT_TRUE(removed.load());

  // Scheduling a removed task does nothing; nothing else runs it.
  scheduler.Schedule(id, kNow);
  Recorder rec;
  const FlipScheduler::TaskId sentinel = scheduler.Add([&] { rec.Record(9); });
  scheduler.Schedule(sentinel, kNow + 1);
  clock.Advance(1);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(1));
  EXPECT_EQ(runs.load(), 1);
  scheduler.Remove(sentinel);
}

TEST(FlipSchedulerTest, RemovingAQueuedTaskKeepsItFromRunning) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  const FlipScheduler::TaskId a = scheduler.Add([&] { rec.Record(1); });
  const FlipScheduler::TaskId sentinel = scheduler.Add([&] { rec.Record(9); });
  scheduler.Schedule(a, kNow + 5);
  scheduler.Schedule(sentinel, kNow + 6);
  scheduler.Remove(a);
  clock.Set(kNow + 6);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(1));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(9));
  scheduler.Remove(sentinel);
}

TEST(FlipSchedulerTest, ManyTasksRunInDueOrder) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  constexpr int kTasks = 200;
  std::vector<int> dues(kTasks);
  for (int i = 0; i < kTasks; ++i) dues[i] = i;
  std::shuffle(dues.begin(), dues.end(), std::mt19937(7));
  std::vector<FlipScheduler::TaskId> ids;
  for (int i = 0; i < kTasks; ++i) {
    const int due = dues[i];
    ids.push_back(scheduler.Add([&rec, due] { rec.Record(due); }));
    // Distinct moments, queued in shuffled order.
    scheduler.Schedule(ids.back(), kNow + 1 + due);
  }
  clock.Set(kNow + kTasks);  // every one is due
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(kTasks));
  std::vector<int> expected(kTasks);
  for (int i = 0; i < kTasks; ++i) expected[i] = i;
  EXPECT_EQ(rec.runs(), expected);
  EXPECT_EQ(scheduler.runs(), static_cast<uint64_t>(kTasks));
  for (FlipScheduler::TaskId id : ids) scheduler.Remove(id);
}

TEST(FlipSchedulerTest, OnlyTheTasksDueRunWhenTheClockMovesPartWay) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  std::vector<FlipScheduler::TaskId> ids;
  for (int i = 1; i <= 4; ++i) {
    ids.push_back(scheduler.Add([&rec, i] { rec.Record(i); }));
    scheduler.Schedule(ids.back(), kNow + 10 * i);
  }
  clock.Set(kNow + 25);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(2));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(1, 2));
  clock.Set(kNow + 40);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(4));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(1, 2, 3, 4));
  for (FlipScheduler::TaskId id : ids) scheduler.Remove(id);
}

TEST(FlipSchedulerTest, ATaskMayRescheduleItself) {
  FakeClock clock(kNow);
  FlipScheduler scheduler(&clock);
  Recorder rec;
  std::atomic<int> n{0};
  FlipScheduler::TaskId id = 0;
  // Each run asks to run again at the clock's now (due at once), five
  // times; then once more a minute later.
  id = scheduler.Add([&] {
    const int run = n.fetch_add(1) + 1;
    rec.Record(run);
    if (run < 5) {
      scheduler.Schedule(id, clock.Now());
    } else if (run == 5) {
      scheduler.Schedule(id, clock.Now() + 60);
    }
  });
  scheduler.Schedule(id, kNow);
  ASSERT_TRUE(rec.AwaitRuns(5));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(rec.runs().size(), 5u);
  clock.Advance(60);
  scheduler.Wake();
  ASSERT_TRUE(rec.AwaitRuns(6));
  EXPECT_THAT(rec.runs(), ::testing::ElementsAre(1, 2, 3, 4, 5, 6));
  scheduler.Remove(id);
}

TEST(FlipSchedulerTest, AnIdleSchedulerStopsPromptly) {
  FakeClock clock(kNow);
  const absl::Time start = absl::Now();
  {
    FlipScheduler scheduler(&clock);
    const FlipScheduler::TaskId id = scheduler.Add([] {});
    scheduler.Schedule(id, kNow + 3600);
    absl::SleepFor(absl::Milliseconds(20));
    scheduler.Remove(id);
  }
  EXPECT_LT(absl::Now() - start, kPrompt);
}

}  // namespace
}  // namespace segments
