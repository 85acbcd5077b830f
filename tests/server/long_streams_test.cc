// Long-lived streams hold no thread each (issue 11, item 6): hundreds of
// idle reflection streams (our callback-API service) or health Watch
// streams (gRPC's default health service, also on the callback API) add only
// a few threads to the server's process.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

namespace reflection = ::grpc::reflection::v1alpha;
namespace health = ::grpc::health::v1;

constexpr int kStreams = 500;
constexpr int kChannels = 10;
// Far fewer than one per stream.
constexpr int kMaxExtraThreads = 40;

TEST(LongStreamsTest, IdleReflectionStreamsHoldNoThreadEach) {
  TestServer server;
  auto channels = SeparateChannels(server, kChannels);
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<
        grpc::ClientReaderWriter<reflection::ServerReflectionRequest,
                                 reflection::ServerReflectionResponse>>
        stream;
  };
  std::vector<Open> open;
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  reflection::ServerReflectionResponse response;
  int before = 0;
  for (int i = 0; i < kStreams; ++i) {
    auto stub = reflection::ServerReflection::NewStub(channels[i % kChannels]);
    Open o;
    o.context = std::make_unique<grpc::ClientContext>();
    o.stream = stub->ServerReflectionInfo(o.context.get());
    // One answer: the stream is open on the server, then stays idle.
    ASSERT_TRUE(o.stream->Write(request)) << i;
    ASSERT_TRUE(o.stream->Read(&response)) << i;
    ASSERT_TRUE(response.has_list_services_response());
    open.push_back(std::move(o));
    if (i == kChannels - 1)
      before = ProcessThreads();  // every connection is up
  }
  int during = ProcessThreads();
  std::cout << before << " threads before, " << during << " with " << kStreams
            << " idle reflection streams\n";
  EXPECT_LT(during - before, kMaxExtraThreads);
  for (Open& o : open) {
    o.stream->WritesDone();
    EXPECT_TRUE(o.stream->Finish().ok());
  }
}

TEST(LongStreamsTest, HealthWatchStreamsHoldNoThreadEach) {
  TestServer server;
  auto channels = SeparateChannels(server, kChannels);
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<health::HealthCheckResponse>> stream;
  };
  std::vector<Open> open;
  health::HealthCheckRequest request;
  health::HealthCheckResponse response;
  int before = 0;
  for (int i = 0; i < kStreams; ++i) {
    auto stub = health::Health::NewStub(channels[i % kChannels]);
    Open o;
    o.context = std::make_unique<grpc::ClientContext>();
    o.stream = stub->Watch(o.context.get(), request);
    ASSERT_TRUE(o.stream->Read(&response)) << i;
    EXPECT_EQ(response.status(), health::HealthCheckResponse::SERVING);
    open.push_back(std::move(o));
    if (i == kChannels - 1) before = ProcessThreads();
  }
  int during = ProcessThreads();
  std::cout << before << " threads before, " << during << " with " << kStreams
            << " health Watch streams\n";
  EXPECT_LT(during - before, kMaxExtraThreads);
  for (Open& o : open) o.context->TryCancel();
  for (Open& o : open) o.stream->Finish();
}

TEST(LongStreamsTest, StreamsPerConnectionAreBounded) {
  constexpr int kMax = 10;
  TestServer server(
      [](ServerOptions& o) { o.transport.max_concurrent_streams = kMax; });
  auto channel = SeparateChannels(server, 1)[0];
  auto stub = reflection::ServerReflection::NewStub(channel);
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  reflection::ServerReflectionResponse response;
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<
        grpc::ClientReaderWriter<reflection::ServerReflectionRequest,
                                 reflection::ServerReflectionResponse>>
        stream;
  };
  std::vector<Open> open;
  for (int i = 0; i < kMax + 1; ++i) {
    Open o;
    o.context = std::make_unique<grpc::ClientContext>();
    o.context->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::milliseconds(i < kMax ? 30000 : 300));
    o.stream = stub->ServerReflectionInfo(o.context.get());
    bool answered = o.stream->Write(request) && o.stream->Read(&response);
    // The server allows kMax streams on the connection; the client holds
    // the next one back until its deadline.
    EXPECT_EQ(answered, i < kMax) << i;
    open.push_back(std::move(o));
  }
  EXPECT_EQ(open.back().stream->Finish().error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  open.pop_back();
  for (Open& o : open) {
    o.stream->WritesDone();
    EXPECT_TRUE(o.stream->Finish().ok());
  }
}

}  // namespace
}  // namespace segments::testing
