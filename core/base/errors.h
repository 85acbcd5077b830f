// Structured error details carried inside absl::Status payloads, so the core
// can say *which* field is wrong (google.rpc.BadRequest) or *why* a call is
// refused (google.rpc.ErrorInfo) without knowing protobuf. The server turns
// them into the standard google.rpc details in one place (ToGrpcStatus).
#ifndef SEGMENTS_CORE_BASE_ERRORS_H_
#define SEGMENTS_CORE_BASE_ERRORS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace segments {

// One bad field: `field` is a path such as "filter.conditions[2].values[0]".
struct FieldViolation {
  std::string field;
  std::string description;
  bool operator==(const FieldViolation& o) const {
    return field == o.field && description == o.description;
  }
};

// Collects every violation of a request, so all are reported at once.
class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
  }
  bool empty() const { return list_.empty(); }
  const std::vector<FieldViolation>& list() const { return list_; }
  // INVALID_ARGUMENT carrying every violation; OK when there are none.
  absl::Status ToStatus() const;

 private:
  std::vector<FieldViolation> list_;
};

// INVALID_ARGUMENT whose message names the first violation and whose payload
// carries all of them. REQUIRES: !violations.empty().
absl::Status InvalidArgumentError(
    const std::vector<FieldViolation>& violations);
// Shorthand for a single violation.
absl::Status InvalidFieldError(std::string field, std::string description);
// The violations carried by `status` (empty if none).
std::vector<FieldViolation> GetFieldViolations(const absl::Status& status);

// The google.rpc.ErrorInfo shape: a machine-readable reason and metadata.
struct ErrorInfo {
  std::string reason;
  std::map<std::string, std::string> metadata;
};
// Attaches `info` to `status` (which must not be OK) and returns it.
absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info);
// The ErrorInfo carried by `status`, if any (reason empty when none).
ErrorInfo GetErrorInfo(const absl::Status& status);

// What kind of storage failure a status from storage/ reports. Its message
// (file paths, SQL, SQLite's own text) is for the server log only: the
// server answers a storage failure with a fixed text for its kind
// (ToGrpcStatus) and reports kUnavailable to health checking.
enum class StorageFailure {
  kNone,         // not a storage failure
  kUnavailable,  // I/O error, disk full, cannot open, out of memory
  kBusy,         // a lock held by another connection did not come free
  kCorrupt,      // the file is damaged or not a database
  kOther,        // anything else the storage reports (e.g. file deleted)
};
// Marks `status` (which must not be OK) as a storage failure of `kind`.
absl::Status WithStorageFailure(absl::Status status, StorageFailure kind);
StorageFailure GetStorageFailure(const absl::Status& status);

// A retry hint, google.rpc.RetryInfo's retry_delay: how long the client
// should wait before it retries (the server copies it into the status
// details). Given to UNAVAILABLE errors that a retry will cure, such as a
// workspace another node serves (docs/scale-out.md).
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
std::optional<absl::Duration> GetRetryDelay(const absl::Status& status);

// UNAVAILABLE for a call to workspace `id` that this node does not serve
// now (another node holds its lease, this node lost or is handing it
// over): ErrorInfo reason WORKSPACE_NOT_OWNED with the workspace id, and a
// retry delay. `why` ends the message ("is served by another node").
absl::Status WorkspaceNotOwnedError(uint64_t id, std::string_view why,
                                    absl::Duration retry_delay);
inline constexpr char kReasonWorkspaceNotOwned[] = "WORKSPACE_NOT_OWNED";

// The domain name used in ErrorInfo.domain.
inline constexpr std::string_view kErrorDomain = "segments.v1";

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_ERRORS_H_
