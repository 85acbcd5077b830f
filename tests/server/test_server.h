// A real segments server for tests: listens on 127.0.0.1 port 0 over a fresh
// temporary data directory, with a known admin key; can be restarted on the
// same directory. Plus client helpers: authorized contexts, stubs, and
// readers for the google.rpc error details of a failed call.
#ifndef SEGMENTS_TESTS_SERVER_TEST_SERVER_H_
#define SEGMENTS_TESTS_SERVER_TEST_SERVER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "segments/v1/segments.grpc.pb.h"
#include "segments/v1/workspaces.grpc.pb.h"
#include "server/server.h"

namespace segments::testing {

inline constexpr char kTestAdminKey[] = "sk_admin_test_0123456789abcdef";

class TestServer {
 public:
  // Starts at once. `customize` may change the options (limits, demo, ...)
  // before each start; listen address and data directory are set already.
  explicit TestServer(std::function<void(ServerOptions&)> customize = nullptr);
  ~TestServer();  // Stops and removes the data directory.

  void Start();
  // Shutdown with a 5 s grace period (or `grace`).
  void Stop();
  void Stop(absl::Duration grace);
  // SegmentsServer::Shutdown only, as a SIGTERM does: the server object (its
  // services and their threads) stays until Stop.
  void Shutdown(absl::Duration grace) { server_->Shutdown(grace); }
  // Stop, then start on the same data directory (a new port and channel).
  void Restart();

  const std::string& data_dir() const { return data_dir_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // "127.0.0.1:<port>" of the running server.
  std::string dial_address() const { return server_->dial_address(); }
  // The metrics' HTTP port (ServerOptions::metrics_listen); 0 without.
  int metrics_port() const { return server_->metrics_port(); }
  v1::WorkspaceAdmin::Stub& admin() { return *admin_; }
  v1::ContactService::Stub& contacts() { return *contacts_; }
  v1::SegmentService::Stub& segments() { return *segments_; }

  // Creates a workspace through the admin API; returns it and its key.
  struct CreatedWorkspace {
    v1::Workspace workspace;
    std::string api_key;
  };
  CreatedWorkspace CreateWorkspace(std::string_view name, v1::Plan plan);

 private:
  std::function<void(ServerOptions&)> customize_;
  std::string data_dir_;
  std::unique_ptr<SegmentsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkspaceAdmin::Stub> admin_;
  std::unique_ptr<v1::ContactService::Stub> contacts_;
  std::unique_ptr<v1::SegmentService::Stub> segments_;
};

// Threads of this process (the server and the test's clients); -1 when
// /proc cannot be read.
int ProcessThreads();
// `n` channels to `server`, each with a TCP connection of its own (one
// connection carries at most max_concurrent_streams streams).
std::vector<std::shared_ptr<grpc::Channel>> SeparateChannels(
    const TestServer& server, int n);

// A client context with `authorization: Bearer <key>` (none when `key` is
// empty) and a 30 s deadline.
std::unique_ptr<grpc::ClientContext> Ctx(std::string_view key);

// The google.rpc details of a failed call: field -> description of every
// BadRequest violation, in order; and the ErrorInfo, if any.
std::vector<std::pair<std::string, std::string>> BadRequestOf(
    const grpc::Status& status);
std::vector<std::string> ViolationFields(const grpc::Status& status);
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status);

// Matches a grpc::Status with the given code.
MATCHER_P(GrpcIs, code, "") {
  *result_listener << "status is " << arg.error_code() << ": "
                   << arg.error_message();
  return arg.error_code() == code;
}
MATCHER(GrpcOk, "") {
  *result_listener << "status is " << arg.error_code() << ": "
                   << arg.error_message();
  return arg.ok();
}

// Small builders for requests.
v1::Contact MakeContact(
    std::string email, std::string country = "",
    v1::LifecycleStage stage = v1::LIFECYCLE_STAGE_UNSPECIFIED);
v1::Value StringValue(std::string s);
v1::Value NumberValue(int64_t n);
v1::Condition MakeCondition(std::string field, v1::Condition::Operator op,
                            std::vector<v1::Value> values);
v1::Segment MakeSegment(std::string name, std::vector<v1::Condition> conditions,
                        v1::Filter::Match match = v1::Filter::ALL);

}  // namespace segments::testing

namespace grpc {
// Lets gtest print a status as "code: message" instead of its bytes.
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << "status " << status.error_code() << ": " << status.error_message();
}
}  // namespace grpc

#endif  // SEGMENTS_TESTS_SERVER_TEST_SERVER_H_
