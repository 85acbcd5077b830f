// The invariants every stored record satisfies. They are checked before a
// write, so a record the core should never produce is refused (INTERNAL)
// instead of stored, and after a read, so a damaged row is reported
// (DATA_LOSS) instead of trusted. Each function returns "" when the record
// is fine, else a description of the first problem.
#ifndef SEGMENTS_STORAGE_RECORD_CHECKS_H_
#define SEGMENTS_STORAGE_RECORD_CHECKS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "core/model/contact.h"
#include "core/store/store.h"

namespace segments {

// SQLite integers are signed 64-bit; unsigned ids and sequence numbers must
// stay at or below this to round-trip.
inline constexpr uint64_t kMaxStoredUint = std::numeric_limits<int64_t>::max();

std::string ContactProblem(const Contact& c);
// Everything but the filter, which DecodeFilter checks on read.
std::string SegmentProblem(const SegmentRecord& s);
// Everything but the members' bytes (LoadSnapshot checks them).
std::string SnapshotProblem(const SnapshotRecord& s);
std::string ChangeProblem(const MembershipChange& c);
// ChangeProblem of every event of `run`, and an empty run.
std::string RunProblem(const ChangeRun& run);
std::string CountersProblem(const WorkspaceCounters& c);
std::string WorkspaceProblem(const WorkspaceRecord& w);

// Completes a workspaces row read into `loaded` (its id, name, key and
// create time set) with the row's raw plan and wake time columns: the plan,
// the wake time (a negative one is as good as any moment past: at once), and
// the record's first problem, "<where>: workspaces row id=<id>: ...".
void CompleteLoadedWorkspace(int64_t plan, std::optional<int64_t> wake_time,
                             std::string_view where,
                             LoadedWorkspaceRecord* loaded);

// What a store refuses (INTERNAL) before a write touches its database,
// because it could not be loaded back: the first problem of the rows of
// `write`...
absl::Status CheckWriteRows(const WorkspaceWrite& write);
// ... and of its change log and counters.
absl::Status CheckWriteChanges(const WorkspaceWrite& write);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_RECORD_CHECKS_H_
