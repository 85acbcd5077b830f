#include "core/parallel.h"

#include <thread>

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

}  // namespace
}  // namespace segments
