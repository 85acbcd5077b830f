#include "server/rpc_metrics.h"

#include <google/protobuf/descriptor.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace segments {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The canonical names (grpc/status.h, google.rpc.Code), by value.
constexpr const char* kCodeNames[RpcMetrics::kCodes] = {"OK",
                                                        "CANCELLED",
                                                        "UNKNOWN",
                                                        "INVALID_ARGUMENT",
                                                        "DEADLINE_EXCEEDED",
                                                        "NOT_FOUND",
                                                        "ALREADY_EXISTS",
                                                        "PERMISSION_DENIED",
                                                        "RESOURCE_EXHAUSTED",
                                                        "FAILED_PRECONDITION",
                                                        "ABORTED",
                                                        "OUT_OF_RANGE",
                                                        "UNIMPLEMENTED",
                                                        "INTERNAL",
                                                        "UNAVAILABLE",
                                                        "DATA_LOSS",
                                                        "UNAUTHENTICATED"};

const char* TypeOf(const google::protobuf::MethodDescriptor& m) {
  if (m.client_streaming() && m.server_streaming()) return "bidi_stream";
  if (m.client_streaming()) return "client_stream";
  if (m.server_streaming()) return "server_stream";
  return "unary";
}

// Seconds are a histogram's base unit; calls take from microseconds (a
// count) to seconds (a batch of 10,000 contacts); streams stay open longer
// than the last bucket.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{
          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(RpcMetrics* metrics, RpcMetrics::Method* method)
      : metrics_(metrics),
        method_(method),
        start_(std::chrono::steady_clock::now()) {}

  // A call that ends without sending a status (its client went away) is
  // counted when gRPC deletes its interceptors, as CANCELLED.
  ~RpcMetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start_;
    metrics_->Record(*method_, code, took.count());
  }

  RpcMetrics* const metrics_;
  RpcMetrics::Method* const method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class RpcMetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(RpcMetrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(metrics_, &metrics_->Find(info->method()));
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(prometheus::Registry& registry,
                       const std::vector<std::string>& services)
    : handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by method and status "
                         "code (a stream counts when it ends)")
                   .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("grpc_server_handling_seconds")
                   .Help("Seconds from an RPC's arrival to its status, by "
                         "method and status code (for a stream: how long it "
                         "was open)")
                   .Register(registry)),
      unknown_(std::make_unique<Method>()) {
  unknown_->service = "unknown";
  unknown_->name = "unknown";
  unknown_->type = "unknown";
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& m = *service->method(i);
      auto method = std::make_unique<Method>();
      method->service = name;
      method->name = m.name();
      method->type = TypeOf(m);
      methods_.emplace(absl::StrCat("/", name, "/", m.name()),
                       std::move(method));
    }
  }
}

RpcMetrics::Method& RpcMetrics::Find(const char* method) const {
  if (method == nullptr) return *unknown_;
  auto it = methods_.find(method);
  return it == methods_.end() ? *unknown_ : *it->second;
}

void RpcMetrics::Record(Method& m, grpc::StatusCode code, double seconds) {
  int c = static_cast<int>(code);
  if (c < 0 || c >= kCodes) c = grpc::StatusCode::UNKNOWN;
  prometheus::Counter* handled = m.handled[c].load(std::memory_order_acquire);
  prometheus::Histogram* latency = m.seconds[c].load(std::memory_order_acquire);
  if (handled == nullptr || latency == nullptr) {
    const prometheus::Labels labels = {{"grpc_service", m.service},
                                       {"grpc_method", m.name},
                                       {"grpc_type", m.type},
                                       {"grpc_code", kCodeNames[c]}};
    handled = &handled_.Add(labels);
    latency = &seconds_.Add(labels, LatencyBuckets());
    m.handled[c].store(handled, std::memory_order_release);
    m.seconds[c].store(latency, std::memory_order_release);
  }
  handled->Increment();
  latency->Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<RpcMetricsInterceptorFactory>(this);
}

}  // namespace segments
