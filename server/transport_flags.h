// Command-line flags of the transport limits (server/transport_limits.h),
// for the segments-server binary.
#ifndef SEGMENTS_SERVER_TRANSPORT_FLAGS_H_
#define SEGMENTS_SERVER_TRANSPORT_FLAGS_H_

#include "absl/status/statusor.h"
#include "server/transport_limits.h"

namespace segments {

// The limits the flags set; an error names a flag out of range.
absl::StatusOr<TransportLimits> TransportLimitsFromFlags();

}  // namespace segments

#endif  // SEGMENTS_SERVER_TRANSPORT_FLAGS_H_
