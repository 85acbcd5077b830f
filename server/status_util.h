// The one conversion from the core's absl::Status to a grpc::Status. Codes
// map one to one (absl's canonical codes are gRPC's); the message is kept;
// field violations and ErrorInfo carried in the status payload become a
// serialized google.rpc.Status (BadRequest, ErrorInfo details) in the binary
// error details, where gRPC clients and grpcurl look for them.
#ifndef SEGMENTS_SERVER_STATUS_UTIL_H_
#define SEGMENTS_SERVER_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace segments {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace segments

#endif  // SEGMENTS_SERVER_STATUS_UTIL_H_
