// The retry hint of an UNAVAILABLE answer, in the form gRPC's own retries
// read: the google.rpc.RetryInfo a status carries (core/base/errors.h
// WithRetryDelay: a workspace another node serves, docs/scale-out.md) is
// also sent as the trailer grpc-retry-pushback-ms (gRPC's retry design,
// A6), so a client with the retry policy of deploy/grpc/service_config.json
// waits that long before its next attempt instead of its own backoff: its
// five attempts then outlast a lease's ttl, and a failover is retried
// through rather than reported.
#ifndef SEGMENTS_SERVER_RETRY_PUSHBACK_H_
#define SEGMENTS_SERVER_RETRY_PUSHBACK_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

namespace segments {

inline constexpr char kRetryPushbackTrailer[] = "grpc-retry-pushback-ms";

// The trailer's value for `status`: the milliseconds of the RetryInfo in
// its details when it is UNAVAILABLE; nullopt otherwise.
std::optional<std::string> RetryPushbackOf(const grpc::Status& status);

class RetryPushbackInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_RETRY_PUSHBACK_H_
