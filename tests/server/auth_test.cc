// Authentication and tenant isolation through a real channel: every call
// needs `authorization: Bearer <key>`; a workspace key reaches only its own
// workspace (another workspace's ids are NOT_FOUND); admin calls need the
// admin key; rotated and deleted keys stop working at once.
#include "server/auth.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/base/clock.h"
#include "core/engine/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_catalog.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AuthTest : public ::testing::Test {
 protected:
  grpc::Status ListSegmentsWith(grpc::ClientContext* context) {
    v1::ListSegmentsRequest request;
    v1::ListSegmentsResponse response;
    return server_.segments().ListSegments(context, request, &response);
  }
  std::unique_ptr<grpc::ClientContext> RawAuth(const std::string& value) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", value);
    return context;
  }
  // The new key of workspace `id`, rotated with the admin key ("" and a
  // test failure when the call fails).
  std::string RotateKey(uint64_t id) {
    v1::RotateWorkspaceKeyRequest rotate;
    rotate.set_id(id);
    v1::RotateWorkspaceKeyResponse rotated;
    EXPECT_THAT(server_.admin().RotateWorkspaceKey(Ctx(kTestAdminKey).get(),
                                                   rotate, &rotated),
                GrpcOk());
    return rotated.api_key();
  }
  grpc::Status CreateWorkspaceWith(const std::string& key) {
    v1::CreateWorkspaceRequest request;
    request.mutable_workspace()->set_display_name("x");
    v1::CreateWorkspaceResponse response;
    return server_.admin().CreateWorkspace(Ctx(key).get(), request, &response);
  }
  // Imports German contacts with `emails` into the key's workspace and
  // creates a segment over them, "Germany" (default-constructed and a test
  // failure when a call fails).
  v1::Segment GermanContactsAndSegment(
      const std::string& key, std::initializer_list<const char*> emails) {
    v1::BatchUpsertContactsRequest import;
    for (const char* email : emails) {
      *import.add_contacts() = MakeContact(email, "Germany");
    }
    v1::BatchUpsertContactsResponse imported;
    EXPECT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key).get(), import,
                                                       &imported),
                GrpcOk());
    v1::CreateSegmentRequest create;
    *create.mutable_segment() =
        MakeSegment("Germany", {MakeCondition("country", v1::Condition::EQUALS,
                                              {StringValue("Germany")})});
    v1::Segment segment;
    EXPECT_THAT(
        server_.segments().CreateSegment(Ctx(key).get(), create, &segment),
        GrpcOk());
    return segment;
  }
  uint64_t Count(const std::string& key, uint64_t segment_id) {
    v1::CountSegmentMembersRequest request;
    request.set_segment_id(segment_id);
    v1::CountSegmentMembersResponse response;
    EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(key).get(), request,
                                                       &response),
                GrpcOk());
    return response.member_count();
  }

  TestServer server_;
};

