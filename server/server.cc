#include "server/server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/ascii.h"
#include "core/base/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/analytics_service.h"
#include "server/auth.h"
#include "server/contact_service.h"
#include "server/demo.h"
#include "server/drain.h"
#include "server/feed_service.h"
#include "server/history_service.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/metrics.h"
#ifdef SEGMENTS_HAVE_POSTGRES
#include "storage/postgres/pg_catalog.h"
#endif
#include "server/parse_error_interceptor.h"
#include "server/reflection_service.h"
#include "server/retry_pushback.h"
#include "server/segment_service.h"
#include "server/slow_call_interceptor.h"
#include "server/snapshot_service.h"
#include "server/workspace_admin_service.h"

namespace segments {

namespace {

// Every service served, by full name: what reflection lists, and the
// methods the RPC metrics label.
std::vector<std::string> ServedServices() {
  return {v1::WorkspaceAdmin::service_full_name(),
          v1::ContactService::service_full_name(),
          v1::SegmentService::service_full_name(),
          v1::ChangeFeedService::service_full_name(),
          v1::MembershipHistoryService::service_full_name(),
          v1::AudienceSnapshotService::service_full_name(),
          v1::AnalyticsService::service_full_name(),
          grpc::health::v1::Health::service_full_name(),
          grpc::reflection::v1alpha::ServerReflection::service_full_name()};
}

}  // namespace

struct SegmentsServer::Services {
  Services(Registry* registry, std::optional<std::string> admin_key_hash,
           const Limits& limits, const FeedStreamOptions& feed_options,
           const std::string& data_dir)
      : auth(registry, std::move(admin_key_hash)),
        admin(registry, &auth, data_dir),
        contacts(&auth, limits),
        segments(&auth, limits),
        feed(&auth, limits, feed_options),
        history(&auth),
        snapshots(&auth, limits),
        analytics(&auth, limits),
        reflection(ServedServices()) {}
  Authenticator auth;
  WorkspaceAdminServiceImpl admin;
  ContactServiceImpl contacts;
  SegmentServiceImpl segments;
  // Streams on the callback API, their reads on the service's own threads.
  FeedServiceImpl feed;
  HistoryServiceImpl history;
  SnapshotServiceImpl snapshots;
  // ExportMembers on the callback API (a slow reader holds no thread).
  AnalyticsServiceImpl analytics;
  // On the callback API: open streams hold no thread (issue 11).
  ReflectionService reflection;
};

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert_file and --tls_key_file");
  }
  ASSIGN_OR_RETURN(std::string cert, ReadFile(options.tls_cert_file));
  ASSIGN_OR_RETURN(std::string key, ReadFile(options.tls_key_file));
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

// The storage health probe (server/storage_health.h) of the store the
// server runs on: a commit to it, not to the local disk, when that is
// PostgreSQL.
StorageHealth::ProbeFn HealthProbe(const ServerOptions& o) {
#ifdef SEGMENTS_HAVE_POSTGRES
  if (IsPostgresStore(o.store)) {
    return [conninfo = o.store] { return PgCommitProbe(conninfo); };
  }
#endif
  return StorageHealth::SqliteProbe(o.data_dir);
}

// The catalog ServerOptions::store names: SQLite in data_dir by default,
// or PostgreSQL (storage/postgres/) for a postgres:// URI.
absl::StatusOr<std::unique_ptr<CatalogStore>> OpenCatalog(
    const ServerOptions& o) {
  if (IsPostgresStore(o.store)) {
    if (!o.node_id.empty()) {
      const int64_t ttl_ms = absl::ToInt64Milliseconds(o.lease_ttl);
      if (ttl_ms < kMinLeaseTtlMs || ttl_ms > kMaxLeaseTtlMs) {
        return absl::InvalidArgumentError(
            absl::StrCat("the lease ttl must be in [", kMinLeaseTtlMs, ", ",
                         kMaxLeaseTtlMs, "] ms"));
      }
      if (o.node_id.size() > kMaxNodeIdBytes ||
          LogEscape(o.node_id) != o.node_id) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--node_id must be at most ", kMaxNodeIdBytes, " printable bytes"));
      }
    }
#ifdef SEGMENTS_HAVE_POSTGRES
    PgOptions pg;
    pg.conninfo = o.store;
    pg.node_id = o.node_id;
    pg.lease_ttl = o.lease_ttl;
    pg.renew_leases = o.renew_leases;
    ASSIGN_OR_RETURN(std::unique_ptr<PgCatalogStore> catalog,
                     PgCatalogStore::Open(pg));
    return std::unique_ptr<CatalogStore>(std::move(catalog));
#else
    return absl::FailedPreconditionError(
        "--store postgres://...: this binary was built without libpq "
        "(install libpq-dev and rebuild)");
#endif
  }
  if (!o.node_id.empty()) {
    return absl::InvalidArgumentError(
        "--node_id needs --store postgres://...: leases live in the shared "
        "PostgreSQL database (an SQLite data directory is one node's)");
  }
  if (!o.store.empty() && o.store != "sqlite") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--store must be sqlite (the default: the data directory) or a "
        "postgres:// or postgresql:// URI, not ",
        LogEscape(o.store)));
  }
  SqliteOptions sqlite;
  sqlite.synchronous = o.synchronous;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteCatalogStore> catalog,
                   SqliteCatalogStore::Open(o.data_dir, sqlite));
  return std::unique_ptr<CatalogStore>(std::move(catalog));
}

