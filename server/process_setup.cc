#include "server/process_setup.h"

#include <malloc.h>
#include <sys/resource.h>

#include "absl/synchronization/mutex.h"

namespace segments {

// A batch of 10,000 contacts allocates a few blocks of megabytes each (the
// request's arena, the write's membership changes, the SQLite pages). By
// default glibc maps such blocks afresh and unmaps them on free, or trims
// the heap back to the system, so every batch pays its page faults again:
// about a tenth of a batch's time at 1M contacts (docs/benchmarks.md). Kept
// in the heap, freed blocks are reused warm; the cost is up to this much
// free memory held between batches.
constexpr int kMmapThresholdBytes = 32 << 20;  // glibc's maximum
constexpr int kTrimThresholdBytes = 256 << 20;

void ConfigureProcessForServing() {
  // Abseil's mutex deadlock detection (on in Debian's build) takes a
  // process-wide lock on every Mutex acquisition: a contention point for the
  // handler threads, and a fifth of an in-process count's time.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
  RaiseDescriptorLimit();
}

void RaiseDescriptorLimit() {
  // Every connection is a file descriptor; the usual soft limit of 1,024 is
  // reached by a thousand idle clients, while the hard limit is often far
  // higher. Raising the soft limit needs no privilege.
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace segments
