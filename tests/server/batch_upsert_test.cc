// BatchUpsertContacts through a real channel. The method is served raw (its
// handler parses the request itself, on an arena), so these check that it
// answers every caller as a typed method would: the response views, bad
// input (including bytes that do not parse), limits, auth, and that every
// method of ContactService is still routed.
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/contact_service.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// A contact with every field set.
v1::Contact FullContact(std::string email, int n) {
  v1::Contact c = MakeContact(std::move(email), "Germany", v1::MQL);
  c.set_company(absl::StrCat("Company number ", n, " incorporated"));
  c.set_job_title("Head of Things");
  c.set_city("Berlin");
  c.set_source("webinar");
  // Tags as the service stores them (sorted), so an echo equals the input.
  c.add_tags(absl::StrCat("cohort-", n));
  c.add_tags("vip");
  c.set_lead_score(10 + n);
  c.set_engagement_score(n % 100);
  c.set_engagement_trend(v1::RISING);
  c.set_conversion_likelihood(v1::LIKELY);
  c.mutable_created_at()->set_seconds(1600000000 + n);
  c.mutable_last_engaged_at()->set_seconds(1700000000 + n);
  return c;
}

// Sends `bytes` to `method` as they are, without a typed stub.
//
// Through a completion queue this thread drains, not the callback API: the
// call's result is then finished on this thread. (The callback API finishes
// it on a gRPC thread, after a lock-free hand-off inside libgrpc that
// ThreadSanitizer cannot see, so the TSan build would report grpcpp's own
// accesses to the call as races.)
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& method, const std::string& bytes,
                     std::string_view key, grpc::ByteBuffer* response) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::ClientContext> context = Ctx(key);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(context.get(), method, request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(response, &status, &status);
  void* tag = nullptr;
  bool ok = false;
  // The one tag is Finish's; then the queue is shut down and drained, as
  // its destructor requires.
  EXPECT_TRUE(cq.Next(&tag, &ok));
  EXPECT_EQ(tag, &status);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

class BatchUpsertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = server_.CreateWorkspace("B", v1::GROWTH).api_key;
  }

  grpc::Status Batch(const v1::BatchUpsertContactsRequest& request,
                     v1::BatchUpsertContactsResponse* response,
                     std::string_view key) {
    return server_.contacts().BatchUpsertContacts(Ctx(key).get(), request,
                                                  response);
  }
  grpc::Status Batch(const v1::BatchUpsertContactsRequest& request,
                     v1::BatchUpsertContactsResponse* response) {
    return Batch(request, response, key_);
  }

  v1::Contact Get(uint64_t id) {
    v1::GetContactRequest request;
    request.set_id(id);
    v1::Contact contact;
    EXPECT_THAT(
        server_.contacts().GetContact(Ctx(key_).get(), request, &contact),
        GrpcOk());
    return contact;
  }

  // No contact was written: contact 1 does not exist.
  void ExpectEmpty() {
    v1::GetContactRequest request;
    request.set_id(1);
    v1::Contact contact;
    EXPECT_THAT(
        server_.contacts().GetContact(Ctx(key_).get(), request, &contact),
        GrpcIs(grpc::StatusCode::NOT_FOUND))
        << "a contact was written";
  }

  // Ten new contacts (p0..p9@x.example), every field set.
  v1::BatchUpsertContactsRequest Mixed(v1::ContactView view) {
    v1::BatchUpsertContactsRequest request;
    request.set_view(view);
    for (int i = 0; i < 10; ++i) {
      *request.add_contacts() =
          FullContact(absl::StrCat("p", i, "@x.example"), i);
    }
    return request;
  }

  TestServer server_;
  std::string key_;
};

