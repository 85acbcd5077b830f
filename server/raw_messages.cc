#include "server/raw_messages.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

namespace segments {

bool ParseRawMessage(const grpc::ByteBuffer& bytes,
                     google::protobuf::MessageLite* message) {
  // The reader wants a mutable buffer; the copy shares the slices.
  grpc::ByteBuffer buffer(bytes);
  return grpc::GenericDeserialize<grpc::ProtoBufferReader,
                                  google::protobuf::MessageLite>(&buffer,
                                                                 message)
      .ok();
}

grpc::ByteBuffer SerializeRawMessage(
    const google::protobuf::MessageLite& message) {
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  // Fails only for a message over 2 GiB, which no feed message comes near.
  (void)grpc::GenericSerialize<grpc::ProtoBufferWriter,
                               google::protobuf::MessageLite>(message, &buffer,
                                                              &own_buffer);
  return buffer;
}

}  // namespace segments
