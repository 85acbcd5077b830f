// gRPC server reflection (grpc.reflection.v1alpha), what grpcurl and the
// e2e client use, on gRPC's callback API: an open reflection stream holds no
// thread (gRPC 1.51's own ProtoServerReflection is a synchronous service, one
// thread per open stream; issue 11). It answers as ProtoServerReflection
// does, from the generated descriptor pool, with the same error codes; and
// every answer that holds a file declaring a service also holds the file of
// google.rpc.BadRequest and google.rpc.ErrorInfo (error_details.proto), the
// error details the services send (docs/api.md, "Errors"), so that a client
// that resolves a service by reflection can decode them.
//
// Thread-safety: immutable after construction; streams run concurrently.
#ifndef SEGMENTS_SERVER_REFLECTION_SERVICE_H_
#define SEGMENTS_SERVER_REFLECTION_SERVICE_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace segments {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `services`: the full names list_services answers.
  explicit ReflectionService(std::vector<std::string> services);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // The answer to one request (exposed for the reactor).
  void Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request,
      grpc::reflection::v1alpha::ServerReflectionResponse* response) const;

 private:
  const std::vector<std::string> services_;
  // Sent along with every service's file (see above); the files are in the
  // generated pool, never freed.
  const std::vector<const google::protobuf::FileDescriptor*>
      error_detail_files_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_REFLECTION_SERVICE_H_
