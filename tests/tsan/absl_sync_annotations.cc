// ThreadSanitizer builds only (SEGMENTS_TSAN): makes absl::Mutex and
// absl::CondVar visible to TSan although Debian's libabsl_synchronization
// is not built with it.
//
// Why: Abseil annotates its Mutex for TSan, but only when the library itself
// is compiled with -fsanitize=thread. Debian's is not, so to TSan a lock or
// unlock is a few atomics and a futex inside an uninstrumented library: no
// happens-before at all. Every piece of data an absl::Mutex guards then
// races in TSan's eyes, ours and gRPC's alike (gRPC's grpc_core::Mutex,
// gpr_mu and gpr_cv are absl::Mutex and absl::CondVar), and so does
// everything handed from thread to thread through absl::Notification or
// gRPC's locked queues. Wrapping only our own mutexes would leave gRPC's
// hand-offs (a call's arena, the end of Server::Shutdown) racing. (gRPC's
// lock-free hand-offs remain; tests/tsan/tsan.supp covers those.)
//
// How: this file defines the public absl::Mutex and absl::CondVar functions
// that lock, unlock or wait. Linked into the executable, these definitions
// interpose on the library's: the executable's own calls bind to them, and
// so do the shared libraries' (gRPC's, and libabsl_synchronization's own
// internal calls such as Notification's), which go through the PLT. Each
// tells TSan what happens with the __tsan_mutex_* hooks, exactly as
// absl/synchronization/mutex.cc does in a TSan build of Abseil, and calls
// the library's definition, found with dlsym(RTLD_NEXT).
//
// Between a pre_* and its post_* hook TSan ignores memory accesses and
// synchronization, so what the real function does inside (its own state
// words, the deadlock detector's graph, evaluating a Condition of another
// thread's) is not reported; the Condition's reads are covered by the lock.
//
// Not interposed: ~Mutex (absl's TSan build resets TSan's state for the
// address there; TSan resets it anyway when heap memory is freed, so only a
// Mutex on the stack keeps it, which can only hide a race, never invent
// one), and Signal/SignalAll, which need nothing: the waiter sees the
// signaller's writes through the mutex it takes again.
//
// The thread-safety annotations are absl's own (in its header), so clang's
// -Wthread-safety sees exactly what it sees without this file.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

// The mangled names below spell Debian's inline namespace.
#if !ABSL_OPTION_USE_INLINE_NAMESPACE
#error "absl_sync_annotations.cc expects Abseil's inline namespace"
#endif
#define SEGMENTS_ABSL_NS "7debian3"

