// The one conversion from the core's absl::Status to a grpc::Status. Codes
// map one to one (absl's canonical codes are gRPC's); the message is kept;
// field violations and ErrorInfo carried in the status payload become a
// serialized google.rpc.Status (BadRequest, ErrorInfo details) in the binary
// error details, where gRPC clients and grpcurl look for them.
//
// Every error fits the 8 KiB metadata limit that gRPC clients apply by
// default: the message is cut to kMaxErrorMessageBytes, each detail string to
// kMaxDetailFieldBytes, and field violations are listed only as long as the
// percent-encoded message plus the base64-encoded details stay within
// kMaxErrorMetadataBytes; one last violation (with an empty field) then says
// how many were left out.
//
// Failures inside the server (codes UNKNOWN, INTERNAL, UNAVAILABLE,
// DATA_LOSS, and any status marked as a storage failure) are answered with a
// fixed text that says what to do and an ErrorInfo (reason below, metadata
// error_id); their own message, which may name files and SQL, is logged
// (escaped, at most 20 lines a minute) as "error <error_id> ...".
#ifndef SEGMENTS_SERVER_STATUS_UTIL_H_
#define SEGMENTS_SERVER_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace segments {

inline constexpr size_t kMaxErrorMessageBytes = 512;
inline constexpr size_t kMaxDetailFieldBytes = 256;
// What grpc-message and grpc-status-details-bin may take on the wire
// together; the rest of the client's 8,192 bytes is left for the other
// headers (:status, content-type, grpc-status) and HPACK's 32 bytes per
// entry.
inline constexpr size_t kMaxErrorMetadataBytes = 6144;

// ErrorInfo reasons of failures inside the server.
inline constexpr char kReasonStorageUnavailable[] = "STORAGE_UNAVAILABLE";
inline constexpr char kReasonStorageBusy[] = "STORAGE_BUSY";
inline constexpr char kReasonDataCorrupt[] = "DATA_CORRUPT";
inline constexpr char kReasonStorageFailedPrecondition[] =
    "STORAGE_FAILED_PRECONDITION";
inline constexpr char kReasonInternal[] = "INTERNAL";

grpc::Status ToGrpcStatus(const absl::Status& status);

// The bytes `message` takes as grpc-message (percent-encoded).
size_t GrpcMessageWireBytes(std::string_view message);
// The bytes grpc-message and grpc-status-details-bin (base64) of `status`
// take on the wire.
size_t ErrorMetadataWireBytes(const grpc::Status& status);

}  // namespace segments

#endif  // SEGMENTS_SERVER_STATUS_UTIL_H_
