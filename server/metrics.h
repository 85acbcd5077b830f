// Prometheus metrics over HTTP, on a port of their own (--metrics_listen; off
// by default), served by prometheus-cpp's exposer (civetweb) at /metrics in
// the text format. Every metric is listed in docs/operations.md: the RPC
// metrics of server/rpc_metrics.h, and those read at each scrape
// (server/engine_collector.h).
//
// Lifetime: created before the grpc::Server (its interceptor factory points
// here) and destroyed after it; Expose starts serving once the registry and
// the services exist, StopExposing stops before they go.
//
// Thread-safety: Expose and StopExposing from one thread (the server's
// start and shutdown); scrapes and interceptors run concurrently.
#ifndef SEGMENTS_SERVER_METRICS_H_
#define SEGMENTS_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/engine/registry.h"
#include "server/engine_collector.h"
#include "server/feed_service.h"
#include "server/rpc_metrics.h"

namespace segments {

// "host:port" for the exposer: a port alone binds 127.0.0.1 (metrics name
// no workspace, but tell how busy the server is: not for everyone).
// INVALID_ARGUMENT naming --metrics_listen when it is neither.
absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen);

class Metrics {
 public:
  // `services`: the full names of the services served (their methods are
  // the RPC metrics' labels).
  explicit Metrics(const std::vector<std::string>& services);
  ~Metrics();

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory() {
    return rpc_.InterceptorFactory();
  }

  // Serves /metrics on `listen` (see MetricsBindAddress; port 0 picks a
  // free one). `registry` and `feed` must stay until StopExposing.
  // UNAVAILABLE when the address cannot be bound.
  absl::Status Expose(const std::string& listen, const Registry* registry,
                      const FeedServiceImpl* feed);
  // The bound port; 0 before Expose.
  int port() const { return port_; }
  // Stops serving and waits for scrapes in progress. Idempotent.
  void StopExposing();

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  RpcMetrics rpc_;
  std::shared_ptr<EngineCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_METRICS_H_
