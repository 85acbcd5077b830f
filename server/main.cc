// segments-server: the gRPC segments service over a SQLite data directory
// (or a PostgreSQL database: --store postgres://...).
//
//   segments-server [--listen=127.0.0.1:50051] [--data_dir=./data]
//                   [--store=postgres://user@host/db [--node_id=NAME
//                    --lease_ttl_ms=10000]]
//                   [--threads=N] [--synchronous=FULL|NORMAL]
//                   [--admin_key_file=PATH] [--tls_cert_file=PEM
//                   --tls_key_file=PEM]
//                   [--demo]
//
// The admin key comes from --admin_key_file or the SEGMENTS_ADMIN_KEY
// environment variable; without either, admin calls are refused. SIGTERM or
// SIGINT stops accepting calls, lets those in flight finish (bounded by
// --shutdown_grace) and closes the databases.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/base/limits.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/process_setup.h"
#include "server/server.h"
#include "server/transport_flags.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on (host:port).");
ABSL_FLAG(std::string, data_dir, "./data",
          "Directory holding all state (created if missing).");
ABSL_FLAG(std::string, store, "",
          "Where the data lives: empty (SQLite files in --data_dir, the "
          "default) or a PostgreSQL URI, postgres://user@host/db "
          "(docs/scale-out.md).");
ABSL_FLAG(std::string, node_id, "",
          "With --store postgres://...: this node's name among the nodes "
          "over one database (unique per node, e.g. the host name). Set, the "
          "node serves only the workspaces it leases (docs/scale-out.md); "
          "empty (the default): one node, no leases.");
ABSL_FLAG(int64_t, lease_ttl_ms, 10000,
          "With --node_id: how long a workspace's lease lasts unrenewed, in "
          "milliseconds (renewed every third of it). A dead node's "
          "workspaces move after at most this long.");
ABSL_FLAG(int, threads, 0,
          "Completion queues of the gRPC server; 0 means one per core.");
ABSL_FLAG(
    std::string, synchronous, "FULL",
    "SQLite synchronous mode: FULL (an OK reply survives power loss) or NORMAL "
    "(survives a crash of the process; faster).");
ABSL_FLAG(std::string, admin_key_file, "",
          "File holding the admin key (else the SEGMENTS_ADMIN_KEY environment "
          "variable; with neither, admin calls are refused).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; enables TLS with --tls_key_file.");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key; enables TLS with --tls_cert_file.");
ABSL_FLAG(
    bool, demo, false,
    "Create a demo workspace (key sk_demo_local_only: for local use only) with "
    "synthetic contacts and segments, and print grpcurl examples.");
ABSL_FLAG(std::string, metrics_listen, "",
          "Serve Prometheus metrics at http://<this>/metrics: host:port, or a "
          "port alone for 127.0.0.1 (empty: no metrics; docs/operations.md).");
ABSL_FLAG(int64_t, max_open_workspaces,
          static_cast<int64_t>(segments::RegistryOptions().max_open_workspaces),
          "Workspaces open (in memory) at once; beyond it the least recently "
          "used idle ones are closed. Each holds about 7 file descriptors "
          "(docs/operations.md).");
ABSL_FLAG(
    int64_t, workspace_memory_mb,
    static_cast<int64_t>(segments::RegistryOptions().memory_budget_bytes >> 20),
    "Memory budget of the open workspaces, in MiB; beyond it the least "
    "recently used idle ones are closed.");
ABSL_FLAG(absl::Duration, slow_call_threshold, absl::Seconds(1),
          "Log a line for each call taking at least this long (0: never).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish.");
ABSL_FLAG(absl::Duration, feed_retention, absl::Hours(7 * 24),
          "How long the membership change log is kept for the change feed.");
ABSL_FLAG(int, max_feed_streams, 100,
          "Change feed streams one workspace may have open at once.");
ABSL_FLAG(absl::Duration, feed_stall_timeout, absl::Seconds(30),
          "A change feed stream whose message waited this long for its "
          "client while changes went on is ended (RESOURCE_EXHAUSTED).");
ABSL_FLAG(int64_t, max_snapshots,
          static_cast<int64_t>(segments::Limits().max_snapshots),
          "Most audience snapshots a workspace holds at once (expired ones "
          "not counted); one more is RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, max_snapshot_ttl,
          absl::Seconds(segments::Limits().max_snapshot_ttl_seconds),
          "How far ahead an audience snapshot may expire (the default ttl, "
          "7 days, is lowered to it when longer).");

