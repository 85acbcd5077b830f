#include "server/metrics.h"

#include <exception>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace segments {

absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen) {
  uint32_t port = 0;
  if (absl::SimpleAtoi(listen, &port) && port <= 65535) {
    return absl::StrCat("127.0.0.1:", port);
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_listen: expected host:port or a port, got \"",
                     listen, "\""));
  }
  return listen;
}

Metrics::Metrics(const std::vector<std::string>& services)
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_(*registry_, services) {}

Metrics::~Metrics() { StopExposing(); }

absl::Status Metrics::Expose(const std::string& listen,
                             const Registry* registry,
                             const FeedServiceImpl* feed) {
  absl::StatusOr<std::string> address = MetricsBindAddress(listen);
  if (!address.ok()) return address.status();
  collector_ = std::make_shared<EngineCollector>(registry, feed);
  try {
    // One thread: a scrape takes milliseconds, and Prometheus scrapes one
    // at a time.
    exposer_ = std::make_unique<prometheus::Exposer>(*address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", *address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(collector_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

void Metrics::StopExposing() {
  // The exposer's destructor stops civetweb, which waits for its threads.
  exposer_.reset();
  collector_.reset();
}

}  // namespace segments
