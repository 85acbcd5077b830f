#include "server/storage_health.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/log.h"
#include "server/status_util.h"
#include "storage/file_util.h"
#include "storage/sqlite_db.h"

namespace segments {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Methods that commit when they succeed.
bool IsWriteMethod(std::string_view method) {
  const size_t slash = method.rfind('/');
  const std::string_view name =
      slash == std::string_view::npos ? method : method.substr(slash + 1);
  for (std::string_view prefix :
       {"Create", "Update", "Delete", "BatchUpsert", "SetPlan", "Rotate"}) {
    if (name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

class HealthInterceptor : public grpc::experimental::Interceptor {
 public:
  HealthInterceptor(StorageHealth* health, bool write)
      : health_(health), write_(write) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.ok()) {
        if (write_) health_->OnWriteSucceeded();
      } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                 absl::StrContains(status.error_details(),
                                   kReasonStorageUnavailable)) {
        health_->OnStorageFailure();
      }
    }
    methods->Proceed();
  }

 private:
  StorageHealth* const health_;
  const bool write_;
};

class HealthInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit HealthInterceptorFactory(StorageHealth* health) : health_(health) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
      return nullptr;
    }
    const char* method = info->method();
    return new HealthInterceptor(health_,
                                 method != nullptr && IsWriteMethod(method));
  }

 private:
  StorageHealth* const health_;
};

}  // namespace

StorageHealth::StorageHealth(ProbeFn probe, absl::Duration probe_interval)
    : probe_(std::move(probe)), probe_interval_(probe_interval) {
  if (probe_interval_ > absl::ZeroDuration()) {
    probe_thread_ = std::thread([this] { ProbeLoop(); });
  }
}

StorageHealth::~StorageHealth() {
  Stop();
  if (probe_thread_.joinable()) probe_thread_.join();
}

void StorageHealth::Attach(grpc::HealthCheckServiceInterface* health) {
  absl::MutexLock lock(&mu_);
  health_ = health;
  Publish(storage_ok_);
}

void StorageHealth::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void StorageHealth::OnStorageFailure() {
  absl::MutexLock lock(&mu_);
  if (!storage_ok_ || stopped_) return;
  storage_ok_ = false;
  Publish(false);
  LogEvent("storage cannot commit: health is NOT_SERVING until it can");
}

void StorageHealth::OnWriteSucceeded() {
  absl::MutexLock lock(&mu_);
  if (storage_ok_ || stopped_) return;
  storage_ok_ = true;
  Publish(true);
  LogEvent("storage commits again: health is SERVING");
}

bool StorageHealth::storage_ok() const {
  absl::MutexLock lock(&mu_);
  return storage_ok_;
}

void StorageHealth::Publish(bool storage_ok) {
  if (health_ == nullptr || stopped_) return;
  health_->SetServingStatus(storage_ok);
}

StorageHealth::ProbeFn StorageHealth::SqliteProbe(std::string data_dir) {
  return [data_dir = std::move(data_dir)]() -> absl::Status {
    const std::string path = absl::StrCat(data_dir, "/health-probe.db");
    absl::Status status = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                       SqliteDb::Open(path, /*create=*/true, 1000));
      return db->Exec(
          "PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS probe(x); "
          "BEGIN IMMEDIATE; INSERT INTO probe VALUES (1); DELETE FROM probe; "
          "COMMIT;");
    }();
    RemoveFileIfExists(path + "-journal").IgnoreError();
    RemoveFileIfExists(path).IgnoreError();
    return status;
  };
}

absl::Status StorageHealth::Probe() const { return probe_(); }

void StorageHealth::ProbeLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopped_) {
    if (storage_ok_) {
      mu_.Await(absl::Condition(
          +[](StorageHealth* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(h->mu_) {
            return h->stopped_ || !h->storage_ok_;
          },
          this));
      continue;
    }
    // Not serving: probe after each interval (or stop).
    mu_.AwaitWithTimeout(absl::Condition(&stopped_), probe_interval_);
    if (stopped_ || storage_ok_) continue;
    mu_.Unlock();
    const absl::Status probed = Probe();
    mu_.Lock();
    if (probed.ok() && !storage_ok_ && !stopped_) {
      storage_ok_ = true;
      Publish(true);
      LogEvent("storage commits again (probe): health is SERVING");
    }
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
StorageHealth::InterceptorFactory() {
  return std::make_unique<HealthInterceptorFactory>(this);
}

}  // namespace segments
