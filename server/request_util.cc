#include "server/request_util.h"

#include <chrono>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace segments {

void CheckIdPresent(uint64_t id, std::string_view path,
                    Violations* violations) {
  if (id == 0) violations->Add(std::string(path), "is required");
}

absl::StatusOr<ContactId> ToContactId(uint64_t id, std::string_view path) {
  if (id == 0) return InvalidFieldError(std::string(path), "is required");
  if (id > std::numeric_limits<ContactId>::max()) {
    return absl::NotFoundError(absl::StrCat("contact ", id, " not found"));
  }
  return static_cast<ContactId>(id);
}

absl::Status CheckNotCancelled(const grpc::ServerContext& context) {
  if (!context.IsCancelled()) return absl::OkStatus();
  if (context.deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded");
  }
  return absl::CancelledError("cancelled by the client");
}

absl::Status MergeViolations(std::initializer_list<absl::Status> statuses,
                             Violations violations) {
  for (const absl::Status& status : statuses) {
    if (status.ok()) continue;
    std::vector<FieldViolation> found = GetFieldViolations(status);
    if (status.code() != absl::StatusCode::kInvalidArgument || found.empty()) {
      return status;
    }
    for (FieldViolation& v : found) {
      violations.Add(std::move(v.field), std::move(v.description));
    }
  }
  return violations.ToStatus();
}

}  // namespace segments
