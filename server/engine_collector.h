// The metrics that are read when Prometheus scrapes rather than counted as
// calls arrive: what the engine and storage count (core/stats/
// engine_stats.h, storage/sqlite_error_counts.h), what the registry and the
// change feed hold now (workspaces, segments by state, feed streams and
// their lag), and the process's resident memory, descriptors and threads.
// Names, types and labels in docs/operations.md.
//
// Thread-safety: Collect may run on any thread (the exporter's); `registry`
// and `feed` must outlive every Collect (server/metrics.h stops the
// exporter before they go).
#ifndef SEGMENTS_SERVER_ENGINE_COLLECTOR_H_
#define SEGMENTS_SERVER_ENGINE_COLLECTOR_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "core/engine/registry.h"
#include "server/feed_service.h"

namespace segments {

class EngineCollector final : public prometheus::Collectable {
 public:
  EngineCollector(const Registry* registry, const FeedServiceImpl* feed)
      : registry_(registry), feed_(feed) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Registry* const registry_;
  const FeedServiceImpl* const feed_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_ENGINE_COLLECTOR_H_