TEST_F(BatchUpsertTest, BasicViewReturnsIdsAndEmailsInRequestOrder) {
  v1::BatchUpsertContactsRequest first = Mixed(v1::CONTACT_VIEW_BASIC);
  v1::BatchUpsertContactsResponse created;
  ASSERT_THAT(Batch(first, &created), GrpcOk());
  EXPECT_EQ(created.created_count(), 10u);
  EXPECT_EQ(created.updated_count(), 0u);
  ASSERT_EQ(created.contacts_size(), 10);
  for (int i = 0; i < 10; ++i) {
    v1::Contact expected;
    expected.set_id(static_cast<uint64_t>(i + 1));
    expected.set_email(absl::StrCat("p", i, "@x.example"));
    EXPECT_TRUE(MessageDifferencer::Equals(created.contacts(i), expected))
        << created.contacts(i).ShortDebugString();
    // Stored in full all the same.
    EXPECT_EQ(Get(expected.id()).company(), first.contacts(i).company());
  }

  // Updates and creates mixed, in an order unlike the ids'; emails come back
  // normalized.
  v1::BatchUpsertContactsRequest second;
  second.set_view(v1::CONTACT_VIEW_BASIC);
  *second.add_contacts() = MakeContact("new-a@x.example");
  *second.add_contacts() = MakeContact(" P7@X.example ", "France");
  *second.add_contacts() = MakeContact("new-b@x.example");
  *second.add_contacts() = MakeContact("p3@x.example", "Spain");
  v1::BatchUpsertContactsResponse upserted;
  ASSERT_THAT(Batch(second, &upserted), GrpcOk());
  EXPECT_EQ(upserted.created_count(), 2u);
  EXPECT_EQ(upserted.updated_count(), 2u);
  std::vector<std::string> got;
  for (const v1::Contact& c : upserted.contacts()) {
    got.push_back(absl::StrCat(c.id(), " ", c.email(), " ", c.country(), " ",
                               c.tags_size(), " ", c.has_created_at()));
  }
  EXPECT_THAT(got,
              ElementsAre("11 new-a@x.example  0 0", "8 p7@x.example  0 0",
                          "12 new-b@x.example  0 0", "4 p3@x.example  0 0"));
  EXPECT_EQ(Get(8).country(), "France");
}

TEST_F(BatchUpsertTest, FullAndUnspecifiedViewsEchoWholeContacts) {
  for (v1::ContactView view :
       {v1::CONTACT_VIEW_UNSPECIFIED, v1::CONTACT_VIEW_FULL}) {
    SCOPED_TRACE(v1::ContactView_Name(view));
    v1::BatchUpsertContactsRequest request = Mixed(view);
    v1::BatchUpsertContactsResponse response;
    ASSERT_THAT(Batch(request, &response), GrpcOk());
    ASSERT_EQ(response.contacts_size(), 10);
    for (int i = 0; i < 10; ++i) {
      const v1::Contact& echoed = response.contacts(i);
      // Exactly what GetContact (the typed path) says of the same contact.
      v1::Contact stored = Get(echoed.id());
      EXPECT_TRUE(MessageDifferencer::Equals(echoed, stored))
          << "echoed " << echoed.ShortDebugString() << "\nstored "
          << stored.ShortDebugString();
      v1::Contact sent = request.contacts(i);
      sent.set_id(echoed.id());
      EXPECT_TRUE(MessageDifferencer::Equals(echoed, sent))
          << "echoed " << echoed.ShortDebugString() << "\nsent "
          << sent.ShortDebugString();
    }
  }
}

TEST_F(BatchUpsertTest, UnknownViewIsInvalidArgument) {
  for (int view : {3, -1, 1000}) {
    v1::BatchUpsertContactsRequest request = Mixed(v1::CONTACT_VIEW_BASIC);
    request.set_view(static_cast<v1::ContactView>(view));
    v1::BatchUpsertContactsResponse response;
    grpc::Status status = Batch(request, &response);
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(ViolationFields(status), ElementsAre("view"))
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(view)));
  }
  ExpectEmpty();
}

TEST_F(BatchUpsertTest, BytesThatDoNotParseAreInvalidArgument) {
  // A truncated varint, a field with wire type 7, and a string that is not
  // UTF-8 (proto3 refuses it): with a key INVALID_ARGUMENT; without one, or
  // with a bad one, UNAUTHENTICATED (the key is checked first).
  v1::BatchUpsertContactsRequest bad_utf8;
  bad_utf8.add_contacts()->set_city("\xff\xfe");
  std::string not_utf8;
  ASSERT_TRUE(bad_utf8.SerializePartialToString(&not_utf8));
  for (const std::string& bytes :
       {std::string("\x08\xff\xff", 3), std::string("\x0f\x01", 2), not_utf8}) {
    for (std::string_view key : {std::string_view(key_), std::string_view(),
                                 std::string_view("sk_nope")}) {
      grpc::ByteBuffer response;
      grpc::Status status = RawCall(
          server_.channel(), kBatchUpsertContactsMethod, bytes, key, &response);
      if (key != key_) {
        EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
        continue;
      }
      EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_EQ(status.error_message(),
                "the request is not a valid message for "
                "/segments.v1.ContactService/BatchUpsertContacts (it does not "
                "parse; proto3 string fields must be valid UTF-8)");
    }
  }
  ExpectEmpty();
}