// The host part of "host:port" or "[v6]:port".
std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentsServer>> SegmentsServer::Start(
    ServerOptions options) {
  std::unique_ptr<SegmentsServer> s(new SegmentsServer());
  s->options_ = std::move(options);
  const ServerOptions& o = s->options_;

  // The flags are checked before anything is created on disk.
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   Credentials(o));
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", o.data_dir, ": ", ec.message()));
  }

  const Clock* clock = o.clock;
  if (clock == nullptr) {
    s->owned_clock_ = std::make_unique<SystemClock>();
    clock = s->owned_clock_.get();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<CatalogStore> catalog, OpenCatalog(o));
  RegistryOptions workspaces = o.workspaces;
  // One line per workspace that does not serve, when it is found (its
  // record at start, its data when it is first opened); the others serve.
  auto log_not_serving = [](WorkspaceId id, const absl::Status& error) {
    LogEvent(absl::StrCat(
        "error: workspace ", id, " is not serving (its calls get ",
        absl::StatusCodeToString(absl::IsDataLoss(error)
                                     ? absl::StatusCode::kDataLoss
                                     : absl::StatusCode::kFailedPrecondition),
        "): ", EscapeNonPrintable(error.ToString()),
        "; restore its file from a backup and restart, or delete the "
        "workspace"));
  };
  workspaces.on_load_failure = log_not_serving;
  ASSIGN_OR_RETURN(s->registry_,
                   Registry::Open(std::move(catalog), clock, o.limits,
                                  std::move(workspaces)));
  for (const auto& [id, error] : s->registry_->FailedWorkspaces()) {
    log_not_serving(id, error);
  }

  std::optional<DemoInfo> demo;
  const absl::Status demo_state =
      s->registry_->Authenticate(HashApiKey(kDemoApiKey)).status();
  if (o.demo && (absl::IsDataLoss(demo_state) ||
                 absl::IsFailedPrecondition(demo_state))) {
    // Not created again over it (its key would then name two workspaces).
    LogEvent("demo workspace is not serving (see above): no demo examples");
  } else if (o.demo) {
    ASSIGN_OR_RETURN(demo, EnsureDemoWorkspace(s->registry_.get()));
  } else if (s->registry_->Authenticate(HashApiKey(kDemoApiKey)).ok()) {
    LogEvent(absl::StrCat(
        "warning: this data directory has the demo workspace; its "
        "well-known key ",
        kDemoApiKey,
        " works even without --demo (delete the workspace to stop it)"));
  }

  s->services_ = std::make_unique<Services>(
      s->registry_.get(), o.admin_key_hash, o.limits, o.feed, o.data_dir);

  if (!o.metrics_listen.empty()) {
    s->metrics_ = std::make_unique<Metrics>(ServedServices());
    RETURN_IF_ERROR(s->metrics_->Expose(o.metrics_listen, s->registry_.get(),
                                        &s->services_->feed));
  }

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service carries no protobuf descriptor; naming ours links
  // it in, so reflection (and grpcurl) can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::ServerBuilder builder;
  // Transport limits (issue 11): our own listener, then the quota and the
  // channel arguments; see server/transport_limits.h.
  ASSIGN_OR_RETURN(s->listener_,
                   Listener::Open(o.listen_address, o.transport.fd_headroom));
  s->selected_port_ = s->listener_->port();
  s->acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      credentials);
  ApplyTransportLimits(o.transport, builder);
  builder.RegisterService(&s->services_->admin);
  builder.RegisterService(&s->services_->contacts);
  builder.RegisterService(&s->services_->segments);
  builder.RegisterService(&s->services_->feed);
  builder.RegisterService(&s->services_->history);
  builder.RegisterService(&s->services_->snapshots);
  builder.RegisterService(&s->services_->analytics);
  builder.RegisterService(&s->services_->reflection);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  int threads =
      o.threads > 0
          ? o.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  builder.SetSyncServerOption(grpc::ServerBuilder::NUM_CQS, threads);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  SilenceProtobufParseErrors();
  // Counts calls for the shutdown (server/drain.h); owned by the builder,
  // then by the server, which outlives every use of it.
  auto call_counter = std::make_unique<CallCounter>();
  s->call_counter_ = call_counter.get();
  interceptors.push_back(std::move(call_counter));
  // Before the others: it times the whole call, and sees every status.
  if (s->metrics_ != nullptr) {
    interceptors.push_back(s->metrics_->InterceptorFactory());
  }
  interceptors.push_back(
      std::make_unique<ParseErrorInterceptorFactory>(&s->services_->auth));
  interceptors.push_back(std::make_unique<RetryPushbackInterceptorFactory>());
  s->storage_health_ =
      std::make_unique<StorageHealth>(HealthProbe(o), o.health_probe_interval);
  interceptors.push_back(s->storage_health_->InterceptorFactory());
  if (o.slow_call_threshold > absl::ZeroDuration()) {
    interceptors.push_back(
        std::make_unique<SlowCallInterceptorFactory>(o.slow_call_threshold));
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->selected_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.listen_address));
  }
  s->listener_->Start(s->acceptor_.get());
  grpc::HealthCheckServiceInterface* health =
      s->server_->GetHealthCheckService();
  if (health != nullptr) {
    // "" is the server as a whole; each service can be checked by name too.
    for (const char* name : {v1::WorkspaceAdmin::service_full_name(),
                             v1::ContactService::service_full_name(),
                             v1::SegmentService::service_full_name(),
                             v1::ChangeFeedService::service_full_name(),
                             v1::MembershipHistoryService::service_full_name(),
                             v1::AudienceSnapshotService::service_full_name(),
                             v1::AnalyticsService::service_full_name()}) {
      health->SetServingStatus(name, true);
    }
    health->SetServingStatus(true);
  }
  s->storage_health_->Attach(health);

  const bool tls = !o.tls_cert_file.empty();
  LogEvent(absl::StrCat(
      "listening on ", HostOf(o.listen_address), ":", s->selected_port_,
      tls ? " (TLS)" : " (plaintext)",
      IsPostgresStore(o.store) ? ", store PostgreSQL" : "",
      o.node_id.empty() ? ""
                        : absl::StrCat(" as node ", o.node_id, " (leases of ",
                                       absl::FormatDuration(o.lease_ttl), ")"),
      ", data directory ", LogEscape(o.data_dir), ", synchronous=",
      o.synchronous == SqliteOptions::Synchronous::kFull ? "FULL" : "NORMAL",
      ", ", threads, " completion queues"));
  if (s->metrics_ != nullptr) {
    LogEvent(absl::StrCat("metrics on http://",
                          HostOf(*MetricsBindAddress(o.metrics_listen)), ":",
                          s->metrics_->port(), "/metrics"));
  }
  if (!o.admin_key_hash.has_value()) {
    LogEvent(absl::StrCat("admin calls are disabled: set ", kAdminKeyEnv,
                          " or --admin_key_file to enable them"));
  }
  if (demo.has_value()) {
    LogEvent(DemoExamples(
        *demo, s->dial_address(),
        tls ? std::optional<std::string>(o.tls_cert_file) : std::nullopt));
  }
  return s;
}

