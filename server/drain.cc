#include "server/drain.h"

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>

#include <cstdint>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace segments {
namespace {

// The sum of `key`'s values ("key":"123") in a channelz JSON text.
int64_t SumOf(absl::string_view json, absl::string_view key) {
  std::string pattern = absl::StrCat("\"", key, "\":\"");
  int64_t sum = 0;
  for (size_t at = json.find(pattern); at != absl::string_view::npos;
       at = json.find(pattern, at)) {
    at += pattern.size();
    size_t end = json.find('"', at);
    int64_t value = 0;
    if (end != absl::string_view::npos &&
        absl::SimpleAtoi(json.substr(at, end - at), &value)) {
      sum += value;
    }
  }
  return sum;
}

}  // namespace

int64_t CoreCallsInFlight() {
  // Channelz (on by default) counts a call from the arrival of its headers,
  // before gRPC C++ hands it to a handler (or an interceptor sees it).
  char* json = grpc_channelz_get_servers(0);
  if (json == nullptr) return -1;
  absl::string_view text(json);
  int64_t in_flight = SumOf(text, "callsStarted") -
                      SumOf(text, "callsSucceeded") -
                      SumOf(text, "callsFailed");
  gpr_free(json);
  return in_flight;
}

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(CallCounter* counter, bool long_lived)
      : counter_(counter), long_lived_(long_lived) {
    counter_->in_flight_.fetch_add(1);
    if (long_lived_) counter_->long_lived_.fetch_add(1);
  }
  ~CountingInterceptor() override {
    counter_->in_flight_.fetch_sub(1);
    if (long_lived_) counter_->long_lived_.fetch_sub(1);
  }
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallCounter* const counter_;
  const bool long_lived_;
};

int64_t CallCounter::Unfinished() const {
  int64_t core = CoreCallsInFlight();
  // Without channelz: the calls that reached a handler.
  if (core < 0) return in_flight_.load() - long_lived_.load();
  // A long-lived stream not yet seen by the interceptor counts as
  // unfinished: that only delays.
  return core - long_lived_.load();
}

grpc::experimental::Interceptor* CallCounter::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Reflection, health and change feed streams may stay open for ever.
  bool long_lived =
      info->method() == nullptr ||
      !absl::StartsWith(info->method(), "/segments.") ||
      absl::StartsWith(info->method(), "/segments.v1.ChangeFeedService/");
  return new CountingInterceptor(this, long_lived);
}

int64_t CallCounter::Pending() const {
  int64_t core = CoreCallsInFlight();
  return core < 0 ? 0 : core - in_flight_.load();
}

void DrainingShutdown(grpc::Server& server, const CallCounter& calls,
                      absl::Duration grace) {
  absl::Time deadline = absl::Now() + grace;
  // Server::Shutdown cancels the calls gRPC has received but not yet handed
  // to a handler (the synchronous server takes only a few at a time): let
  // them reach their handlers first, for up to half the grace period.
  absl::Time pending_deadline = absl::Now() + grace / 2;
  while (calls.Pending() > 0 && absl::Now() < pending_deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  absl::Notification done;
  std::thread shutdown([&] {
    server.Shutdown(absl::ToChronoTime(deadline));
    done.Notify();
  });
  // A call accepted just before the GOAWAY may not be counted yet: the
  // count must stay zero for a while.
  constexpr absl::Duration kPoll = absl::Milliseconds(5);
  constexpr int kQuietPolls = 4;
  int quiet = 0;
  while (!done.WaitForNotificationWithTimeout(kPoll)) {
    quiet = calls.Unfinished() <= 0 ? quiet + 1 : 0;
    if (quiet == kQuietPolls) {
      // Nothing left to finish: close the idle connections (and end
      // long-lived streams) instead of waiting for their clients.
      grpc_server_cancel_all_calls(server.c_server());
    }
  }
  shutdown.join();
}

}  // namespace segments
