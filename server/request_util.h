// Small checks shared by the handlers: ids that do not fit the core's types,
// cancelled calls, and merging the violations of several checks so a request
// reports all of them at once.
#ifndef SEGMENTS_SERVER_REQUEST_UTIL_H_
#define SEGMENTS_SERVER_REQUEST_UTIL_H_

#include <grpcpp/server_context.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/errors.h"
#include "core/model/contact.h"

namespace segments {

// Adds a violation at `path` when `id` is 0 (ids start at 1).
void CheckIdPresent(uint64_t id, std::string_view path, Violations* violations);

// A contact id from a request: 0 is INVALID_ARGUMENT at `path`; ids beyond
// 2^32-1 cannot exist (they are bitmap positions), so they are NOT_FOUND.
absl::StatusOr<ContactId> ToContactId(uint64_t id, std::string_view path);

// CANCELLED or DEADLINE_EXCEEDED when the call is over, so a handler does not
// start real work nobody waits for. Call before work, never after a write.
absl::Status CheckNotCancelled(const grpc::ServerContextBase& context);

// DEADLINE_EXCEEDED when the call's deadline has passed: a clock read. For
// the single-contact writes, which take a few hundred microseconds whatever
// the client does: CheckNotCancelled asks gRPC's completion queue (a poll,
// about 20 us, 5% of an UpdateContact; docs/decisions.md), and a
// cancellation is as likely to arrive just after the check as before it.
absl::Status CheckDeadlineNotPassed(const grpc::ServerContextBase& context);

// A member listing's request (ListSegmentMembers, ListAudienceSnapshotMembers),
// checked: the owner's id present at `id_field`, a known view, the page size
// within `max_page_size`, and a page token of `scope` for a 32-bit contact
// id. Every violation is reported at once.
struct MemberPageRequest {
  ContactId after = 0;
  size_t page_size = 0;
  bool full = false;  // view FULL
};
absl::StatusOr<MemberPageRequest> CheckMemberPageRequest(
    uint64_t id, std::string_view id_field, int view, int32_t page_size,
    const std::string& page_token, const std::string& scope,
    size_t max_page_size);

// Folds the field violations of every INVALID_ARGUMENT in `statuses` into
// `violations` and returns them as one status. A failed status that carries
// no violations is returned as is (first one wins).
absl::Status MergeViolations(std::initializer_list<absl::Status> statuses,
                             Violations violations);

}  // namespace segments

#endif  // SEGMENTS_SERVER_REQUEST_UTIL_H_
