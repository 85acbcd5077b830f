// Server reflection (what grpcurl uses) and the standard health service,
// through a real channel. Neither needs an API key.
#include <memory>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

namespace reflection = ::grpc::reflection::v1alpha;
using ::testing::Contains;
using ::testing::IsSupersetOf;
using ::testing::Not;

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

// A descriptor pool made only of what reflection answered for `symbol`: what
// a reflection client (grpcurl, buf curl, Postman) knows after resolving a
// service. The database must outlive the pool.
struct ReflectedPool {
  google::protobuf::SimpleDescriptorDatabase database;
  std::unique_ptr<google::protobuf::DescriptorPool> pool;
  std::set<std::string> files;
};
std::unique_ptr<ReflectedPool> Resolve(TestServer& server,
                                       const std::string& symbol) {
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  reflection::ServerReflectionResponse response = Ask(server, request);
  auto reflected = std::make_unique<ReflectedPool>();
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    reflected->files.insert(file.name());
    EXPECT_TRUE(reflected->database.Add(file)) << file.name();
  }
  reflected->pool =
      std::make_unique<google::protobuf::DescriptorPool>(&reflected->database);
  return reflected;
}

// The first detail of `status` of type `type_name`, decoded with `pool`'s
// descriptors only (not the generated classes), as a client that knows the
// API by reflection decodes it.
std::unique_ptr<google::protobuf::Message> DecodeDetail(
    const grpc::Status& status, const google::protobuf::DescriptorPool& pool,
    google::protobuf::DynamicMessageFactory& factory,
    const std::string& type_name) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  for (const auto& any : details.details()) {
    if (any.type_url() != "type.googleapis.com/" + type_name) continue;
    const google::protobuf::Descriptor* type =
        pool.FindMessageTypeByName(type_name);
    if (type == nullptr) return nullptr;
    std::unique_ptr<google::protobuf::Message> message(
        factory.GetPrototype(type)->New());
    EXPECT_TRUE(message->ParseFromString(any.value()));
    return message;
  }
  ADD_FAILURE() << "no " << type_name << " in the details";
  return nullptr;
}

TEST(ReflectionTest, EveryServiceBringsTheErrorDetailTypes) {
  TestServer server;
  for (const char* service :
       {"segments.v1.SegmentService", "segments.v1.ContactService",
        "segments.v1.WorkspaceAdmin", "segments.v1.ChangeFeedService",
        "segments.v1.MembershipHistoryService",
        "segments.v1.AudienceSnapshotService"}) {
    std::unique_ptr<ReflectedPool> reflected = Resolve(server, service);
    EXPECT_THAT(reflected->files, Contains("google/rpc/error_details.proto"))
        << service;
    EXPECT_NE(reflected->pool->FindServiceByName(service), nullptr) << service;
    EXPECT_NE(reflected->pool->FindMessageTypeByName("google.rpc.BadRequest"),
              nullptr)
        << service;
    EXPECT_NE(reflected->pool->FindMessageTypeByName("google.rpc.ErrorInfo"),
              nullptr)
        << service;
  }
}

TEST(ReflectionTest, AFileWithoutAServiceDoesNotBringThem) {
  // Only the answer for a file that declares a service carries the extra
  // file (every segments.v1 file does); other files come with their imports
  // only, as before.
  TestServer server;
  std::unique_ptr<ReflectedPool> reflected =
      Resolve(server, "google.protobuf.Timestamp");
  EXPECT_EQ(reflected->files,
            std::set<std::string>{"google/protobuf/timestamp.proto"});
}

TEST(ReflectionTest, TheErrorDetailTypesAreFoundByName) {
  TestServer server;
  for (const char* type : {"google.rpc.BadRequest", "google.rpc.ErrorInfo"}) {
    std::unique_ptr<ReflectedPool> reflected = Resolve(server, type);
    EXPECT_NE(reflected->pool->FindMessageTypeByName(type), nullptr) << type;
  }
}

TEST(ReflectionTest, DecodesRealErrorDetailsWithReflectedTypesOnly) {
  TestServer server;
  auto ws = server.CreateWorkspace("acme", v1::FREE);
  std::unique_ptr<ReflectedPool> contacts =
      Resolve(server, "segments.v1.ContactService");
  std::unique_ptr<ReflectedPool> segments =
      Resolve(server, "segments.v1.SegmentService");
  google::protobuf::DynamicMessageFactory factory;

  // INVALID_ARGUMENT with a BadRequest.
  v1::CreateContactRequest create_contact;
  create_contact.mutable_contact()->set_email("not an email");
  v1::Contact contact;
  grpc::Status bad = server.contacts().CreateContact(Ctx(ws.api_key).get(),
                                                     create_contact, &contact);
  ASSERT_THAT(bad, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  std::unique_ptr<google::protobuf::Message> bad_request =
      DecodeDetail(bad, *contacts->pool, factory, "google.rpc.BadRequest");
  ASSERT_NE(bad_request, nullptr);
  const google::protobuf::Descriptor* type = bad_request->GetDescriptor();
  const google::protobuf::Reflection* fields = bad_request->GetReflection();
  const google::protobuf::FieldDescriptor* violations =
      type->FindFieldByName("field_violations");
  ASSERT_NE(violations, nullptr);
  ASSERT_EQ(fields->FieldSize(*bad_request, violations), 1);
  const google::protobuf::Message& violation =
      fields->GetRepeatedMessage(*bad_request, violations, 0);
  EXPECT_EQ(violation.GetReflection()->GetString(
                violation, violation.GetDescriptor()->FindFieldByName("field")),
            "contact.email");

  // PERMISSION_DENIED with an ErrorInfo: FREE allows no segment.
  v1::CreateSegmentRequest create_segment;
  *create_segment.mutable_segment() =
      MakeSegment("tagged", {MakeCondition("tags", v1::Condition::IS_SET, {})});
  v1::Segment segment;
  grpc::Status denied = server.segments().CreateSegment(
      Ctx(ws.api_key).get(), create_segment, &segment);
  ASSERT_THAT(denied, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  std::unique_ptr<google::protobuf::Message> info =
      DecodeDetail(denied, *segments->pool, factory, "google.rpc.ErrorInfo");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->GetReflection()->GetString(
                *info, info->GetDescriptor()->FindFieldByName("reason")),
            "PLAN_UPGRADE_REQUIRED");
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
