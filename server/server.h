// The segments gRPC server: opens the storage and the Registry over a data
// directory and serves the three segments.v1 services, gRPC server reflection
// and the standard health service (grpc.health.v1), in plaintext or TLS.
//
// Thread-safety: Shutdown may be called from any thread (e.g. a signal
// watcher) while calls are in flight; it is idempotent.
#ifndef SEGMENTS_SERVER_SERVER_H_
#define SEGMENTS_SERVER_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/registry.h"
#include "server/feed_stream.h"
#include "server/storage_health.h"
#include "server/transport_limits.h"
#include "storage/sqlite_catalog.h"

namespace segments {

// Largest request or response message, in bytes (SPEC §10). Larger ones
// fail with RESOURCE_EXHAUSTED from gRPC itself.
inline constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

class CallCounter;
class Listener;
class Metrics;

struct ServerOptions {
  // host:port; port 0 picks a free port (see selected_port()).
  std::string listen_address = "127.0.0.1:50051";
  // Holds all state; created if missing. With a PostgreSQL store, only the
  // health probe's scratch database.
  std::string data_dir = "./data";
  // Where the catalog and workspaces live: "" or "sqlite" for SQLite files
  // in data_dir; a postgres:// or postgresql:// URI for one PostgreSQL
  // database (storage/postgres/pg_catalog.h, docs/scale-out.md).
  std::string store;
  // With a PostgreSQL store: this node's name in the workspace leases
  // (docs/scale-out.md). Empty: no leases (one node). Set: the node serves
  // a workspace only while it holds its lease, and several nodes over one
  // database hand workspaces over. Refused with any other store.
  std::string node_id;
  // How long a lease lasts unrenewed (renewed every third of it).
  absl::Duration lease_ttl = absl::Seconds(10);
  // Renew leases in the background (off: tests playing a paused node).
  bool renew_leases = true;
  // Completion queues of the synchronous server (each with its polling
  // threads; handler threads grow on demand). 0: one per core.
  int threads = 0;
  SqliteOptions::Synchronous synchronous = SqliteOptions::Synchronous::kFull;
  // SHA-256 of the admin key; nullopt disables admin calls.
  std::optional<std::string> admin_key_hash;
  // Both or neither: PEM files for TLS. Neither: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Ensures the demo workspace (server/demo.h) and prints grpcurl examples.
  bool demo = false;
  Limits limits;
  // How many workspaces stay open, and in how much memory.
  RegistryOptions workspaces;
  // Connections, streams, memory and threads of the gRPC transport.
  TransportLimits transport;
  // Calls taking at least this long are logged; zero or less: never.
  absl::Duration slow_call_threshold = absl::Seconds(1);
  // While health is NOT_SERVING because storage could not commit, a probe
  // commit (a scratch database in data_dir) is tried this often; its success
  // reports SERVING again. Zero: no probe (only a successful write does).
  absl::Duration health_probe_interval = absl::Seconds(5);
  // Change feed streams (server/feed_stream.h).
  FeedStreamOptions feed;
  // Prometheus metrics over HTTP (server/metrics.h): "host:port", or a port
  // alone for 127.0.0.1; port 0 picks a free one (see metrics_port()).
  // Empty: none.
  std::string metrics_listen;
  // Not owned; nullptr means the system clock. Must outlive the server.
  const Clock* clock = nullptr;
};

// The range of ServerOptions::lease_ttl (--lease_ttl_ms).
inline constexpr int64_t kMinLeaseTtlMs = 100;
inline constexpr int64_t kMaxLeaseTtlMs = 10 * 60 * 1000;
inline constexpr size_t kMaxNodeIdBytes = 200;

// Whether `store` (ServerOptions::store) names a PostgreSQL database.
inline bool IsPostgresStore(const std::string& store) {
  return store.rfind("postgres://", 0) == 0 ||
         store.rfind("postgresql://", 0) == 0;
}

class SegmentsServer {
 public:
  // Opens the data directory and starts serving. The address in use and the
  // admin-key state are logged.
  static absl::StatusOr<std::unique_ptr<SegmentsServer>> Start(
      ServerOptions options);

  // Shuts down with no grace period if Shutdown was not called.
  ~SegmentsServer();
  SegmentsServer(const SegmentsServer&) = delete;
  SegmentsServer& operator=(const SegmentsServer&) = delete;

  // The bound port (useful with port 0).
  int selected_port() const { return selected_port_; }
  // "host:port" a local client can dial.
  std::string dial_address() const;
  // The metrics' HTTP port; 0 without metrics.
  int metrics_port() const;

  // Stops accepting calls, lets calls in flight finish for up to `grace`
  // (then cancels them), and closes the databases. Idempotent.
  void Shutdown(absl::Duration grace);
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  struct Services;
  SegmentsServer() = default;

  ServerOptions options_;
  int selected_port_ = 0;
  std::unique_ptr<Clock> owned_clock_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Services> services_;
  // Before server_, which holds its interceptor factory; stops exposing
  // (scrapes read registry_ and services_) in Shutdown.
  std::unique_ptr<Metrics> metrics_;
  // Before server_: its interceptors point here.
  std::unique_ptr<StorageHealth> storage_health_;
  std::unique_ptr<grpc::Server> server_;
  // Transport (server/listener.h): accepts connections for server_.
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  // Owned by server_ (an interceptor factory); see server/drain.h.
  CallCounter* call_counter_ = nullptr;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_SERVER_H_
