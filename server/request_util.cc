#include "server/request_util.h"

#include <chrono>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/paging.h"
#include "segments/v1/segments.pb.h"

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

absl::Status CheckNotCancelled(const grpc::ServerContextBase& context) {
  if (!context.IsCancelled()) return absl::OkStatus();
  if (context.deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded");
  }
  return absl::CancelledError("cancelled by the client");
}

absl::Status CheckDeadlineNotPassed(const grpc::ServerContextBase& context) {
  if (context.deadline() > std::chrono::system_clock::now()) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError("deadline exceeded");
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

absl::StatusOr<MemberPageRequest> CheckMemberPageRequest(
    uint64_t id, std::string_view id_field, int view, int32_t page_size,
    const std::string& page_token, const std::string& scope,
    size_t max_page_size) {
  Violations violations;
  CheckIdPresent(id, id_field, &violations);
  if (view < v1::MEMBER_VIEW_UNSPECIFIED || view > v1::FULL) {
    violations.Add("view", absl::StrCat("unknown member view ", view));
  }
  absl::StatusOr<size_t> size =
      ResolvePageSize(page_size, max_page_size, "page_size");
  absl::StatusOr<uint64_t> after =
      DecodePageToken(page_token, scope, "page_token");
  // Contact ids are 32-bit; a token beyond that was not issued by us.
  if (after.ok() && *after > std::numeric_limits<ContactId>::max()) {
    after = InvalidFieldError("page_token", "is not a valid page token");
  }
  RETURN_IF_ERROR(
      MergeViolations({size.status(), after.status()}, std::move(violations)));
  return MemberPageRequest{static_cast<ContactId>(*after), *size,
                           view == v1::FULL};
}

}  // namespace segments
