// Issue 11 over a real channel: a lost catalog never hands an old tenant's
// data to a new workspace; a workspace whose file is missing, empty, damaged
// or holds rows that break the model does not serve (DATA_LOSS, shown by
// admin GetWorkspace, logged), while the other workspaces keep serving; the
// data directory is for its owner only.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class TenantSafetyTest : public ::testing::Test {
 protected:
  struct Tenant {
    uint64_t id = 0;
    std::string key;
    uint64_t contact_id = 0;
  };
  // A workspace with one contact.
  Tenant MakeTenant(const std::string& name) {
    Tenant t;
    TestServer::CreatedWorkspace created =
        server_.CreateWorkspace(name, v1::STARTER);
    t.id = created.workspace.id();
    t.key = created.api_key;
    v1::CreateContactRequest request;
    *request.mutable_contact() = MakeContact(name + "@example.com", "DE");
    v1::Contact contact;
    EXPECT_THAT(
        server_.contacts().CreateContact(Ctx(t.key).get(), request, &contact),
        GrpcOk());
    t.contact_id = contact.id();
    return t;
  }
  grpc::Status GetContact(const Tenant& t, v1::Contact* out = nullptr) {
    v1::GetContactRequest request;
    request.set_id(t.contact_id);
    v1::Contact contact;
    return server_.contacts().GetContact(Ctx(t.key).get(), request,
                                         out != nullptr ? out : &contact);
  }
  grpc::Status CreateContact(const Tenant& t) {
    v1::CreateContactRequest request;
    *request.mutable_contact() = MakeContact("new@example.com");
    v1::Contact contact;
    return server_.contacts().CreateContact(Ctx(t.key).get(), request,
                                            &contact);
  }
  grpc::Status ListSegments(const Tenant& t) {
    v1::ListSegmentsRequest request;
    v1::ListSegmentsResponse response;
    return server_.segments().ListSegments(Ctx(t.key).get(), request,
                                           &response);
  }
  v1::Workspace GetWorkspace(uint64_t id) {
    v1::GetWorkspaceRequest request;
    request.set_id(id);
    v1::Workspace workspace;
    EXPECT_THAT(server_.admin().GetWorkspace(Ctx(kTestAdminKey).get(), request,
                                             &workspace),
                GrpcOk());
    return workspace;
  }
  std::string WorkspaceFile(uint64_t id) const {
    return server_.data_dir() + "/workspaces/" + std::to_string(id) + ".db";
  }
  // Expects every call with `t`'s key to be refused as DATA_LOSS, naming the
  // workspace and no path.
  void ExpectNotServing(const Tenant& t) {
    for (const grpc::Status& s :
         {GetContact(t), CreateContact(t), ListSegments(t)}) {
      EXPECT_THAT(s, GrpcIs(grpc::StatusCode::DATA_LOSS));
      EXPECT_THAT(s.error_message(),
                  AllOf(HasSubstr("workspace " + std::to_string(t.id) +
                                  " is not serving"),
                        Not(HasSubstr("/"))));
    }
  }
  void ExpectServing(const Tenant& t) {
    v1::Contact contact;
    EXPECT_THAT(GetContact(t, &contact), GrpcOk());
    EXPECT_EQ(contact.id(), t.contact_id);
    EXPECT_THAT(ListSegments(t), GrpcOk());
  }
  static void RemoveWithWal(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  }

  TestServer server_;
};

// Before: the server started over the lost catalog, and the next workspace
// got id 1 and read the old workspaces/1.db.
TEST_F(TenantSafetyTest, LostOrEmptyCatalogRefusesToStart) {
  for (bool truncate : {false, true}) {
    SCOPED_TRACE(truncate ? "catalog.db truncated" : "catalog.db deleted");
    TestServer server;
    {
      TestServer::CreatedWorkspace a = server.CreateWorkspace("A", v1::STARTER);
      v1::CreateContactRequest request;
      *request.mutable_contact() = MakeContact("secret@example.com");
      v1::Contact contact;
      ASSERT_THAT(server.contacts().CreateContact(Ctx(a.api_key).get(), request,
                                                  &contact),
                  GrpcOk());
    }
    server.Stop();
    const std::string catalog = server.data_dir() + "/catalog.db";
    if (truncate) {
      fs::resize_file(catalog, 0);
    } else {
      RemoveWithWal(catalog);
    }
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.data_dir = server.data_dir();
    options.threads = 1;
    absl::StatusOr<std::unique_ptr<SegmentsServer>> started =
        SegmentsServer::Start(options);
    ASSERT_FALSE(started.ok()) << "started over a lost catalog";
    EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(started.status().message(),
                AllOf(HasSubstr("workspaces/1.db"),
                      HasSubstr(truncate ? "catalog.db is empty"
                                         : "catalog.db is missing"),
                      HasSubstr("Refusing to start")));
    EXPECT_TRUE(fs::exists(server.data_dir() + "/workspaces/1.db"));
  }
}

