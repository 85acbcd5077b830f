// Requests that do not parse: authenticated first, answered
// INVALID_ARGUMENT, and counted instead of logged.
//
// gRPC C++ answers a request it cannot deserialize with INTERNAL (on the
// callback API: UNIMPLEMENTED) and an empty message before any handler
// runs. The usual cause is bad input, e.g. a proto3 string field holding
// invalid UTF-8, which protobuf refuses to parse; the SPEC wants bad input
// reported as INVALID_ARGUMENT, never as a server fault. This interceptor
// notices the failed parse (the received message is null after
// POST_RECV_MESSAGE) and rewrites only that call's status.
//
// The key is checked before the parse error is reported: a caller without a
// valid key learns UNAUTHENTICATED, whatever it sent (issue 11). Protobuf's
// own log line for each such request ("[libprotobuf ERROR ...] String field
// ... contains invalid UTF-8 data when parsing") is dropped; instead the
// server logs at most one line a minute with how many requests did not parse.
#ifndef SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
#define SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <string_view>

#include "absl/status/status.h"
#include "server/auth.h"

namespace segments {

// The status of a call whose request did not parse, given the result of its
// authentication: that error if it failed, else INVALID_ARGUMENT. Counts the
// request for the summary line. Methods served raw parse their requests
// themselves and answer the same.
grpc::Status UnparsableRequestStatus(std::string_view method,
                                     const absl::Status& authentication);

// Drops protobuf's log lines about messages that fail to parse (others go
// to protobuf's default handler). Idempotent; thread-safe.
void SilenceProtobufParseErrors();

class ParseErrorInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `auth` is not owned and must outlive the server.
  explicit ParseErrorInterceptorFactory(const Authenticator* auth)
      : auth_(auth) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const Authenticator* const auth_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_PARSE_ERROR_INTERCEPTOR_H_
