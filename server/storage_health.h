// The standard health service (grpc.health.v1) follows the storage: a call
// that fails because storage cannot commit (ErrorInfo reason
// STORAGE_UNAVAILABLE: I/O error, disk full) reports NOT_SERVING, for the
// server and each service; SERVING comes back with the next write call that
// succeeds, or with a probe commit, tried every `probe_interval` while
// NOT_SERVING: a commit to the store the server runs on (SqliteProbe: a
// scratch database, health-probe.db in the data directory, written with
// synchronous=FULL and removed again; for PostgreSQL, PgCommitProbe in
// storage/postgres/pg_catalog.h). A busy database
// (STORAGE_BUSY) or a damaged one (DATA_CORRUPT, one workspace) does not
// change health. See docs/decisions.md.
//
// Thread-safety: thread-safe. The interceptor factory must not outlive it.
#ifndef SEGMENTS_SERVER_STORAGE_HEALTH_H_
#define SEGMENTS_SERVER_STORAGE_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace segments {

class StorageHealth {
 public:
  // A probe: one commit that changes nothing; OK when storage commits.
  using ProbeFn = std::function<absl::Status()>;
  // The SQLite store's probe: the scratch database in `data_dir`.
  static ProbeFn SqliteProbe(std::string data_dir);

  // `probe_interval` zero: no probe thread.
  StorageHealth(ProbeFn probe, absl::Duration probe_interval);
  ~StorageHealth();
  StorageHealth(const StorageHealth&) = delete;
  StorageHealth& operator=(const StorageHealth&) = delete;

  // The health service to keep up to date (nullptr: none), once the server
  // is built; it is set SERVING.
  void Attach(grpc::HealthCheckServiceInterface* health);
  // The server is stopping: health stays NOT_SERVING, the probe ends.
  void Stop();

  void OnStorageFailure();
  void OnWriteSucceeded();
  bool storage_ok() const;

  // One probe commit, now.
  absl::Status Probe() const;

  // An interceptor that reports each call's outcome here.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

 private:
  void ProbeLoop();
  void Publish(bool storage_ok) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const ProbeFn probe_;
  const absl::Duration probe_interval_;

  mutable absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool storage_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  std::thread probe_thread_;  // joined by the destructor
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_STORAGE_HEALTH_H_
