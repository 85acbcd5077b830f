#include "server/slow_call_interceptor.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"

namespace segments {
namespace {

using grpc::experimental::InterceptionHookPoints;

class SlowCallInterceptor : public grpc::experimental::Interceptor {
 public:
  SlowCallInterceptor(const char* method, absl::Duration threshold)
      : method_(method != nullptr ? method : ""),
        threshold_(threshold),
        start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      absl::Duration took = absl::Now() - start_;
      if (took >= threshold_) {
        grpc::Status status = methods->GetSendStatus();
        LogEvent(absl::StrCat("slow call: ", LogEscape(method_), " took ",
                              absl::FormatDuration(took), " (status ",
                              status.error_code(), ")"));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  const absl::Duration threshold_;
  const absl::Time start_;
};

}  // namespace

grpc::experimental::Interceptor*
SlowCallInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Streams (health Watch, reflection) may rightly stay open for long.
  if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
    return nullptr;
  }
  return new SlowCallInterceptor(info->method(), threshold_);
}

}  // namespace segments
