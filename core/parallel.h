// Two independent pieces of work at once, for the big writes (a batch of
// thousands of contacts) that would otherwise keep one core busy while the
// other idles. Starting a thread costs tens of microseconds, so callers use
// it only above kParallelMinItems items.
#ifndef SEGMENTS_CORE_PARALLEL_H_
#define SEGMENTS_CORE_PARALLEL_H_

#include <cstddef>
#include <system_error>
#include <thread>

namespace segments {

// Below this many items a write runs on one thread.
inline constexpr size_t kParallelMinItems = 1024;

// Runs `first` on the calling thread and `second` on a new thread; returns
// when both are done. The two must not touch the same data, except to read
// what neither writes. Locks the caller holds cover `second` too: it ends
// before this returns. When no thread can be started (the process is at its
// limit), both run here, one after the other.
template <typename First, typename Second>
void RunConcurrently(First&& first, Second&& second) {
  std::thread other;
  try {
    other = std::thread([&second] { second(); });
  } catch (const std::system_error&) {
    first();
    second();
    return;
  }
  first();
  other.join();
}

}  // namespace segments

#endif  // SEGMENTS_CORE_PARALLEL_H_
