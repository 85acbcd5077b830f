// StreamPump: tasks run on its threads in the order posted; TryPost refuses
// a task once its bound of waiting tasks is reached (the callback count's
// slow path answers RESOURCE_EXHAUSTED then); the destructor runs what is
// still queued.
#include "server/stream_pump.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(StreamPumpTest, TryPostRefusesOnceTheQueueIsFull) {
  absl::Notification started, release;
  std::vector<int> ran;  // written by the pump's one thread only
  {
    StreamPump pump(1);
    pump.Post([&] {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();  // the thread is busy; nothing waits
    EXPECT_TRUE(pump.TryPost([&] { ran.push_back(1); }, 2));
    EXPECT_TRUE(pump.TryPost([&] { ran.push_back(2); }, 2));
    EXPECT_FALSE(pump.TryPost([&] { ran.push_back(3); }, 2));
    release.Notify();
  }  // joins after running the queued tasks
  EXPECT_THAT(ran, ::testing::ElementsAre(1, 2));
}

TEST(StreamPumpTest, EveryPostedTaskRunsBeforeTheDestructorReturns) {
  std::atomic<int> ran{0};
  {
    StreamPump pump(3);
    for (int i = 0; i < 100; ++i) pump.Post([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace segments
