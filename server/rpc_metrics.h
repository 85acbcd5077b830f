// Per-method RPC metrics (Prometheus, through prometheus-cpp): a server
// interceptor counts every call by service, method and status code and
// observes how long it took, from its arrival to its status (for a stream:
// how long it was open). Names and labels in docs/operations.md.
//
// Labels are bounded: a method the server does not serve (any path a client
// sends) is counted as service and method "unknown".
//
// Thread-safety: thread-safe; calls are counted from any gRPC thread.
#ifndef SEGMENTS_SERVER_RPC_METRICS_H_
#define SEGMENTS_SERVER_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace segments {

class RpcMetrics {
 public:
  // Registers its families in `registry`. `services`: the full names of the
  // services whose methods get labels of their own (their descriptors must
  // be in the generated pool).
  RpcMetrics(prometheus::Registry& registry,
             const std::vector<std::string>& services);

  // What a call's metrics are recorded under; `method` is gRPC's
  // "/package.Service/Method".
  struct Method;
  Method& Find(const char* method) const;
  // Counts one finished call of `method` with status `code`, `seconds` long.
  void Record(Method& method, grpc::StatusCode code, double seconds);

  // For ServerBuilder::SetInterceptorCreators; the factory must not outlive
  // this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // Status codes are 0..16 (grpc::StatusCode).
  static constexpr int kCodes = 17;

 private:
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  // Every method served, by path, and the "unknown" one; constant after
  // construction (the series each holds are created on first use).
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_;
  std::unique_ptr<Method> unknown_;
};

struct RpcMetrics::Method {
  std::string service;
  std::string name;
  std::string type;  // unary, server_stream, client_stream, bidi_stream
  // Created on the first call ending with that code (Family::Add returns
  // the same series to every caller that races for it).
  std::atomic<prometheus::Counter*> handled[kCodes] = {};
  std::atomic<prometheus::Histogram*> seconds[kCodes] = {};
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_RPC_METRICS_H_
