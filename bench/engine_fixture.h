// Engine-only fixtures: a Workspace over a MemoryCatalogStore (no disk),
// loaded with the synthetic dataset through BatchUpsertContacts in chunks of
// 10,000, built once per process and shared by every benchmark of a binary.
//
// Thread-safety: EngineWorkspace is thread-safe (built once under a mutex);
// EnsureSegmentCount must not run concurrently with itself.
#ifndef SEGMENTS_BENCH_ENGINE_FIXTURE_H_
#define SEGMENTS_BENCH_ENGINE_FIXTURE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/engine/registry.h"
#include "core/engine/workspace.h"

namespace segments::bench {

inline constexpr size_t kLoadChunk = 10000;

// The positive number in environment variable `name`, else `fallback`
// (unset, not a number, or 0).
size_t EnvCount(const char* name, size_t fallback);

// The number of contacts the benchmarks load: SEGMENTS_BENCH_CONTACTS when
// set (e.g. 100000 for a quick run), else 1,000,000.
size_t BenchContacts();

// A FakeClock at kBenchNow shared by every fixture of the process.
const Clock* BenchClock();

// Upserts generated contacts [first, first + count) into `ws` in chunks of
// kLoadChunk.
absl::Status LoadContacts(Workspace& ws, uint64_t first, size_t count);

// Where an engine fixture commits.
enum class EngineStore {
  // MemoryCatalogStore (core/memory_store.h), the reference "engine only"
  // setup: a commit copies the contact rows into its std::map.
  kMemory,
  // A WorkspaceStore that accepts and drops every commit, to separate the
  // engine's own cost from the test store's (a diagnostic, not a setup the
  // service runs).
  kDiscard,
};

// A PRO workspace (every rule family allowed) holding `contacts` generated
// contacts and no segments yet. Built on first use, kept for the life of the
// process; progress goes to stderr.
Workspace& EngineWorkspace(size_t contacts,
                           EngineStore store = EngineStore::kMemory);

// Creates or deletes segments so that `ws` holds exactly segments 0..n-1 of
// SegmentGenerator (deleting from the newest). Returns their ids, ascending.
absl::StatusOr<std::vector<SegmentId>> EnsureSegmentCount(Workspace& ws,
                                                          size_t n);

// Seconds since `start` (steady clock), for progress messages.
double SecondsSince(int64_t start_ns);
int64_t NowNs();
// Writes a progress line to stderr ("[bench] ...").
void Progress(const std::string& message);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_ENGINE_FIXTURE_H_
