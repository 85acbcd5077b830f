// Graceful shutdown without waiting on idle clients (issue 11, item 13).
//
// gRPC 1.51's Server::Shutdown(deadline) sends GOAWAY (existing connections
// take no new calls: clients see UNAVAILABLE), lets calls in flight finish,
// and then waits for every client to close its connection; an idle client
// that keeps it open delays the shutdown until the deadline, when every call
// still running is cancelled. CallCounter counts the calls of the segments
// services; once none is left, DrainingShutdown closes the remaining
// connections at once (grpc_server_cancel_all_calls, which then cancels
// only long-lived reflection and health Watch streams).
#ifndef SEGMENTS_SERVER_DRAIN_H_
#define SEGMENTS_SERVER_DRAIN_H_

#include <grpcpp/server.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>

#include "absl/time/time.h"

namespace segments {

// Counts calls of the segments.v1 services from the moment their handler is
// chosen until they end.
class CallCounter
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
  int in_flight() const { return in_flight_.load(); }

 private:
  friend class CountingInterceptor;
  std::atomic<int> in_flight_{0};
};

// Server::Shutdown(now + grace), closing idle connections as soon as no
// counted call is in flight. Blocks until the server has shut down.
void DrainingShutdown(grpc::Server& server, const CallCounter& calls,
                      absl::Duration grace);

}  // namespace segments

#endif  // SEGMENTS_SERVER_DRAIN_H_
