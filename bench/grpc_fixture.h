// A real segments server for the RPC benchmarks (server/server.h on
// 127.0.0.1 port 0 over a given data directory, FakeClock at kBenchNow) and
// client helpers: channels, authorized contexts, proto conversion.
//
// Thread-safety: BenchServer is thread-safe after Start; channels and stubs
// are gRPC's (thread-safe).
#ifndef SEGMENTS_BENCH_GRPC_FIXTURE_H_
#define SEGMENTS_BENCH_GRPC_FIXTURE_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/contact.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "segments/v1/segments.grpc.pb.h"
#include "server/server.h"
#include "storage/sqlite_db.h"

namespace segments::bench {

class BenchServer {
 public:
  // Serves `data_dir`. When `owns_dir`, the directory is removed on
  // destruction (after the server has stopped).
  static absl::StatusOr<std::unique_ptr<BenchServer>> Start(
      const std::string& data_dir, SqliteOptions::Synchronous synchronous,
      bool owns_dir);
  ~BenchServer();

  const std::string& data_dir() const { return data_dir_; }
  std::string address() const { return server_->dial_address(); }
  // A channel with its own TCP connection (client `client` of several),
  // connected before it is returned.
  std::shared_ptr<grpc::Channel> NewChannel(int client) const;
  // Loads the bench workspace (kBenchApiKey's) with one cheap call. Since
  // issue 16 the server opens a workspace at its first call, so without
  // this a benchmark's first iteration pays the restart: at 1M contacts it
  // is seconds, longer than a MinTime, and the run ends after that one
  // iteration.
  absl::Status OpenBenchWorkspace() const;

 private:
  BenchServer() = default;
  std::string data_dir_;
  bool owns_dir_ = false;
  std::unique_ptr<SegmentsServer> server_;
};

// Adds `authorization: Bearer kBenchApiKey` and a 60 s deadline.
void Authorize(grpc::ClientContext& context);
// The same with another workspace's key.
void Authorize(grpc::ClientContext& context, const std::string& api_key);

// grpc.health.v1.Health/Check, the cheapest RPC the server answers (the
// empty RPC the others are measured beside), with the same authorization
// header as the others (the health service ignores it).
grpc::Status HealthCheck(grpc::health::v1::Health::Stub& health);

// The draft as the API's Contact message (id 0).
void DraftToProto(const ContactDraft& draft, v1::Contact* out);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_GRPC_FIXTURE_H_
