// Turns "the request message did not parse" into INVALID_ARGUMENT.
//
// gRPC C++ answers a request it cannot deserialize with INTERNAL and an empty
// message before any handler runs. The usual cause is bad input, e.g. a
// proto3 string field holding invalid UTF-8, which protobuf refuses to parse;
// the SPEC wants bad input reported as INVALID_ARGUMENT, never as a server
// fault. This interceptor notices the failed parse (the received message is
// null after POST_RECV_MESSAGE) and rewrites only that call's status.
#ifndef SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
#define SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <string_view>

namespace segments {

// The status of a call whose request did not parse. Methods served raw parse
// their requests themselves and answer the same.
grpc::Status UnparsableRequestStatus(std::string_view method);

class ParseErrorInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
