#include "server/engine_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "core/stats/engine_stats.h"
#include "storage/sqlite_error_counts.h"

namespace segments {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric Value(MetricType type, double value,
                   std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

MetricFamily Single(std::string name, std::string help, MetricType type,
                    double value) {
  MetricFamily f = Family(std::move(name), std::move(help), type);
  f.metric.push_back(Value(type, value));
  return f;
}

MetricFamily HistogramFamily(std::string name, std::string help,
                             const AtomicHistogram& histogram) {
  const AtomicHistogram::Snapshot s = histogram.Read();
  MetricFamily f =
      Family(std::move(name), std::move(help), MetricType::Histogram);
  ClientMetric m;
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < s.counts.size(); ++i) {
    cumulative += s.counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < s.upper_bounds.size()
                        ? s.upper_bounds[i]
                        : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  f.metric.push_back(std::move(m));
  return f;
}

void AddEngineStats(std::vector<MetricFamily>* out) {
  EngineStats& stats = EngineStats::Get();
  out->push_back(
      HistogramFamily("segments_commit_group_size",
                      "Contact writes committed together in one group commit",
                      stats.commit_group_size));
  out->push_back(
      HistogramFamily("segments_commit_duration_seconds",
                      "Seconds a write's store commit took (durable when done)",
                      stats.commit_seconds));
  out->push_back(Single("segments_commits_failed_total",
                        "Store commits that failed (the write changed nothing)",
                        MetricType::Counter,
                        static_cast<double>(stats.commits_failed.load())));
  out->push_back(
      Single("segments_time_flips_applied_total",
             "Memberships changed by time (relative date rules), applied",
             MetricType::Counter,
             static_cast<double>(stats.time_flips_applied.load())));
  out->push_back(HistogramFamily(
      "segments_time_flip_lag_seconds",
      "Seconds from the second a run of time flips fell due to its apply",
      stats.time_flip_lag_seconds));
}

void AddSqliteErrors(std::vector<MetricFamily>* out) {
  MetricFamily f = Family("segments_sqlite_errors_total",
                          "SQLite errors returned to storage, by result code",
                          MetricType::Counter);
  for (const auto& [rc, count] : SqliteErrorCounts()) {
    f.metric.push_back(Value(MetricType::Counter, static_cast<double>(count),
                             {{"code", SqlitePrimaryCodeName(rc)},
                              {"extended_code", std::to_string(rc)}}));
  }
  out->push_back(std::move(f));
}

void AddWorkspaces(const Registry& registry, std::vector<MetricFamily>* out) {
  const RegistryStats stats = registry.Stats();
  const std::vector<std::shared_ptr<Workspace>> open =
      registry.OpenWorkspaces();
  out->push_back(Single("segments_workspaces", "Workspaces in the catalog",
                        MetricType::Gauge,
                        static_cast<double>(stats.workspaces)));
  out->push_back(Single("segments_workspaces_open",
                        "Workspaces whose engine is open (in memory)",
                        MetricType::Gauge, static_cast<double>(open.size())));
  out->push_back(
      Single("segments_workspaces_open_memory_bytes",
             "Estimated memory of the open workspaces (what the budget counts)",
             MetricType::Gauge, static_cast<double>(stats.open_memory_bytes)));
  out->push_back(
      Single("segments_workspaces_failed",
             "Workspaces found not to load (at start or when first opened)",
             MetricType::Gauge, static_cast<double>(stats.failed)));
  out->push_back(Single("segments_workspaces_opened_total",
                        "Workspaces opened (loaded into memory) since start",
                        MetricType::Counter,
                        static_cast<double>(stats.opened_total)));
  out->push_back(
      Single("segments_workspaces_evicted_total",
             "Idle workspaces closed to stay within the open workspaces' "
             "budget (--max_open_workspaces, --workspace_memory_mb)",
             MetricType::Counter, static_cast<double>(stats.evicted_total)));
  SegmentStateCounts segments;
  for (const std::shared_ptr<Workspace>& w : open) {
    const SegmentStateCounts c = w->CountSegmentsByState();
    segments.active += c.active;
    segments.plan_restricted += c.plan_restricted;
  }
  MetricFamily f =
      Family("segments_segments", "Segments of the open workspaces, by state",
             MetricType::Gauge);
  f.metric.push_back(Value(MetricType::Gauge,
                           static_cast<double>(segments.active),
                           {{"state", "ACTIVE"}}));
  f.metric.push_back(Value(MetricType::Gauge,
                           static_cast<double>(segments.plan_restricted),
                           {{"state", "PLAN_RESTRICTED"}}));
  out->push_back(std::move(f));
}

void AddFeed(const FeedServiceImpl& feed, std::vector<MetricFamily>* out) {
  const FeedServiceImpl::StreamsStats stats = feed.Stats();
  out->push_back(Single("segments_feed_streams_open",
                        "Open WatchMembershipChanges streams",
                        MetricType::Gauge, static_cast<double>(stats.open)));
  out->push_back(Single(
      "segments_feed_stream_max_lag_changes",
      "Changes published that the furthest-behind open stream has not sent",
      MetricType::Gauge, static_cast<double>(stats.max_lag)));
}

// -1 when /proc cannot be read.
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return -1;
  return static_cast<double>(pages_resident) *
         static_cast<double>(sysconf(_SC_PAGESIZE));
}

double OpenDescriptors() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

double Threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stod(line.substr(8));
  }
  return -1;
}

void AddProcess(std::vector<MetricFamily>* out) {
  out->push_back(Single("process_resident_memory_bytes",
                        "Resident memory size in bytes", MetricType::Gauge,
                        ResidentBytes()));
  out->push_back(Single("process_open_fds", "Open file descriptors",
                        MetricType::Gauge, OpenDescriptors()));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out->push_back(
        Single("process_max_fds", "The soft limit of open file descriptors",
               MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  out->push_back(Single("process_threads", "Threads of the process",
                        MetricType::Gauge, Threads()));
}

}  // namespace

std::vector<MetricFamily> EngineCollector::Collect() const {
  std::vector<MetricFamily> out;
  AddEngineStats(&out);
  AddSqliteErrors(&out);
  AddWorkspaces(*registry_, &out);
  AddFeed(*feed_, &out);
  AddProcess(&out);
  return out;
}

}  // namespace segments