// Before: a missing or empty file became an empty workspace (its ids
// restarting at 1), silently.
TEST_F(TenantSafetyTest, MissingOrEmptyFileDoesNotServeWhileOthersDo) {
  const Tenant a = MakeTenant("a");
  const Tenant b = MakeTenant("b");
  const Tenant c = MakeTenant("c");
  server_.Stop();
  RemoveWithWal(WorkspaceFile(a.id));
  RemoveWithWal(WorkspaceFile(b.id));
  std::ofstream(WorkspaceFile(b.id)).close();  // 0 bytes
  // Workspaces open on first use (issue 16): each damaged one is logged
  // when its first call finds it.
  ::testing::internal::CaptureStderr();
  server_.Start();
  ExpectNotServing(a);
  ExpectNotServing(b);
  ExpectServing(c);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, AllOf(HasSubstr("workspace 1 is not serving"),
                         HasSubstr("1.db is missing"),
                         HasSubstr("workspace 2 is not serving"),
                         HasSubstr("2.db is empty"),
                         Not(HasSubstr("workspace 3 is not serving"))));

  const v1::Workspace shown = GetWorkspace(a.id);
  EXPECT_EQ(shown.display_name(), "a");
  EXPECT_EQ(shown.state(), v1::Workspace::LOAD_FAILED);
  EXPECT_THAT(shown.load_error(),
              AllOf(HasSubstr("DATA_LOSS"), HasSubstr("workspaces/1.db"),
                    HasSubstr("missing"), Not(HasSubstr(server_.data_dir()))));
  EXPECT_EQ(GetWorkspace(b.id).state(), v1::Workspace::LOAD_FAILED);
  EXPECT_EQ(GetWorkspace(c.id).state(), v1::Workspace::SERVING);
  EXPECT_EQ(GetWorkspace(c.id).load_error(), "");

  // Nothing was created in their place, also across a restart; a new
  // workspace takes a new id.
  server_.Restart();
  EXPECT_FALSE(fs::exists(WorkspaceFile(a.id)));
  EXPECT_EQ(fs::file_size(WorkspaceFile(b.id)), 0u);
  ExpectNotServing(a);
  const Tenant d = MakeTenant("d");
  EXPECT_EQ(d.id, 4u);
  ExpectServing(d);

  // The operator may delete a failed workspace.
  v1::DeleteWorkspaceRequest del;
  del.set_id(a.id);
  google::protobuf::Empty empty;
  EXPECT_THAT(
      server_.admin().DeleteWorkspace(Ctx(kTestAdminKey).get(), del, &empty),
      GrpcOk());
  EXPECT_THAT(GetContact(a), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

// Before: the server exited at start for every tenant.
TEST_F(TenantSafetyTest, DamagedFileDoesNotStopTheServer) {
  const Tenant a = MakeTenant("a");
  const Tenant b = MakeTenant("b");
  server_.Stop();
  RemoveWithWal(WorkspaceFile(a.id));
  std::ofstream(WorkspaceFile(a.id)) << std::string(8192, '\x5a');
  server_.Start();
  ExpectNotServing(a);
  ExpectServing(b);
  EXPECT_THAT(GetWorkspace(a.id).load_error(), HasSubstr("DATA_LOSS"));
}

// Before: rows that break the model loaded without complaint.
TEST_F(TenantSafetyTest, RowsThatBreakTheModelRefuseOnlyTheirWorkspace) {
  const Tenant a = MakeTenant("a");
  const Tenant b = MakeTenant("b");
  server_.Stop();
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(WorkspaceFile(a.id), /*create=*/false, 1000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("UPDATE contacts SET email = 'NOT AN EMAIL'").ok());
  }
  server_.Start();
  ExpectNotServing(a);
  ExpectServing(b);
  EXPECT_THAT(GetWorkspace(a.id).load_error(),
              AllOf(HasSubstr("contacts row id=1: email"),
                    Not(HasSubstr("NOT AN EMAIL"))));
}

// Before: 0644 files and 0755 directories: contacts and key hashes were
// readable by every local user.
TEST_F(TenantSafetyTest, DataDirectoryIsForItsOwnerOnly) {
  const Tenant a = MakeTenant("a");
  auto mode = [](const std::string& path) {
    return static_cast<int>(fs::status(path).permissions());
  };
  const std::string dir = server_.data_dir();
  EXPECT_EQ(mode(dir), 0700);
  EXPECT_EQ(mode(dir + "/workspaces"), 0700);
  for (const std::string& file :
       {dir + "/catalog.db", dir + "/catalog.db-wal", dir + "/LOCK",
        WorkspaceFile(a.id), WorkspaceFile(a.id) + "-wal",
        WorkspaceFile(a.id) + "-shm"}) {
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(mode(file), 0600) << file;
  }
}

}  // namespace
}  // namespace segments::testing