TEST_F(AuthTest, MissingHeaderIsUnauthenticated) {
  server_.CreateWorkspace("A", v1::STARTER);
  EXPECT_THAT(ListSegmentsWith(Ctx("").get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::GetContactRequest get;
  get.set_id(1);
  v1::Contact contact;
  EXPECT_THAT(server_.contacts().GetContact(Ctx("").get(), get, &contact),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(CreateWorkspaceWith(""),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(AuthTest, MalformedHeaderIsUnauthenticated) {
  std::string key = server_.CreateWorkspace("A", v1::STARTER).api_key;
  for (const std::string& value :
       {std::string("Basic ") + key, key, std::string("Bearer"),
        std::string("Bearer "), std::string("Bearer") + key,
        std::string("Bearer ") + key + " extra", std::string("Token ") + key}) {
    EXPECT_THAT(ListSegmentsWith(RawAuth(value).get()),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED))
        << value;
  }
  // Two authorization headers are refused, even if one is right.
  auto twice = RawAuth("Bearer " + key);
  twice->AddMetadata("authorization", "Bearer " + key);
  EXPECT_THAT(ListSegmentsWith(twice.get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_THAT(ListSegmentsWith(RawAuth("bearer " + key).get()), GrpcOk());
}

TEST_F(AuthTest, WrongKeyIsUnauthenticated) {
  std::string key = server_.CreateWorkspace("A", v1::STARTER).api_key;
  EXPECT_THAT(ListSegmentsWith(Ctx("sk_0000").get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  std::string almost = key;
  almost.back() = almost.back() == '0' ? '1' : '0';
  EXPECT_THAT(ListSegmentsWith(Ctx(almost).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(ListSegmentsWith(Ctx(key).get()), GrpcOk());
}

// After a restart the workspace is closed: counts (served on gRPC's
// callback API) open it on a thread of their own, several at once, and bad
// keys are still refused.
TEST_F(AuthTest, CountsOpenAClosedWorkspaceFirst) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  const v1::Segment segment =
      GermanContactsAndSegment(a.api_key, {"c1@example.com", "c2@example.com"});
  ASSERT_EQ(segment.member_count(), 2u);
  server_.Restart();

  std::vector<std::thread> clients;
  std::vector<uint64_t> counts(8);
  for (size_t i = 0; i < counts.size(); ++i) {
    clients.emplace_back(
        [&, i] { counts[i] = Count(a.api_key, segment.id()); });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_THAT(counts, ::testing::Each(2u));

  v1::CountSegmentMembersRequest request;
  request.set_segment_id(segment.id());
  v1::CountSegmentMembersResponse response;
  for (std::string_view key : {std::string_view(), std::string_view("sk_0")}) {
    EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(key).get(), request,
                                                       &response),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED))
        << key;
  }
  request.set_segment_id(0);
  EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(a.api_key).get(),
                                                     request, &response),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(AuthTest, AdminCallsNeedTheAdminKey) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  EXPECT_THAT(CreateWorkspaceWith(a.api_key),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(CreateWorkspaceWith("sk_admin_wrong"),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::GetWorkspaceRequest get;
  get.set_id(a.workspace.id());
  v1::Workspace out;
  EXPECT_THAT(server_.admin().GetWorkspace(Ctx(a.api_key).get(), get, &out),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::SetPlanRequest plan;
  plan.set_id(a.workspace.id());
  plan.set_plan(v1::PRO);
  EXPECT_THAT(server_.admin().SetPlan(Ctx(a.api_key).get(), plan, &out),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::RotateWorkspaceKeyRequest rotate;
  rotate.set_id(a.workspace.id());
  v1::RotateWorkspaceKeyResponse rotated;
  EXPECT_THAT(server_.admin().RotateWorkspaceKey(Ctx(a.api_key).get(), rotate,
                                                 &rotated),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::DeleteWorkspaceRequest del;
  del.set_id(a.workspace.id());
  google::protobuf::Empty empty;
  EXPECT_THAT(
      server_.admin().DeleteWorkspace(Ctx(a.api_key).get(), del, &empty),
      GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  // The admin key is not a workspace key either.
  EXPECT_THAT(ListSegmentsWith(Ctx(kTestAdminKey).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  // Nothing happened to A.
  EXPECT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcOk());
  EXPECT_EQ(out.plan(), v1::STARTER);
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()), GrpcOk());
}

TEST(AuthWithoutAdminKeyTest, AdminCallsAreDisabled) {
  TestServer server([](ServerOptions& o) { o.admin_key_hash.reset(); });
  v1::CreateWorkspaceRequest request;
  request.mutable_workspace()->set_display_name("x");
  v1::CreateWorkspaceResponse response;
  grpc::Status status = server.admin().CreateWorkspace(Ctx(kTestAdminKey).get(),
                                                       request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(status.error_message(), HasSubstr("disabled"));
}

TEST_F(AuthTest, WorkspacesAreIsolated) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  TestServer::CreatedWorkspace b = server_.CreateWorkspace("B", v1::STARTER);
  ASSERT_NE(a.workspace.id(), b.workspace.id());

  // A: three German contacts (ids 1-3) and a segment over them.
  const v1::Segment a_segment = GermanContactsAndSegment(
      a.api_key, {"a1@example.com", "a2@example.com", "a3@example.com"});
  ASSERT_EQ(a_segment.member_count(), 3u);

  // B: one contact (its own id 1), with the same email as one of A's.
  v1::CreateContactRequest b_create;
  *b_create.mutable_contact() = MakeContact("a1@example.com", "Germany");
  v1::Contact b_contact;
  ASSERT_THAT(server_.contacts().CreateContact(Ctx(b.api_key).get(), b_create,
                                               &b_contact),
              GrpcOk());

  // B cannot reach A's contacts 2 and 3.
  const grpc::StatusCode kNotFound = grpc::StatusCode::NOT_FOUND;
  v1::Contact out;
  google::protobuf::Empty empty;
  for (uint64_t id : {2u, 3u}) {
    v1::GetContactRequest get;
    get.set_id(id);
    EXPECT_THAT(server_.contacts().GetContact(Ctx(b.api_key).get(), get, &out),
                GrpcIs(kNotFound));
    v1::UpdateContactRequest update;
    update.mutable_contact()->set_id(id);
    update.mutable_contact()->set_country("France");
    update.mutable_update_mask()->add_paths("country");
    EXPECT_THAT(
        server_.contacts().UpdateContact(Ctx(b.api_key).get(), update, &out),
        GrpcIs(kNotFound));
    v1::DeleteContactRequest del;
    del.set_id(id);
    EXPECT_THAT(
        server_.contacts().DeleteContact(Ctx(b.api_key).get(), del, &empty),
        GrpcIs(kNotFound));
  }
  // Nor A's segment.
  v1::GetSegmentRequest get_segment;
  get_segment.set_id(a_segment.id());
  v1::Segment segment_out;
  EXPECT_THAT(server_.segments().GetSegment(Ctx(b.api_key).get(), get_segment,
                                            &segment_out),
              GrpcIs(kNotFound));
  v1::CountSegmentMembersRequest count;
  count.set_segment_id(a_segment.id());
  v1::CountSegmentMembersResponse counted;
  EXPECT_THAT(server_.segments().CountSegmentMembers(Ctx(b.api_key).get(),
                                                     count, &counted),
              GrpcIs(kNotFound));
  v1::ListSegmentMembersRequest members;
  members.set_segment_id(a_segment.id());
  v1::ListSegmentMembersResponse listed;
  EXPECT_THAT(server_.segments().ListSegmentMembers(Ctx(b.api_key).get(),
                                                    members, &listed),
              GrpcIs(kNotFound));
  v1::UpdateSegmentRequest update_segment;
  update_segment.mutable_segment()->set_id(a_segment.id());
  update_segment.mutable_segment()->set_display_name("Hijacked");
  update_segment.mutable_update_mask()->add_paths("display_name");
  EXPECT_THAT(server_.segments().UpdateSegment(Ctx(b.api_key).get(),
                                               update_segment, &segment_out),
              GrpcIs(kNotFound));
  v1::DeleteSegmentRequest delete_segment;
  delete_segment.set_id(a_segment.id());
  EXPECT_THAT(server_.segments().DeleteSegment(Ctx(b.api_key).get(),
                                               delete_segment, &empty),
              GrpcIs(kNotFound));
  v1::ListSegmentsRequest list;
  v1::ListSegmentsResponse b_segments;
  ASSERT_THAT(
      server_.segments().ListSegments(Ctx(b.api_key).get(), list, &b_segments),
      GrpcOk());
  EXPECT_EQ(b_segments.segments_size(), 0);

  // B changing its own contact 1 does not touch A's contact 1 or A's counts.
  v1::UpdateContactRequest b_update;
  b_update.mutable_contact()->set_id(b_contact.id());
  b_update.mutable_contact()->set_country("France");
  b_update.mutable_update_mask()->add_paths("country");
  ASSERT_THAT(
      server_.contacts().UpdateContact(Ctx(b.api_key).get(), b_update, &out),
      GrpcOk());
  EXPECT_EQ(Count(a.api_key, a_segment.id()), 3u);
  for (uint64_t id : {1u, 2u, 3u}) {
    v1::GetContactRequest get;
    get.set_id(id);
    ASSERT_THAT(server_.contacts().GetContact(Ctx(a.api_key).get(), get, &out),
                GrpcOk());
    EXPECT_EQ(out.country(), "Germany");
  }
  ASSERT_THAT(server_.segments().GetSegment(Ctx(a.api_key).get(), get_segment,
                                            &segment_out),
              GrpcOk());
  EXPECT_EQ(segment_out.display_name(), "Germany");
}

TEST_F(AuthTest, RotatedKeyStopsWorkingAtOnce) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  const std::string rotated_key = RotateKey(a.workspace.id());
  ASSERT_FALSE(rotated_key.empty());
  EXPECT_NE(rotated_key, a.api_key);
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(ListSegmentsWith(Ctx(rotated_key).get()), GrpcOk());
  // Only the hash of the new key was stored, and it survives a restart.
  server_.Restart();
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(ListSegmentsWith(Ctx(rotated_key).get()), GrpcOk());
}

// HashApiKey keeps each thread's last key and its hash (server/auth.cc): the
// answer must still be SHA-256 of the key it is given, whatever came before,
// on every thread.
TEST(HashApiKeyTest, IsSha256OfEachKeyWhateverWasHashedBefore) {
  const std::string empty_sha256 = absl::HexStringToBytes(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc_sha256 = absl::HexStringToBytes(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string abd_sha256 = absl::HexStringToBytes(
      "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
  auto check = [&] {
    // The same key twice, then keys of the same length that differ in one
    // byte, then the first again, then the empty key.
    EXPECT_EQ(HashApiKey("abc"), abc_sha256);
    EXPECT_EQ(HashApiKey("abc"), abc_sha256);
    EXPECT_EQ(HashApiKey("abd"), abd_sha256);
    EXPECT_EQ(HashApiKey("abc"), abc_sha256);
    EXPECT_EQ(HashApiKey(""), empty_sha256);
    EXPECT_EQ(HashApiKey("abc"), abc_sha256);
  };
  check();
  std::thread other(check);
  other.join();
  EXPECT_EQ(HashApiKey("abd"), abd_sha256);
}

// The prefix nginx routes by (docs/scale-out.md): the id in base 32.
TEST(RoutingIdTest, IsTheIdInLowercaseBase32) {
  EXPECT_EQ(WorkspaceRoutingId(0), "a");
  EXPECT_EQ(WorkspaceRoutingId(1), "b");
  EXPECT_EQ(WorkspaceRoutingId(25), "z");
  EXPECT_EQ(WorkspaceRoutingId(26), "2");
  EXPECT_EQ(WorkspaceRoutingId(31), "7");
  EXPECT_EQ(WorkspaceRoutingId(32), "ba");
  EXPECT_EQ(WorkspaceRoutingId(UINT64_MAX), "p777777777777");
  for (uint64_t id : {uint64_t{1}, uint64_t{31}, uint64_t{32}, uint64_t{1000},
                      uint64_t{1} << 40, UINT64_MAX}) {
    EXPECT_EQ(ParseWorkspaceRoutingId(WorkspaceRoutingId(id)), id) << id;
  }
  for (const char* bad :
       {"", "ab", "B", "1", "8", "b_", "q777777777777", "bbbbbbbbbbbbbb"}) {
    EXPECT_EQ(ParseWorkspaceRoutingId(bad), std::nullopt) << bad;
  }
}

// The routing id of a key in the new format ("sk_" + lowercase base32 +
// "_" + 64 lowercase hex digits), or "" when `key` is not in it. By hand,
// not std::regex: libstdc++'s regex trips gcc's -Wmaybe-uninitialized in
// the ASan build (-O1).
std::string RoutingIdOfNewKey(const std::string& key) {
  if (key.rfind("sk_", 0) != 0) return "";
  const size_t cut = key.find('_', 3);
  if (cut == std::string::npos || cut == 3) return "";
  const std::string id = key.substr(3, cut - 3);
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return "";
  }
  const std::string secret = key.substr(cut + 1);
  if (secret.size() != 64) return "";
  for (char c : secret) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
  }
  return id;
}

TEST_F(AuthTest, NewKeysCarryTheirWorkspaceForRouting) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  TestServer::CreatedWorkspace b = server_.CreateWorkspace("B", v1::STARTER);
  for (const TestServer::CreatedWorkspace* w : {&a, &b}) {
    const std::string id = RoutingIdOfNewKey(w->api_key);
    ASSERT_FALSE(id.empty()) << w->api_key;
    EXPECT_EQ(ParseWorkspaceRoutingId(id), w->workspace.id());
    // What nginx's map (docs/scale-out.md) captures from the header.
    EXPECT_EQ(id, WorkspaceRoutingId(w->workspace.id()));
    EXPECT_EQ(RoutingHintOf(w->api_key), w->workspace.id());
    EXPECT_THAT(ListSegmentsWith(Ctx(w->api_key).get()), GrpcOk());
  }
  // A rotated key carries the id too.
  const std::string rotated_key = RotateKey(a.workspace.id());
  ASSERT_FALSE(rotated_key.empty());
  EXPECT_FALSE(RoutingIdOfNewKey(rotated_key).empty());
  EXPECT_EQ(RoutingHintOf(rotated_key), a.workspace.id());
  // The prefix is a hint, never an authority: b's secret under a's prefix
  // (or the reverse) is no key at all.
  const size_t a_cut = rotated_key.rfind('_');
  const size_t b_cut = b.api_key.rfind('_');
  const std::string forged_a =
      rotated_key.substr(0, a_cut) + b.api_key.substr(b_cut);
  const std::string forged_b =
      b.api_key.substr(0, b_cut) + rotated_key.substr(a_cut);
  for (const std::string& forged : {forged_a, forged_b}) {
    EXPECT_THAT(ListSegmentsWith(Ctx(forged).get()),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  }
}

TEST_F(AuthTest, KeysWithoutARoutingPrefixKeepWorking) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  // A key of the old format, "sk_" + 64 hex digits, as a server before
  // routing prefixes made it: stored straight into the catalog.
  const std::string old_key = "sk_" + std::string(64, 'c');
  EXPECT_EQ(RoutingHintOf(old_key), std::nullopt);
  server_.Stop();
  {
    absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> catalog =
        SqliteCatalogStore::Open(server_.data_dir(), SqliteOptions{});
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    SystemClock clock;
    absl::StatusOr<std::unique_ptr<Registry>> registry =
        Registry::Open(*std::move(catalog), &clock, Limits{});
    ASSERT_TRUE(registry.ok()) << registry.status();
    ASSERT_TRUE(
        (*registry)->SetKeyHash(a.workspace.id(), HashApiKey(old_key)).ok());
  }
  server_.Start();
  EXPECT_THAT(ListSegmentsWith(Ctx(old_key).get()), GrpcOk());
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(AuthTest, DeletedWorkspaceIsGone) {
  TestServer::CreatedWorkspace a = server_.CreateWorkspace("A", v1::STARTER);
  TestServer::CreatedWorkspace b = server_.CreateWorkspace("B", v1::GROWTH);
  v1::CreateContactRequest create;
  *create.mutable_contact() = MakeContact("a@example.com");
  v1::Contact contact;
  ASSERT_THAT(
      server_.contacts().CreateContact(Ctx(a.api_key).get(), create, &contact),
      GrpcOk());

  v1::DeleteWorkspaceRequest del;
  del.set_id(a.workspace.id());
  google::protobuf::Empty empty;
  ASSERT_THAT(
      server_.admin().DeleteWorkspace(Ctx(kTestAdminKey).get(), del, &empty),
      GrpcOk());
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::GetWorkspaceRequest get;
  get.set_id(a.workspace.id());
  v1::Workspace out;
  EXPECT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(
      server_.admin().DeleteWorkspace(Ctx(kTestAdminKey).get(), del, &empty),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(ListSegmentsWith(Ctx(b.api_key).get()), GrpcOk());

  server_.Restart();
  EXPECT_THAT(ListSegmentsWith(Ctx(a.api_key).get()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  get.set_id(b.workspace.id());
  ASSERT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcOk());
  EXPECT_EQ(out.display_name(), "B");
  EXPECT_EQ(out.plan(), v1::GROWTH);
  EXPECT_THAT(ListSegmentsWith(Ctx(b.api_key).get()), GrpcOk());
}

TEST_F(AuthTest, AdminManagesWorkspaces) {
  TestServer::CreatedWorkspace a =
      server_.CreateWorkspace("A", v1::PLAN_UNSPECIFIED);
  EXPECT_EQ(a.workspace.plan(), v1::FREE);  // unspecified means FREE
  EXPECT_GT(a.workspace.create_time().seconds(), 0);
  v1::SetPlanRequest plan;
  plan.set_id(a.workspace.id());
  plan.set_plan(v1::GROWTH);
  v1::Workspace out;
  ASSERT_THAT(server_.admin().SetPlan(Ctx(kTestAdminKey).get(), plan, &out),
              GrpcOk());
  EXPECT_EQ(out.plan(), v1::GROWTH);
  v1::GetWorkspaceRequest get;
  get.set_id(a.workspace.id());
  ASSERT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcOk());
  EXPECT_EQ(out.plan(), v1::GROWTH);
  EXPECT_EQ(out.display_name(), "A");
  get.set_id(a.workspace.id() + 100);
  EXPECT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &out),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
}

}  // namespace
}  // namespace segments::testing
