// A cached server data directory with many small workspaces (issue 16's
// 10,000 workspaces of 1,000 contacts and 5 segments), for
// bench_workspaces. Cached under BenchCacheDir() like the other datasets
// (sqlite_dataset.h) and rebuilt when its marker is missing.
//
// Workspace i (0-based) has the API key ManyWorkspacesKey(i), the PRO plan
// (every rule family), generated contacts
// [i * contacts, (i + 1) * contacts) of ContactGenerator (so workspaces hold
// different data) and SegmentGenerator's segments 0..segments-1, with
// segment ids 1..segments.
//
// Thread-safety: none; call from one thread (benchmark setup).
#ifndef SEGMENTS_BENCH_MANY_WORKSPACES_DATASET_H_
#define SEGMENTS_BENCH_MANY_WORKSPACES_DATASET_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "bench/sqlite_dataset.h"

namespace segments::bench {

// "sk_" followed by 64 hex digits spelling `index`.
std::string ManyWorkspacesKey(size_t index);

// The data directory of `workspaces` workspaces as described above.
absl::StatusOr<CachedDataset> EnsureManyWorkspacesDataset(size_t workspaces,
                                                          size_t contacts,
                                                          size_t segments);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_MANY_WORKSPACES_DATASET_H_