namespace {

// The library's definition of `mangled`, whose signature is F. Dies if it
// is missing: the annotations must not silently stop working (e.g. with
// another Abseil, whose inline namespace differs).
template <typename F>
F Real(const char* mangled) {
  void* f = dlsym(RTLD_NEXT, mangled);
  if (f == nullptr) {
    std::fprintf(stderr,
                 "absl_sync_annotations: %s not found in the Abseil "
                 "libraries (%s); update tests/tsan/absl_sync_annotations.cc "
                 "for this Abseil\n",
                 mangled, dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

#define SEGMENTS_REAL(type, name) \
  static const auto real = Real<type>("_ZN4absl" SEGMENTS_ABSL_NS name)

// absl::Mutex's one data member is its state word; kMuWriter (mutex.cc) is
// set while a writer holds it. Await and CondVar::Wait keep the mode the
// caller holds, which they read there, as mutex.cc does.
constexpr intptr_t kMuWriter = 0x0008;
static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));

unsigned HeldFlags(const absl::Mutex* mu) {
  const intptr_t v = reinterpret_cast<const std::atomic<intptr_t>*>(mu)->load(
      std::memory_order_relaxed);
  return (v & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// Some of the library's functions call others of them (WaitWithTimeout
// calls WaitWithDeadline); those inner calls reach the definitions here
// too, but only the outermost one on a thread reports to TSan.
thread_local int t_depth = 0;
struct Outer {
  Outer() { ++t_depth; }
  ~Outer() { --t_depth; }
  Outer(const Outer&) = delete;
  Outer& operator=(const Outer&) = delete;
};

// Released to TSan before the real call may release the lock, and acquired
// again once it returns with the lock held.
template <typename Call>
auto Reacquiring(absl::Mutex* mu, Call call) {
  if (t_depth > 0) return call();
  const Outer outer;
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(mu, flags);
  auto result = call();
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

template <typename Call>
auto Locking(absl::Mutex* mu, unsigned flags, Call call) {
  if (t_depth > 0) return call();
  const Outer outer;
  __tsan_mutex_pre_lock(mu, flags);
  auto result = call();
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

template <typename Call>
bool TryLocking(absl::Mutex* mu, unsigned flags, Call call) {
  if (t_depth > 0) return call();
  const Outer outer;
  __tsan_mutex_pre_lock(mu, flags | __tsan_mutex_try_lock);
  const bool locked = call();
  __tsan_mutex_post_lock(mu,
                         flags | __tsan_mutex_try_lock |
                             (locked ? 0 : __tsan_mutex_try_lock_failed),
                         0);
  return locked;
}

template <typename Call>
void Unlocking(absl::Mutex* mu, unsigned flags, Call call) {
  if (t_depth > 0) return call();
  const Outer outer;
  __tsan_mutex_pre_unlock(mu, flags);
  call();
  __tsan_mutex_post_unlock(mu, flags);
}

constexpr unsigned kRead = __tsan_mutex_read_lock;
struct Void {};  // the result of a call that returns nothing

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using M = Mutex*;
using C = const Condition&;

void Mutex::Lock() {
  SEGMENTS_REAL(void (*)(M), "5Mutex4LockEv");
  Locking(this, 0, [&] { return real(this), Void{}; });
}

void Mutex::ReaderLock() {
  SEGMENTS_REAL(void (*)(M), "5Mutex10ReaderLockEv");
  Locking(this, kRead, [&] { return real(this), Void{}; });
}

bool Mutex::TryLock() {
  SEGMENTS_REAL(bool (*)(M), "5Mutex7TryLockEv");
  return TryLocking(this, 0, [&] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  SEGMENTS_REAL(bool (*)(M), "5Mutex13ReaderTryLockEv");
  return TryLocking(this, kRead, [&] { return real(this); });
}

void Mutex::Unlock() {
  SEGMENTS_REAL(void (*)(M), "5Mutex6UnlockEv");
  Unlocking(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  SEGMENTS_REAL(void (*)(M), "5Mutex12ReaderUnlockEv");
  Unlocking(this, kRead, [&] { real(this); });
}

void Mutex::LockWhen(C cond) {
  SEGMENTS_REAL(void (*)(M, C), "5Mutex8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, [&] { return real(this, cond), Void{}; });
}

void Mutex::ReaderLockWhen(C cond) {
  SEGMENTS_REAL(void (*)(M, C), "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, kRead, [&] { return real(this, cond), Void{}; });
}

bool Mutex::LockWhenWithTimeout(C cond, Duration timeout) {
  SEGMENTS_REAL(bool (*)(M, C, Duration),
                "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithTimeout(C cond, Duration timeout) {
  SEGMENTS_REAL(
      bool (*)(M, C, Duration),
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(C cond, Time deadline) {
  SEGMENTS_REAL(bool (*)(M, C, Time),
                "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithDeadline(C cond, Time deadline) {
  SEGMENTS_REAL(
      bool (*)(M, C, Time),
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, kRead, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(C cond) {
  SEGMENTS_REAL(void (*)(M, C), "5Mutex5AwaitERKNS0_9ConditionE");
  Reacquiring(this, [&] { return real(this, cond), Void{}; });
}

bool Mutex::AwaitWithTimeout(C cond, Duration timeout) {
  SEGMENTS_REAL(bool (*)(M, C, Duration),
                "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Reacquiring(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(C cond, Time deadline) {
  SEGMENTS_REAL(bool (*)(M, C, Time),
                "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Reacquiring(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(M mu) {
  SEGMENTS_REAL(void (*)(CondVar*, M), "7CondVar4WaitEPNS0_5MutexE");
  Reacquiring(mu, [&] { return real(this, mu), Void{}; });
}

bool CondVar::WaitWithTimeout(M mu, Duration timeout) {
  SEGMENTS_REAL(bool (*)(CondVar*, M, Duration),
                "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return Reacquiring(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(M mu, Time deadline) {
  SEGMENTS_REAL(bool (*)(CondVar*, M, Time),
                "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Reacquiring(mu, [&] { return real(this, mu, deadline); });
}

ABSL_NAMESPACE_END
}  // namespace absl
