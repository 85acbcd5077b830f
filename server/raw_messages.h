// Messages of the methods served raw (as grpc::ByteBuffer): parsed and
// serialized exactly as gRPC's own (de)serializer does for typed methods.
#ifndef SEGMENTS_SERVER_RAW_MESSAGES_H_
#define SEGMENTS_SERVER_RAW_MESSAGES_H_

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/byte_buffer.h>

namespace segments {

// Parses `bytes` into `message` (which may live on an arena); false when
// they are not a valid message of its type.
bool ParseRawMessage(const grpc::ByteBuffer& bytes,
                     google::protobuf::MessageLite* message);

// `message`, serialized into slices that every copy of the returned buffer
// shares (a copy is a reference, not a second serialization).
grpc::ByteBuffer SerializeRawMessage(
    const google::protobuf::MessageLite& message);

}  // namespace segments

#endif  // SEGMENTS_SERVER_RAW_MESSAGES_H_
