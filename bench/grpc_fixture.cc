#include "bench/grpc_fixture.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/engine_fixture.h"
#include "bench/sqlite_dataset.h"
#include "core/base/status_macros.h"
#include "server/process_setup.h"

namespace segments::bench {

absl::StatusOr<std::unique_ptr<BenchServer>> BenchServer::Start(
    const std::string& data_dir, SqliteOptions::Synchronous synchronous,
    bool owns_dir) {
  ConfigureProcessForServing();  // as the binary's main() does
  std::unique_ptr<BenchServer> s(new BenchServer());
  s->data_dir_ = data_dir;
  s->owns_dir_ = owns_dir;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = data_dir;
  options.synchronous = synchronous;
  options.clock = BenchClock();
  // SEGMENTS_BENCH_METRICS=1: with the Prometheus endpoint (its RPC
  // interceptor on every call), to measure what the metrics cost.
  if (const char* metrics = std::getenv("SEGMENTS_BENCH_METRICS");
      metrics != nullptr && std::string(metrics) == "1") {
    options.metrics_listen = "127.0.0.1:0";
  }
  ASSIGN_OR_RETURN(s->server_, SegmentsServer::Start(std::move(options)));
  return s;
}

BenchServer::~BenchServer() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  server_.reset();
  if (owns_dir_) RemoveTree(data_dir_);
}

std::shared_ptr<grpc::Channel> BenchServer::NewChannel(int client) const {
  grpc::ChannelArguments args;
  // Distinct arguments keep channels from sharing one connection.
  args.SetInt("segments.bench.client", client);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel(
      address(), grpc::InsecureChannelCredentials(), args);
  channel->WaitForConnected(std::chrono::system_clock::now() +
                            std::chrono::seconds(10));
  return channel;
}

absl::Status BenchServer::OpenBenchWorkspace() const {
  auto stub = v1::SegmentService::NewStub(NewChannel(0));
  grpc::ClientContext context;
  Authorize(context);
  // The first call opens the workspace: minutes at 10M contacts on a
  // loaded machine, past every other call's 60 s.
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::minutes(30));
  v1::ListSegmentsRequest request;
  request.set_page_size(1);
  v1::ListSegmentsResponse response;
  const grpc::Status status = stub->ListSegments(&context, request, &response);
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "opening the bench workspace failed: ", status.error_message()));
}

void Authorize(grpc::ClientContext& context) {
  Authorize(context, kBenchApiKey);
}

void Authorize(grpc::ClientContext& context, const std::string& api_key) {
  context.AddMetadata("authorization", absl::StrCat("Bearer ", api_key));
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
}

grpc::Status HealthCheck(grpc::health::v1::Health::Stub& health) {
  grpc::ClientContext context;
  Authorize(context);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return health.Check(&context, request, &response);
}

void DraftToProto(const ContactDraft& d, v1::Contact* out) {
  out->set_email(d.email);
  out->set_company(d.company);
  out->set_job_title(d.job_title);
  out->set_country(d.country);
  out->set_city(d.city);
  out->set_source(d.source);
  for (const std::string& tag : d.tags) out->add_tags(tag);
  out->set_lifecycle_stage(static_cast<v1::LifecycleStage>(d.lifecycle_stage));
  out->set_lead_score(static_cast<int32_t>(d.lead_score));
  out->set_engagement_score(static_cast<int32_t>(d.engagement_score));
  out->set_engagement_trend(
      static_cast<v1::EngagementTrend>(d.engagement_trend));
  out->set_conversion_likelihood(
      static_cast<v1::ConversionLikelihood>(d.conversion_likelihood));
  if (d.created_at.has_value()) {
    out->mutable_created_at()->set_seconds(*d.created_at);
  }
  if (d.last_engaged_at.has_value()) {
    out->mutable_last_engaged_at()->set_seconds(*d.last_engaged_at);
  }
}

}  // namespace segments::bench
