// Local stand-ins for the status macros that later Abseil releases ship
// (Abseil 20220623 has none). Named like theirs so a later switch is a rename.
#ifndef SEGMENTS_CORE_BASE_STATUS_MACROS_H_
#define SEGMENTS_CORE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SEGMENTS_CONCAT_INNER_(a, b) a##b
#define SEGMENTS_CONCAT_(a, b) SEGMENTS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::absl::Status segments_status_ = (expr);            \
    if (!segments_status_.ok()) return segments_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(lhs, expr)`: evaluates `expr` (an absl::StatusOr<T>);
// returns its status on error, else assigns the value to `lhs`, which may be
// a declaration (`auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(SEGMENTS_CONCAT_(statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // SEGMENTS_CORE_BASE_STATUS_MACROS_H_