namespace segments {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Before any thread exists: block SIGTERM and SIGINT in every thread (gRPC's
// inherit the mask), so only the sigwait in Run receives them. A shell that
// starts us in the background may have set SIGINT to "ignore", which would
// discard it even while blocked, so the default action is restored first.
void BlockStopSignals() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int Fail(absl::string_view message) {
  LogEvent(absl::StrCat(
      "cannot start: ",
      LogEscape(std::string_view(message.data(), message.size()))));
  return 1;
}

// The snapshot limits (the others keep their SPEC defaults).
absl::Status SnapshotLimitsFromFlags(Limits* limits) {
  const int64_t max_snapshots = absl::GetFlag(FLAGS_max_snapshots);
  if (max_snapshots < 1) {
    return absl::InvalidArgumentError("--max_snapshots must be at least 1");
  }
  const absl::Duration ttl = absl::GetFlag(FLAGS_max_snapshot_ttl);
  if (ttl < absl::Seconds(1) || ttl > absl::Hours(24 * 3650)) {
    return absl::InvalidArgumentError(
        "--max_snapshot_ttl must be between 1s and 3650 days");
  }
  limits->max_snapshots = static_cast<size_t>(max_snapshots);
  limits->max_snapshot_ttl_seconds = absl::ToInt64Seconds(ttl);
  return absl::OkStatus();
}

int Run() {
  ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.store = absl::GetFlag(FLAGS_store);
  options.node_id = absl::GetFlag(FLAGS_node_id);
  const int64_t lease_ttl_ms = absl::GetFlag(FLAGS_lease_ttl_ms);
  if (lease_ttl_ms < kMinLeaseTtlMs || lease_ttl_ms > kMaxLeaseTtlMs) {
    return Fail(absl::StrCat("--lease_ttl_ms must be in [", kMinLeaseTtlMs,
                             ", ", kMaxLeaseTtlMs, "]"));
  }
  options.lease_ttl = absl::Milliseconds(lease_ttl_ms);
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 0) return Fail("--threads must not be negative");
  std::string synchronous =
      absl::AsciiStrToUpper(absl::GetFlag(FLAGS_synchronous));
  if (synchronous == "FULL") {
    options.synchronous = SqliteOptions::Synchronous::kFull;
  } else if (synchronous == "NORMAL") {
    options.synchronous = SqliteOptions::Synchronous::kNormal;
  } else {
    return Fail("--synchronous must be FULL or NORMAL");
  }
  absl::StatusOr<std::optional<std::string>> admin_key =
      LoadAdminKey(absl::GetFlag(FLAGS_admin_key_file));
  if (!admin_key.ok()) return Fail(admin_key.status().message());
  if (admin_key->has_value()) options.admin_key_hash = HashApiKey(**admin_key);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.demo = absl::GetFlag(FLAGS_demo);
  options.slow_call_threshold = absl::GetFlag(FLAGS_slow_call_threshold);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!options.metrics_listen.empty()) {
    if (absl::Status s = MetricsBindAddress(options.metrics_listen).status();
        !s.ok()) {
      return Fail(s.message());
    }
  }
  const absl::Duration retention = absl::GetFlag(FLAGS_feed_retention);
  if (retention < absl::Seconds(1)) {
    return Fail("--feed_retention must be at least 1s");
  }
  options.limits.feed_retention_seconds =
      static_cast<size_t>(absl::ToInt64Seconds(retention));
  if (absl::GetFlag(FLAGS_max_feed_streams) < 1) {
    return Fail("--max_feed_streams must be at least 1");
  }
  options.limits.max_feed_streams =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_feed_streams));
  options.feed.stall_timeout = absl::GetFlag(FLAGS_feed_stall_timeout);
  if (options.feed.stall_timeout <= absl::ZeroDuration()) {
    return Fail("--feed_stall_timeout must be positive");
  }
  absl::StatusOr<TransportLimits> transport = TransportLimitsFromFlags();
  if (!transport.ok()) return Fail(transport.status().message());
  options.transport = *transport;
  if (absl::Status s = SnapshotLimitsFromFlags(&options.limits); !s.ok()) {
    return Fail(s.message());
  }
  if (absl::GetFlag(FLAGS_max_open_workspaces) < 1) {
    return Fail("--max_open_workspaces must be at least 1");
  }
  options.workspaces.max_open_workspaces =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_open_workspaces));
  if (absl::GetFlag(FLAGS_workspace_memory_mb) < 1 ||
      absl::GetFlag(FLAGS_workspace_memory_mb) > (int64_t{1} << 30)) {
    return Fail("--workspace_memory_mb must be between 1 and 2^30");
  }
  options.workspaces.memory_budget_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_workspace_memory_mb)) << 20;

  absl::StatusOr<std::unique_ptr<SegmentsServer>> server =
      SegmentsServer::Start(std::move(options));
  if (!server.ok()) return Fail(server.status().ToString());

  sigset_t stop_signals = StopSignals();
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LogEvent(absl::StrCat(
      "received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
      "; stopping (grace ",
      absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_grace)), ")"));
  // A second signal while calls drain exits at once; the databases stay
  // consistent (SQLite's WAL survives an abrupt exit).
  std::thread([stop_signals] {
    int again = 0;
    sigwait(&stop_signals, &again);
    LogEvent("second stop signal: exiting without waiting");
    std::_Exit(1);
  }).detach();
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}

}  // namespace
}  // namespace segments

int main(int argc, char** argv) {
  // Contacts and key hashes are for this user only: every file and
  // directory the server creates is 0600 / 0700 (storage sets the modes
  // explicitly too).
  umask(077);
  segments::BlockStopSignals();
  segments::ConfigureProcessForServing();
  absl::SetProgramUsageMessage(
      "The segments gRPC service. Example: segments-server --demo --data_dir "
      "./data");
  // --help lists this binary's own flags wherever they are defined, not only
  // those of a file named like the program.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "absl/");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  return segments::Run();
}
