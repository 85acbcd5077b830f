// Two independent pieces of work at once, for the big writes (a batch of
// thousands of contacts) that would otherwise keep one core busy while the
// other idles. Starting a thread costs tens of microseconds, so callers use
// it only above kParallelMinItems items.
#ifndef SEGMENTS_CORE_BASE_PARALLEL_H_
#define SEGMENTS_CORE_BASE_PARALLEL_H_

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

// RunConcurrently when `concurrently`, else `first` then `second` on the
// calling thread: one code path for big and small work.
template <typename First, typename Second>
void RunBoth(bool concurrently, First&& first, Second&& second) {
  if (concurrently) {
    RunConcurrently(first, second);
  } else {
    first();
    second();
  }
}

// Calls `fn(begin, end, half)` for the two halves [0, n/2) and [n/2, n) of
// `n` items (half 0, then half 1): at once when `concurrently`, else one
// after the other on the calling thread.
template <typename Fn>
void ForEachHalf(size_t n, bool concurrently, Fn fn) {
  const size_t half = n / 2;
  RunBoth(
      concurrently, [&] { fn(0, half, 0); }, [&] { fn(half, n, 1); });
}

// Destroys `value` on a thread of its own, which nothing waits for: freeing
// a big write's contacts and changes (hundreds of thousands of allocations,
// milliseconds) then does not delay the reply. When no thread can be
// started, `value` is destroyed here.
template <typename T>
void DestroyInBackground(T value) {
  try {
    // The thread owns the lambda, and with it `value`, until it ends.
    std::thread([owned = std::move(value)] {}).detach();
  } catch (const std::system_error&) {
    // The lambda, and `value` with it, is gone already.
  }
}

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_PARALLEL_H_