SegmentsServer::~SegmentsServer() { Shutdown(absl::ZeroDuration()); }

std::string SegmentsServer::dial_address() const {
  std::string host = HostOf(options_.listen_address);
  // A wildcard address is reachable locally through the loopback interface.
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    host = "localhost";
  }
  return absl::StrCat(host, ":", selected_port_);
}

int SegmentsServer::metrics_port() const {
  return metrics_ != nullptr ? metrics_->port() : 0;
}

void SegmentsServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (storage_health_ != nullptr) storage_health_->Stop();
  // New connections are refused from here on.
  if (listener_ != nullptr) listener_->Stop();
  if (server_ != nullptr) {
    grpc::HealthCheckServiceInterface* health =
        server_->GetHealthCheckService();
    if (health != nullptr) health->SetServingStatus(false);
    // Feed streams never end on their own: end them now, so that the
    // drain below waits only for the calls that do.
    services_->feed.Shutdown();
    // Returns once every handler has finished; calls still running at the
    // deadline are cancelled. Idle connections are closed once no call is
    // left, not waited for (server/drain.h).
    DrainingShutdown(*server_, *call_counter_, grace);
  }
  // No handler runs any more: close the databases. The services stay until
  // the destructor, after the grpc::Server that points to them; the feed's
  // streams, each holding its workspace, are gone first.
  if (services_ != nullptr &&
      !services_->feed.WaitUntilNoStreams(absl::Seconds(5))) {
    LogEvent("warning: change feed streams outlive the server's shutdown");
  }
  // Scrapes read the registry and the feed service: none may run on.
  if (metrics_ != nullptr) metrics_->StopExposing();
  registry_.reset();
  if (server_ != nullptr) LogEvent("stopped; databases closed");
}

void SegmentsServer::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&shut_down_));
}

}  // namespace segments
