// segments-server: the gRPC segments service over a SQLite data directory.
//
//   segments-server [--listen=127.0.0.1:50051] [--data_dir=./data]
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

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on (host:port).");
ABSL_FLAG(std::string, data_dir, "./data",
          "Directory holding all state (created if missing).");
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
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish.");

namespace segments {
namespace {

int Fail(absl::string_view message) {
  LogEvent(absl::StrCat("cannot start: ", message));
  return 1;
}

int Run() {
  ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
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

  // Block the stop signals in every thread (gRPC's included, which inherit
  // the mask) so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<SegmentsServer>> server =
      SegmentsServer::Start(std::move(options));
  if (!server.ok()) return Fail(server.status().ToString());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LogEvent(absl::StrCat(
      "received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
      "; stopping (grace ",
      absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_grace)), ")"));
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}

}  // namespace
}  // namespace segments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The segments gRPC service. Example: segments-server --demo --data_dir "
      "./data");
  absl::ParseCommandLine(argc, argv);
  return segments::Run();
}