TEST_F(BatchUpsertTest, InvalidUtf8FromATypedStubIsInvalidArgument) {
  v1::BatchUpsertContactsRequest request;
  *request.add_contacts() = MakeContact("a@x.example");
  request.mutable_contacts(0)->set_company("\xff\xfe");
  v1::BatchUpsertContactsResponse response;
  grpc::Status status = Batch(request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(status.error_message(), HasSubstr("UTF-8"));
  ExpectEmpty();
}

TEST_F(BatchUpsertTest, RawBytesOfAValidRequestWork) {
  v1::BatchUpsertContactsRequest request = Mixed(v1::CONTACT_VIEW_BASIC);
  grpc::ByteBuffer raw;
  ASSERT_THAT(RawCall(server_.channel(), kBatchUpsertContactsMethod,
                      request.SerializeAsString(), key_, &raw),
              GrpcOk());
  v1::BatchUpsertContactsResponse response;
  ASSERT_TRUE(
      grpc::SerializationTraits<v1::BatchUpsertContactsResponse>::Deserialize(
          &raw, &response)
          .ok());
  EXPECT_EQ(response.created_count(), 10u);
  EXPECT_EQ(response.contacts_size(), 10);
}

TEST_F(BatchUpsertTest, ViolationsNameTheContactsIndex) {
  v1::BatchUpsertContactsRequest request = Mixed(v1::CONTACT_VIEW_BASIC);
  request.mutable_contacts(7)->set_email("not an email");
  request.mutable_contacts(7)->set_engagement_score(101);
  v1::BatchUpsertContactsResponse response;
  grpc::Status status = Batch(request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(
      ViolationFields(status),
      UnorderedElementsAre("contacts[7].email", "contacts[7].engagement_score"))
      << status.error_message();
  ExpectEmpty();

  // Bad nanos are reported by the server, also under the contact's index.
  request = Mixed(v1::CONTACT_VIEW_FULL);
  request.mutable_contacts(7)->mutable_created_at()->set_nanos(-1);
  request.mutable_contacts(9)->mutable_last_engaged_at()->set_nanos(1000000000);
  status = Batch(request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(
      ViolationFields(status),
      ElementsAre("contacts[7].created_at", "contacts[9].last_engaged_at"))
      << status.error_message();
  ExpectEmpty();
}

TEST_F(BatchUpsertTest, UnauthenticatedWritesNothing) {
  v1::BatchUpsertContactsRequest request = Mixed(v1::CONTACT_VIEW_BASIC);
  v1::BatchUpsertContactsResponse response;
  EXPECT_THAT(Batch(request, &response, ""),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(Batch(request, &response, "sk_not_a_key"),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  ExpectEmpty();
}

TEST(BatchUpsertLimitTest, OverTheLimitNamesItAndWritesNothing) {
  TestServer server([](ServerOptions& o) { o.limits.max_batch_contacts = 5; });
  std::string key = server.CreateWorkspace("L", v1::STARTER).api_key;
  v1::BatchUpsertContactsRequest request;
  request.set_view(v1::CONTACT_VIEW_BASIC);
  for (int i = 0; i < 6; ++i)
    *request.add_contacts() = MakeContact(absl::StrCat(i, "@x.example"));
  v1::BatchUpsertContactsResponse response;
  grpc::Status status =
      server.contacts().BatchUpsertContacts(Ctx(key).get(), request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(status), ElementsAre("contacts"));
  EXPECT_THAT(status.error_message(), HasSubstr("max_batch_contacts"));
  v1::GetContactRequest get;
  get.set_id(1);
  v1::Contact contact;
  EXPECT_THAT(server.contacts().GetContact(Ctx(key).get(), get, &contact),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  // At the limit it goes through.
  request.mutable_contacts()->RemoveLast();
  EXPECT_THAT(
      server.contacts().BatchUpsertContacts(Ctx(key).get(), request, &response),
      GrpcOk());
  EXPECT_EQ(response.created_count(), 5u);
}

TEST_F(BatchUpsertTest, TenThousandContactsInBothViews) {
  for (v1::ContactView view : {v1::CONTACT_VIEW_BASIC, v1::CONTACT_VIEW_FULL}) {
    SCOPED_TRACE(v1::ContactView_Name(view));
    v1::BatchUpsertContactsRequest request;
    request.set_view(view);
    for (int i = 0; i < 10000; ++i) {
      *request.add_contacts() = FullContact(
          absl::StrCat(static_cast<int>(view), "-", i, "@bulk.example"), i);
    }
    v1::BatchUpsertContactsResponse response;
    ASSERT_THAT(Batch(request, &response), GrpcOk());
    EXPECT_EQ(response.created_count(), 10000u);
    ASSERT_EQ(response.contacts_size(), 10000);
    for (int i : {0, 4999, 9999}) {
      EXPECT_EQ(response.contacts(i).email(), request.contacts(i).email());
      EXPECT_EQ(
          response.contacts(i).company(),
          view == v1::CONTACT_VIEW_FULL ? request.contacts(i).company() : "");
    }
  }
}

TEST_F(BatchUpsertTest, MessageOver16MiBIsResourceExhausted) {
  v1::BatchUpsertContactsRequest request;
  for (int i = 0; i < 80; ++i) {
    v1::Contact* c = request.add_contacts();
    c->set_email(absl::StrCat(i, "@big.example"));
    c->set_company(std::string(220 * 1024, 'x'));
  }
  ASSERT_GT(request.ByteSizeLong(), size_t{16} << 20);
  v1::BatchUpsertContactsResponse response;
  EXPECT_THAT(Batch(request, &response),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  ExpectEmpty();
}

// A request under the message limit whose FULL echo (ids, created_at,
// lifecycle_stage added) is over it: refused before anything is written,
// not committed and then answered "Sent message larger than max".
TEST_F(BatchUpsertTest, EchoOverTheMessageLimitIsRefusedBeforeWriting) {
  v1::BatchUpsertContactsRequest request;
  for (int i = 0; i < 10000; ++i) {
    v1::Contact* c = request.add_contacts();
    c->set_email(absl::StrCat("echo", i, "@big.example"));
    c->set_company(std::string(256, 'c'));
    c->set_job_title(std::string(256, 'j'));
    c->set_country(std::string(256, 'n'));
    c->set_city(std::string(256, 'y'));
    c->set_source(std::string(256, 's'));
    for (int t = 0; t < 5; ++t)
      c->add_tags(absl::StrCat(t, std::string(60, 't')));
  }
  // Pad the first contacts' tags until the request is just under the limit.
  constexpr size_t kLimit = size_t{16} << 20;
  for (int i = 0; request.ByteSizeLong() < kLimit - 60000; ++i) {
    request.mutable_contacts(i)->add_tags(std::string(60, 'p'));
  }
  ASSERT_LT(request.ByteSizeLong(), kLimit - 50000);
  v1::BatchUpsertContactsResponse response;
  grpc::Status status = Batch(request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(status.error_message(), HasSubstr("max_message_bytes"));
  ExpectEmpty();
  // The same batch answered with ids and emails goes through.
  request.set_view(v1::CONTACT_VIEW_BASIC);
  EXPECT_THAT(Batch(request, &response), GrpcOk());
  EXPECT_EQ(response.created_count(), 10000u);
}

// An update of few fields echoes the rest as stored: contacts with 100 long
// tags each, updated by a small request, would echo more than the limit.
TEST_F(BatchUpsertTest, MaskedUpdateWhoseEchoIsOverTheLimitChangesNothing) {
  constexpr int kContacts = 2600;
  auto email = [](int i) { return absl::StrCat("tagged", i, "@big.example"); };
  for (int half = 0; half < 2; ++half) {
    v1::BatchUpsertContactsRequest create;
    create.set_view(v1::CONTACT_VIEW_BASIC);
    for (int i = half * kContacts / 2; i < (half + 1) * kContacts / 2; ++i) {
      v1::Contact* c = create.add_contacts();
      c->set_email(email(i));
      for (int t = 0; t < 100; ++t) {
        c->add_tags(absl::StrCat(100 + t, std::string(61, 't')));
      }
    }
    v1::BatchUpsertContactsResponse created;
    ASSERT_THAT(Batch(create, &created), GrpcOk());
  }
  v1::BatchUpsertContactsRequest update;
  update.mutable_update_mask()->add_paths("lead_score");
  for (int i = 0; i < kContacts; ++i) {
    v1::Contact* c = update.add_contacts();
    c->set_email(email(i));
    c->set_lead_score(77);
  }
  v1::BatchUpsertContactsResponse response;
  grpc::Status status = Batch(update, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(status.error_message(), HasSubstr("CONTACT_VIEW_BASIC"));
  EXPECT_EQ(Get(1).lead_score(), 0) << "a refused batch was written";
  EXPECT_EQ(Get(kContacts).lead_score(), 0) << "a refused batch was written";
  // With view BASIC the same update goes through.
  update.set_view(v1::CONTACT_VIEW_BASIC);
  ASSERT_THAT(Batch(update, &response), GrpcOk());
  EXPECT_EQ(response.updated_count(), static_cast<uint32_t>(kContacts));
  EXPECT_EQ(Get(1).lead_score(), 77);
}

TEST_F(BatchUpsertTest, EveryMethodOfTheServiceIsRouted) {
  // The service registers its methods by name itself; each name of the
  // proto's service must reach a handler (an empty request without a key is
  // UNAUTHENTICATED, never UNIMPLEMENTED).
  const google::protobuf::ServiceDescriptor* service =
      v1::Contact::descriptor()->file()->FindServiceByName("ContactService");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    std::string method = absl::StrCat("/", service->full_name(), "/",
                                      service->method(i)->name());
    grpc::ByteBuffer response;
    EXPECT_THAT(RawCall(server_.channel(), method, "", "", &response),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED))
        << method;
  }
}

TEST_F(BatchUpsertTest, ReflectionShowsTheRealTypes) {
  // What grpcurl asks: the file that defines ContactService.
  namespace reflection = ::grpc::reflection::v1alpha;
  auto stub = reflection::ServerReflection::NewStub(server_.channel());
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol("segments.v1.ContactService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->WritesDone());
  reflection::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(stream->Finish(), GrpcOk());
  std::vector<std::string> batch;
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    if (file.name() != "segments/v1/contacts.proto") continue;
    for (const auto& service : file.service()) {
      for (const auto& method : service.method()) {
        if (method.name() != "BatchUpsertContacts") continue;
        batch.push_back(method.input_type());
        batch.push_back(method.output_type());
      }
    }
    for (const auto& message : file.message_type()) {
      if (message.name() != "BatchUpsertContactsRequest") continue;
      for (const auto& field : message.field()) {
        if (field.name() == "view") batch.push_back(field.type_name());
      }
    }
  }
  EXPECT_THAT(batch, ElementsAre(".segments.v1.BatchUpsertContactsRequest",
                                 ".segments.v1.BatchUpsertContactsResponse",
                                 ".segments.v1.ContactView"));
}

TEST(BatchUpsertSlowCallTest, SlowCallLogNamesTheMethod) {
  TestServer server(
      [](ServerOptions& o) { o.slow_call_threshold = absl::Nanoseconds(1); });
  std::string key = server.CreateWorkspace("S", v1::STARTER).api_key;
  v1::BatchUpsertContactsRequest request;
  *request.add_contacts() = MakeContact("a@x.example");
  v1::BatchUpsertContactsResponse response;
  ::testing::internal::CaptureStderr();
  grpc::Status status =
      server.contacts().BatchUpsertContacts(Ctx(key).get(), request, &response);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(status, GrpcOk());
  EXPECT_THAT(
      log,
      HasSubstr(
          "slow call: /segments.v1.ContactService/BatchUpsertContacts took"));
}

}  // namespace
}  // namespace segments::testing
