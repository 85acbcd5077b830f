// Graceful shutdown without waiting on idle clients (issue 11, item 13).
//
// gRPC 1.51's Server::Shutdown(deadline) sends GOAWAY (existing connections
// take no new calls: clients see UNAVAILABLE), lets calls in flight finish,
// and then waits for every client to close its connection; an idle client
// that keeps it open delays the shutdown until the deadline, when every call
// still running is cancelled. CallCounter counts the calls still to finish;
// once none is left, DrainingShutdown closes the remaining connections at
// once (grpc_server_cancel_all_calls, which then cancels only long-lived
// reflection and health Watch streams).
#ifndef SEGMENTS_SERVER_DRAIN_H_
#define SEGMENTS_SERVER_DRAIN_H_

#include <grpcpp/server.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace segments {

// Counts the calls of this process's gRPC servers that are not finished:
// those gRPC core has received (channelz, from the arrival of their headers,
// so also calls whose request is still arriving or that wait for a thread),
// less the long-lived streams (any method outside segments.v1: reflection,
// health Watch), which an interceptor counts.
class CallCounter
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
  // Calls still to finish; may overcount for a moment, never undercounts a
  // call whose headers the server has read.
  int64_t Unfinished() const;
  // Calls gRPC has received that have not reached a handler yet.
  int64_t Pending() const;

 private:
  friend class CountingInterceptor;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> long_lived_{0};
};

// Calls gRPC core has received and not finished, over every server of the
// process (channelz); -1 if channelz is unavailable.
int64_t CoreCallsInFlight();

// Server::Shutdown(now + grace), closing idle connections as soon as no
// counted call is in flight. Blocks until the server has shut down.
void DrainingShutdown(grpc::Server& server, const CallCounter& calls,
                      absl::Duration grace);

}  // namespace segments

#endif  // SEGMENTS_SERVER_DRAIN_H_
