#include "server/drain.h"

#include <grpc/grpc.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace segments {

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(CallCounter* counter) : counter_(counter) {
    if (counter_ != nullptr) counter_->in_flight_.fetch_add(1);
  }
  ~CountingInterceptor() override {
    if (counter_ != nullptr) counter_->in_flight_.fetch_sub(1);
  }
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallCounter* const counter_;
};

grpc::experimental::Interceptor* CallCounter::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Reflection and health streams may stay open for ever: not counted.
  bool counted = info->method() != nullptr &&
                 absl::StartsWith(info->method(), "/segments.");
  return new CountingInterceptor(counted ? this : nullptr);
}

void DrainingShutdown(grpc::Server& server, const CallCounter& calls,
                      absl::Duration grace) {
  absl::Notification done;
  std::thread shutdown([&] {
    server.Shutdown(absl::ToChronoTime(absl::Now() + grace));
    done.Notify();
  });
  // A call accepted just before the GOAWAY may not have reached its handler
  // (and the counter) yet: the count must stay zero for a while.
  constexpr absl::Duration kPoll = absl::Milliseconds(5);
  constexpr int kQuietPolls = 4;
  int quiet = 0;
  while (!done.WaitForNotificationWithTimeout(kPoll)) {
    quiet = calls.in_flight() == 0 ? quiet + 1 : 0;
    if (quiet == kQuietPolls) {
      // Nothing left to finish: close the idle connections (and end
      // long-lived streams) instead of waiting for their clients.
      grpc_server_cancel_all_calls(server.c_server());
    }
  }
  shutdown.join();
}

}  // namespace segments
