#include "tests/server/test_server.h"

#include <dirent.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/auth.h"

namespace segments::testing {
namespace {

std::string MakeTempDir() {
  std::string base =
      std::filesystem::temp_directory_path() / "segments-server-test-XXXXXX";
  std::vector<char> buffer(base.begin(), base.end());
  buffer.push_back('\0');
  char* dir = mkdtemp(buffer.data());
  EXPECT_NE(dir, nullptr) << "mkdtemp failed";
  return dir == nullptr ? std::string() : std::string(dir);
}

std::optional<google::rpc::Status> DetailsOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  return details;
}

}  // namespace

TestServer::TestServer(std::function<void(ServerOptions&)> customize)
    : customize_(std::move(customize)), data_dir_(MakeTempDir()) {
  Start();
}

TestServer::~TestServer() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

void TestServer::Start() {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = data_dir_;
  options.threads = 2;
  options.admin_key_hash = HashApiKey(kTestAdminKey);
  if (customize_) customize_(options);
  absl::StatusOr<std::unique_ptr<SegmentsServer>> server =
      SegmentsServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  channel_ = grpc::CreateCustomChannel(
      server_->dial_address(), grpc::InsecureChannelCredentials(), args);
  admin_ = v1::WorkspaceAdmin::NewStub(channel_);
  contacts_ = v1::ContactService::NewStub(channel_);
  segments_ = v1::SegmentService::NewStub(channel_);
}

void TestServer::Stop() { Stop(absl::Seconds(5)); }

void TestServer::Stop(absl::Duration grace) {
  admin_.reset();
  contacts_.reset();
  segments_.reset();
  channel_.reset();
  if (server_ != nullptr) server_->Shutdown(grace);
  server_.reset();
}

void TestServer::Restart() {
  Stop();
  Start();
}

TestServer::CreatedWorkspace TestServer::CreateWorkspace(std::string_view name,
                                                         v1::Plan plan) {
  v1::CreateWorkspaceRequest request;
  request.mutable_workspace()->set_display_name(std::string(name));
  request.mutable_workspace()->set_plan(plan);
  v1::CreateWorkspaceResponse response;
  grpc::Status status =
      admin().CreateWorkspace(Ctx(kTestAdminKey).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.workspace(), response.api_key()};
}

int ProcessThreads() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

std::vector<std::shared_ptr<grpc::Channel>> SeparateChannels(
    const TestServer& server, int n) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("segments.test_channel", i);  // no shared subchannel
    channels.push_back(grpc::CreateCustomChannel(
        server.dial_address(), grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

std::unique_ptr<grpc::ClientContext> Ctx(std::string_view key) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!key.empty()) {
    context->AddMetadata("authorization", "Bearer " + std::string(key));
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

std::vector<std::pair<std::string, std::string>> BadRequestOf(
    const grpc::Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  std::optional<google::rpc::Status> details = DetailsOf(status);
  if (!details.has_value()) return out;
  for (const google::protobuf::Any& any : details->details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      out.emplace_back(v.field(), v.description());
    }
  }
  return out;
}

std::vector<std::string> ViolationFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  for (auto& [field, description] : BadRequestOf(status))
    fields.push_back(field);
  return fields;
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  std::optional<google::rpc::Status> details = DetailsOf(status);
  if (!details.has_value()) return std::nullopt;
  for (const google::protobuf::Any& any : details->details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

v1::Contact MakeContact(std::string email, std::string country,
                        v1::LifecycleStage stage) {
  v1::Contact c;
  c.set_email(std::move(email));
  c.set_country(std::move(country));
  c.set_lifecycle_stage(stage);
  return c;
}

v1::Value StringValue(std::string s) {
  v1::Value v;
  v.set_string_value(std::move(s));
  return v;
}

v1::Value NumberValue(int64_t n) {
  v1::Value v;
  v.set_number_value(n);
  return v;
}

v1::Condition MakeCondition(std::string field, v1::Condition::Operator op,
                            std::vector<v1::Value> values) {
  v1::Condition c;
  c.set_field(std::move(field));
  c.set_operator_(op);
  for (v1::Value& v : values) *c.add_values() = std::move(v);
  return c;
}

v1::Segment MakeSegment(std::string name, std::vector<v1::Condition> conditions,
                        v1::Filter::Match match) {
  v1::Segment s;
  s.set_display_name(std::move(name));
  s.mutable_filter()->set_match(match);
  for (v1::Condition& c : conditions)
    *s.mutable_filter()->add_conditions() = std::move(c);
  return s;
}

}  // namespace segments::testing
