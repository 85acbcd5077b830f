#include "server/transport_flags.h"

#include <cstdint>

#include "absl/flags/flag.h"
#include "absl/time/time.h"

namespace {
const segments::TransportLimits kDefaults;
}  // namespace

ABSL_FLAG(int64_t, memory_budget_mb,
          static_cast<int64_t>(kDefaults.memory_bytes >> 20),
          "Memory gRPC may use for connections, streams and their buffers, in "
          "MiB (a grpc::ResourceQuota); beyond it new streams are refused.");
ABSL_FLAG(int, max_threads, kDefaults.max_threads,
          "Most threads gRPC may start for handlers; a call finding none free "
          "fails with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_concurrent_streams, kDefaults.max_concurrent_streams,
          "Most calls open at once on one client connection.");
ABSL_FLAG(absl::Duration, max_connection_idle, kDefaults.max_connection_idle,
          "A client connection with no call for this long is closed.");
ABSL_FLAG(absl::Duration, max_connection_age, kDefaults.max_connection_age,
          "A client connection is closed after this long (clients reconnect); "
          "its calls get --max_connection_age_grace more.");
ABSL_FLAG(absl::Duration, max_connection_age_grace,
          kDefaults.max_connection_age_grace, "See --max_connection_age.");

namespace segments {

absl::StatusOr<TransportLimits> TransportLimitsFromFlags() {
  TransportLimits limits;
  int64_t memory_mb = absl::GetFlag(FLAGS_memory_budget_mb);
  if (memory_mb < 16 || memory_mb > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("--memory_budget_mb must be at least 16");
  }
  limits.memory_bytes = static_cast<size_t>(memory_mb) << 20;
  limits.max_threads = absl::GetFlag(FLAGS_max_threads);
  if (limits.max_threads < 4) {
    return absl::InvalidArgumentError("--max_threads must be at least 4");
  }
  limits.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  if (limits.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        "--max_concurrent_streams must be at least 1");
  }
  for (absl::Duration d : {absl::GetFlag(FLAGS_max_connection_idle),
                           absl::GetFlag(FLAGS_max_connection_age),
                           absl::GetFlag(FLAGS_max_connection_age_grace)}) {
    if (d < absl::Seconds(1)) {
      return absl::InvalidArgumentError(
          "--max_connection_idle, --max_connection_age and "
          "--max_connection_age_grace must be at least 1s");
    }
  }
  limits.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  limits.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  limits.max_connection_age_grace =
      absl::GetFlag(FLAGS_max_connection_age_grace);
  return limits;
}

}  // namespace segments
