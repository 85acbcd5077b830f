#include "core/engine/internal/write_queue.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments::engine {
namespace {

using ::testing::ElementsAre;

struct Write : QueuedWriter {
  int id = 0;
  int committed_in = -1;  // the group that committed it
};

// Records the groups a queue commits; the first group can be held until
// released, so that writers queue behind its leader.
class Recorder {
 public:
  void Commit(absl::Span<Write* const> group) {
    int index;
    {
      absl::MutexLock l(&mu_);
      index = static_cast<int>(groups_.size());
      std::vector<int> ids;
      for (Write* w : group) {
        ids.push_back(w->id);
        w->committed_in = index;
      }
      groups_.push_back(ids);
      active_ += 1;
      max_active_ = std::max(max_active_, active_);
    }
    if (index == 0) {
      first_started_.Notify();
      release_first_.WaitForNotification();
    }
    absl::MutexLock l(&mu_);
    active_ -= 1;
  }
  std::vector<std::vector<int>> groups() {
    absl::MutexLock l(&mu_);
    return groups_;
  }
  int max_active() {
    absl::MutexLock l(&mu_);
    return max_active_;
  }

  absl::Notification first_started_, release_first_;

 private:
  absl::Mutex mu_;
  std::vector<std::vector<int>> groups_;
  int active_ = 0, max_active_ = 0;
};

TEST(WriteQueue, AloneAWriterIsItsOwnGroup) {
  WriteQueue<Write> queue;
  Recorder recorder;
  recorder.release_first_.Notify();
  Write w;
  w.id = 7;
  queue.Submit(&w, [&](absl::Span<Write* const> g) { recorder.Commit(g); });
  EXPECT_THAT(recorder.groups(), ElementsAre(ElementsAre(7)));
  EXPECT_EQ(w.committed_in, 0);
}

TEST(WriteQueue, WritersQueuedBehindALeaderShareTheNextGroupInOrder) {
  WriteQueue<Write> queue;
  Recorder recorder;
  auto commit = [&](absl::Span<Write* const> g) { recorder.Commit(g); };
  Write first;
  first.id = 0;
  std::thread leader([&] { queue.Submit(&first, commit); });
  recorder.first_started_.WaitForNotification();
  // While the first group commits, ten writers queue one after another.
  constexpr int kQueued = 10;
  std::vector<Write> writes(kQueued);
  std::vector<std::thread> threads;
  std::atomic<int> returned{0};
  for (int i = 0; i < kQueued; ++i) {
    writes[i].id = i + 1;
    threads.emplace_back([&, i] {
      queue.Submit(&writes[i], commit);
      returned.fetch_add(1);
    });
    // Each one in line before the next starts, so the order is known.
    while (queue.size() < static_cast<size_t>(i + 2))
      absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(returned.load(), 0) << "a follower returned before its commit";
  recorder.release_first_.Notify();
  leader.join();
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(
      recorder.groups(),
      ElementsAre(ElementsAre(0), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)));
  for (const Write& w : writes) EXPECT_EQ(w.committed_in, 1);
  EXPECT_EQ(recorder.max_active(), 1) << "two leaders committed at once";
}

TEST(WriteQueue, EveryWriteIsCommittedOnceInBoundedGroups) {
  WriteQueue<Write> queue;
  Recorder recorder;
  recorder.release_first_.Notify();
  auto commit = [&](absl::Span<Write* const> g) { recorder.Commit(g); };
  constexpr int kThreads = 8, kEach = 200;
  std::vector<Write> writes(kThreads * kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Write& w = writes[t * kEach + i];
        w.id = t * kEach + i;
        queue.Submit(&w, commit);
        // Returned only once committed.
        EXPECT_GE(w.committed_in, 0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<int> seen(kThreads * kEach, 0);
  for (const std::vector<int>& group : recorder.groups()) {
    EXPECT_LE(group.size(), WriteQueue<Write>::kMaxGroupSize);
    for (int id : group) ++seen[id];
  }
  for (int count : seen) EXPECT_EQ(count, 1);
  EXPECT_EQ(recorder.max_active(), 1);
}

}  // namespace
}  // namespace segments::engine
