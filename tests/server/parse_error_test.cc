// Requests that do not parse (issue 11, item 7): the key is checked first,
// so a caller without a valid key learns UNAUTHENTICATED on every method;
// and bad input writes no log line per request, only a summary at most once
// a minute.
#include <grpcpp/generic/generic_stub.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/temp_dir.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// `message` serialized with every "@@@@" replaced by bytes that are not
// UTF-8, so it does not parse.
std::string NotUtf8(const google::protobuf::Message& message) {
  std::string bytes = message.SerializeAsString();
  for (size_t at = bytes.find("@@@@"); at != std::string::npos;
       at = bytes.find("@@@@", at)) {
    bytes.replace(at, 4, "\xff\xfe\xff\xfe");
  }
  return bytes;
}

grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& method, const std::string& bytes,
                     std::string_view key) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::unique_ptr<grpc::ClientContext> context = Ctx(key);
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                 &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

struct Case {
  std::string method;
  std::string bytes;
};

std::vector<Case> Cases() {
  v1::CreateWorkspaceRequest workspace;
  workspace.mutable_workspace()->set_display_name("@@@@");
  v1::CreateSegmentRequest segment;
  segment.mutable_segment()->set_display_name("@@@@");
  v1::CreateContactRequest contact;
  contact.mutable_contact()->set_email("@@@@");
  v1::BatchUpsertContactsRequest batch;
  batch.add_contacts()->set_email("@@@@");
  return {
      {"/segments.v1.WorkspaceAdmin/CreateWorkspace", NotUtf8(workspace)},
      {"/segments.v1.SegmentService/CreateSegment", NotUtf8(segment)},
      {"/segments.v1.ContactService/CreateContact", NotUtf8(contact)},
      {"/segments.v1.ContactService/BatchUpsertContacts", NotUtf8(batch)},
      // Served on the callback API; field 1's tag without its varint.
      {"/segments.v1.SegmentService/CountSegmentMembers", std::string("\x08")},
  };
}

TEST(ParseErrorTest, WithoutAValidKeyIsUnauthenticatedOnEveryMethod) {
  TestServer server;
  std::string key = server.CreateWorkspace("P", v1::STARTER).api_key;
  for (const Case& c : Cases()) {
    for (std::string_view bad_key :
         {std::string_view(), std::string_view("sk_nope")}) {
      EXPECT_THAT(RawCall(server.channel(), c.method, c.bytes, bad_key),
                  GrpcIs(grpc::StatusCode::UNAUTHENTICATED))
          << c.method << " key '" << bad_key << "'";
    }
    // With the right key the same bytes are bad input.
    std::string good_key = absl::StrContains(c.method, "WorkspaceAdmin")
                               ? std::string(kTestAdminKey)
                               : key;
    EXPECT_THAT(RawCall(server.channel(), c.method, c.bytes, good_key),
                GrpcIs(grpc::StatusCode::INVALID_ARGUMENT))
        << c.method;
  }
}

// After a restart the workspace is closed: its key is still good, and bad
// bytes are INVALID_ARGUMENT on every method, the callback one included
// (answered on gRPC's thread without opening the workspace,
// RegistryTest.CheckKeyIfKnownNeverOpensAWorkspace); a bad key is still
// UNAUTHENTICATED.
TEST(ParseErrorTest, AClosedWorkspacesKeyIsStillCheckedFirst) {
  TestServer server;
  std::string key = server.CreateWorkspace("P", v1::STARTER).api_key;
  server.Restart();
  for (const Case& c : Cases()) {
    if (absl::StrContains(c.method, "WorkspaceAdmin")) continue;
    EXPECT_THAT(RawCall(server.channel(), c.method, c.bytes, "sk_nope"),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED))
        << c.method;
    EXPECT_THAT(RawCall(server.channel(), c.method, c.bytes, key),
                GrpcIs(grpc::StatusCode::INVALID_ARGUMENT))
        << c.method;
  }
}

TEST(ParseErrorTest, BadInputIsCountedNotLoggedPerRequest) {
  TestServer server;
  std::vector<Case> cases = Cases();
  TempDir dir("parse_error_log");
  std::string log_path = dir.path() + "/stderr";
  // Everything this process writes to stderr meanwhile goes to the file.
  std::fflush(stderr);
  int saved = dup(2);
  FILE* file = std::fopen(log_path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  dup2(fileno(file), 2);
  constexpr int kRequests = 200;
  int unauthenticated = 0;
  for (int i = 0; i < kRequests; ++i) {
    const Case& c = cases[i % cases.size()];
    grpc::Status status = RawCall(server.channel(), c.method, c.bytes, "");
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      ++unauthenticated;
    }
  }
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(file);
  EXPECT_EQ(unauthenticated, kRequests);

  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines =
      absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  // The server's lines and protobuf's (a sanitizer may add its own).
  std::vector<std::string> server_lines;
  for (const std::string& line : lines) {
    EXPECT_FALSE(absl::StartsWith(line, "[libprotobuf")) << line;
    EXPECT_THAT(line, Not(HasSubstr("invalid UTF-8 data")));
    if (absl::StrContains(line, "segments-server:")) {
      server_lines.push_back(line);
    }
  }
  // At most the one summary line (none if an earlier test in this process
  // logged one less than a minute ago).
  EXPECT_LE(server_lines.size(), 1u) << text.str();
  for (const std::string& line : server_lines) {
    EXPECT_THAT(line, HasSubstr("could not be parsed in the last minute"));
  }
}

}  // namespace
}  // namespace segments::testing
