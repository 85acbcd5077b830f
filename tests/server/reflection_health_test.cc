// Server reflection (what grpcurl uses) and the standard health service,
// through a real channel. Neither needs an API key.
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

namespace reflection = ::grpc::reflection::v1alpha;
using ::testing::Contains;
using ::testing::IsSupersetOf;

// One request on the reflection stream; the single response.
reflection::ServerReflectionResponse Ask(
    TestServer& server, const reflection::ServerReflectionRequest& request) {
  auto stub = reflection::ServerReflection::NewStub(server.channel());
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  EXPECT_TRUE(stream->Write(request));
  EXPECT_TRUE(stream->WritesDone());
  reflection::ServerReflectionResponse response;
  EXPECT_TRUE(stream->Read(&response));
  EXPECT_THAT(stream->Finish(), GrpcOk());
  return response;
}

TEST(ReflectionTest, ListsTheServices) {
  TestServer server;
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  reflection::ServerReflectionResponse response = Ask(server, request);
  ASSERT_TRUE(response.has_list_services_response());
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.insert(service.name());
  }
  EXPECT_THAT(
      names,
      IsSupersetOf({"segments.v1.SegmentService", "segments.v1.ContactService",
                    "segments.v1.WorkspaceAdmin",
                    "segments.v1.MembershipHistoryService",
                    "segments.v1.AudienceSnapshotService",
                    "segments.v1.AnalyticsService", "grpc.health.v1.Health",
                    "grpc.reflection.v1alpha.ServerReflection"}));
}

TEST(ReflectionTest, DescribesTheSegmentService) {
  TestServer server;
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol("segments.v1.SegmentService");
  reflection::ServerReflectionResponse response = Ask(server, request);
  ASSERT_TRUE(response.has_file_descriptor_response());
  bool found = false;
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    if (file.name() != "segments/v1/segments.proto") continue;
    found = true;
    std::set<std::string> methods;
    for (const auto& service : file.service()) {
      if (service.name() != "SegmentService") continue;
      for (const auto& method : service.method()) methods.insert(method.name());
    }
    EXPECT_THAT(methods,
                IsSupersetOf({"CreateSegment", "GetSegment", "ListSegments",
                              "UpdateSegment", "DeleteSegment",
                              "CountSegmentMembers", "ListSegmentMembers"}));
  }
  EXPECT_TRUE(found);
}

TEST(HealthTest, ServingForTheServerAndEachService) {
  TestServer server;
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  for (const char* service :
       {"", "segments.v1.SegmentService", "segments.v1.ContactService",
        "segments.v1.WorkspaceAdmin", "segments.v1.MembershipHistoryService",
        "segments.v1.AudienceSnapshotService",
        "segments.v1.AnalyticsService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    ASSERT_THAT(stub->Check(&context, request, &response), GrpcOk()) << service;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING)
        << service;
  }
}

}  // namespace
}  // namespace segments::testing
