#include "server/parse_error_interceptor.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <string>

#include "absl/base/call_once.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/log.h"
#include "server/status_util.h"

namespace segments {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::Duration kSummaryInterval = absl::Minutes(1);

// Counts unparsable requests; logs the count at most once per interval.
class UnparsableCounter {
 public:
  void Record() {
    absl::MutexLock lock(&mu_);
    ++count_;
    absl::Time now = absl::Now();
    if (now < next_line_) return;
    LogEvent(absl::StrCat(
        count_, count_ == 1 ? " request" : " requests",
        " could not be parsed in the last minute (bad input, answered "
        "INVALID_ARGUMENT or UNAUTHENTICATED; at most one such line a "
        "minute)"));
    count_ = 0;
    next_line_ = now + kSummaryInterval;
  }

 private:
  absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_line_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

UnparsableCounter& Counter() {
  static UnparsableCounter* counter = new UnparsableCounter();
  return *counter;
}

google::protobuf::LogHandler* previous_handler = nullptr;

void FilterProtobufLog(google::protobuf::LogLevel level, const char* filename,
                       int line, const std::string& message) {
  // wire_format_lite.cc: "String field '...' contains invalid UTF-8 data when
  // parsing a protocol buffer. ..." One per bad request: counted instead.
  if (absl::StrContains(message, "when parsing a protocol buffer")) return;
  if (previous_handler != nullptr) {
    previous_handler(level, filename, line, message);
  }
}

class ParseErrorInterceptor : public grpc::experimental::Interceptor {
 public:
  ParseErrorInterceptor(const Authenticator* auth,
                        grpc::experimental::ServerRpcInfo* info)
      : auth_(auth),
        context_(info->server_context()),
        method_(info->method() ? info->method() : "") {}

  // The status gRPC gives a request it could not deserialize: INTERNAL from
  // a synchronous method, UNIMPLEMENTED (and no handler run) from one on the
  // callback API.
  static bool IsGrpcParseFailure(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::INTERNAL ||
           status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsable_ = true;
    }
    if (unparsable_ &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        IsGrpcParseFailure(methods->GetSendStatus())) {
      absl::Status authentication =
          auth_ != nullptr && context_ != nullptr
              ? auth_->AuthenticateMethod(*context_, method_)
              : absl::OkStatus();
      methods->ModifySendStatus(
          UnparsableRequestStatus(method_, authentication));
    }
    methods->Proceed();
  }

 private:
  const Authenticator* const auth_;
  grpc::ServerContextBase* const context_;
  const std::string method_;
  bool unparsable_ = false;
};

}  // namespace

grpc::Status UnparsableRequestStatus(std::string_view method,
                                     const absl::Status& authentication) {
  Counter().Record();
  if (!authentication.ok()) return ToGrpcStatus(authentication);
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      absl::StrCat("the request is not a valid message for ",
                   absl::string_view(method.data(), method.size()),
                   " (it does not parse; proto3 string fields must be "
                   "valid UTF-8)"));
}

void SilenceProtobufParseErrors() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    previous_handler = google::protobuf::SetLogHandler(&FilterProtobufLog);
  });
}

grpc::experimental::Interceptor*
ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ParseErrorInterceptor(auth_, info);
}

}  // namespace segments
