#include "server/retry_pushback.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace segments {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RetryPushbackInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (std::optional<std::string> ms =
              RetryPushbackOf(methods->GetSendStatus())) {
        methods->GetSendTrailingMetadata()->emplace(kRetryPushbackTrailer,
                                                    *std::move(ms));
      }
    }
    methods->Proceed();
  }
};

}  // namespace

std::optional<std::string> RetryPushbackOf(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
      status.error_details().empty()) {
    return std::nullopt;
  }
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (!any.UnpackTo(&retry)) continue;
    const int64_t ms = retry.retry_delay().seconds() * 1000 +
                       retry.retry_delay().nanos() / 1'000'000;
    if (ms < 0) return std::nullopt;
    return absl::StrCat(ms);
  }
  return std::nullopt;
}

grpc::experimental::Interceptor*
RetryPushbackInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo*) {
  return new RetryPushbackInterceptor();
}

}  // namespace segments
