// On-disk datasets the benchmarks share between runs, cached under
// $SEGMENTS_BENCH_CACHE (default /tmp/segments-bench) and regenerated when
// missing:
// - a server data directory (SqliteCatalogStore + one PRO workspace whose key
//   is kBenchApiKey) holding N generated contacts and M generated segments,
//   for the gRPC, write and restart benchmarks;
// - a plain SQLite table of the same contacts, the baseline of the segment
//   build benchmark (see sql_baseline.h).
// A dataset is complete only when its marker file exists; a run interrupted
// while building leaves no marker and the next run starts over.
//
// Thread-safety: none; call from one thread (benchmark setup).
#ifndef SEGMENTS_BENCH_SQLITE_DATASET_H_
#define SEGMENTS_BENCH_SQLITE_DATASET_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segments::bench {

// The API key of the benchmark workspace ("sk_" + 64 hex digits).
inline constexpr char kBenchApiKey[] =
    "sk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string BenchCacheDir();

struct CachedDataset {
  std::string path;
  bool built_now = false;  // false: it was already in the cache
};

// The data directory with `contacts` contacts (ids 1..contacts, from
// ContactGenerator indexes 0..contacts-1) and SegmentGenerator's segments
// 0..segments-1, built through Registry/Workspace over SqliteCatalogStore
// (synchronous NORMAL while building).
absl::StatusOr<CachedDataset> EnsureServerDataset(size_t contacts,
                                                  size_t segments);

// A fresh, empty directory under the cache directory.
absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix);
// Copies a directory tree (e.g. a cached dataset into a scratch directory a
// benchmark may write to).
absl::Status CopyTree(const std::string& from, const std::string& to);
// Removes a directory tree; errors are ignored.
void RemoveTree(const std::string& path);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_SQLITE_DATASET_H_
