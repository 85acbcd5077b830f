#include "storage/sqlite_catalog.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_workspace_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::segments::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

void RawExec(const std::string& path, const std::string& sql) {
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path, false, 1000));
  ASSERT_OK(db->Exec(sql));
}

WorkspaceRecord MakeWorkspace(WorkspaceId id) {
  WorkspaceRecord w;
  w.id = id;
  w.display_name = absl::StrCat("Workspace ", id, " — ✓");
  w.plan = Plan::kGrowth;
  w.key_hash = std::string(32, '\0');
  w.key_hash[5] = static_cast<char>(id);
  w.key_hash[31] = '\xff';
  w.create_time = 1700000000 + static_cast<int64_t>(id);
  return w;
}

class SqliteCatalogStoreTest : public ::testing::Test {
 protected:
  // A data directory that does not exist yet, two levels down.
  std::string data_dir() const { return dir_.path() + "/data/dir"; }
  std::unique_ptr<SqliteCatalogStore> Open() {
    absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> c =
        SqliteCatalogStore::Open(data_dir(), {});
    EXPECT_OK(c);
    return c.ok() ? *std::move(c) : nullptr;
  }
  // Commits one contact to workspace `id`'s store.
  void WriteSomething(CatalogStore& catalog, WorkspaceId id) {
    ASSERT_OK_AND_ASSIGN(auto store, catalog.OpenWorkspace(id));
    WorkspaceWrite w;
    Contact c;
    c.id = 1;
    c.email = "a@b.c";
    w.put_contacts = {c};
    w.counters.next_contact_id = 2;
    ASSERT_OK(store->Commit(w));
  }

  TempDir dir_;
};

TEST_F(SqliteCatalogStoreTest, CreatesTheDataDirectory) {
  auto catalog = Open();
  ASSERT_NE(catalog, nullptr);
  EXPECT_TRUE(Exists(data_dir() + "/catalog.db"));
  EXPECT_TRUE(std::filesystem::is_directory(data_dir() + "/workspaces"));
  EXPECT_THAT(catalog->LoadWorkspaces(), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(catalog->WorkspacePath(12), data_dir() + "/workspaces/12.db");
}

TEST_F(SqliteCatalogStoreTest, PutsReplacesAndLoadsWorkspacesAcrossReopen) {
  {
    auto catalog = Open();
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(3)));
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
    WorkspaceRecord changed = MakeWorkspace(3);
    changed.plan = Plan::kPro;
    changed.key_hash = "";  // e.g. a revoked key
    changed.display_name = "renamed";
    ASSERT_OK(catalog->PutWorkspace(changed));
  }
  WorkspaceRecord changed = MakeWorkspace(3);
  changed.plan = Plan::kPro;
  changed.key_hash = "";
  changed.display_name = "renamed";
  EXPECT_THAT(Open()->LoadWorkspaces(),
              IsOkAndHolds(ElementsAre(MakeWorkspace(1), changed)));
}

TEST_F(SqliteCatalogStoreTest, RefusesInvalidRecords) {
  auto catalog = Open();
  WorkspaceRecord w = MakeWorkspace(1);
  w.plan = Plan::kUnspecified;
  EXPECT_THAT(catalog->PutWorkspace(w),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("plan")));
  EXPECT_THAT(catalog->PutWorkspace(MakeWorkspace(0)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("id 0")));
  EXPECT_THAT(catalog->LoadWorkspaces(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(catalog->OpenWorkspace(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteCatalogStoreTest, WorkspaceDataSurvivesReopen) {
  {
    auto catalog = Open();
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
    WriteSomething(*catalog, 1);
  }
  auto catalog = Open();
  ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(1));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  ASSERT_THAT(data.contacts, SizeIs(1));
  EXPECT_EQ(data.contacts[0].email, "a@b.c");
  EXPECT_EQ(data.counters.next_contact_id, 2u);
}

TEST_F(SqliteCatalogStoreTest, DeleteRemovesRecordAndFiles) {
  auto catalog = Open();
  ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
  ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(2)));
  WriteSomething(*catalog, 1);
  WriteSomething(*catalog, 2);
  const std::string path = catalog->WorkspacePath(1);
  ASSERT_TRUE(Exists(path));

  ASSERT_OK(catalog->DeleteWorkspace(1));
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(path + "-wal"));
  EXPECT_FALSE(Exists(path + "-shm"));
  EXPECT_TRUE(Exists(catalog->WorkspacePath(2)));
  EXPECT_THAT(catalog->LoadWorkspaces(),
              IsOkAndHolds(ElementsAre(MakeWorkspace(2))));
  EXPECT_OK(catalog->DeleteWorkspace(1));  // again: nothing left to do
  EXPECT_OK(catalog->DeleteWorkspace(99));

  // The id opens as a new, empty workspace.
  ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(1));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, IsEmpty());
}

TEST_F(SqliteCatalogStoreTest, DeleteWhileAStoreIsOpenFailsItsLaterCommits) {
  auto catalog = Open();
  ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
  ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(1));
  WorkspaceWrite w;
  w.changes.push_back(
      {1, 1, ChangeKind::kEntered, ChangeCause::kContactChanged, 0, {1}});
  w.counters.last_sequence = 1;
  ASSERT_OK(store->Commit(w));

  ASSERT_OK(catalog->DeleteWorkspace(1));
  EXPECT_FALSE(Exists(catalog->WorkspacePath(1)));
  w.changes[0].first_sequence = 2;
  w.counters.last_sequence = 2;
  EXPECT_THAT(store->Commit(w),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Reads of the unlinked file keep working until the store is dropped.
  EXPECT_THAT(store->ReadChanges(0, 10), IsOkAndHolds(SizeIs(1)));
  store.reset();
  EXPECT_FALSE(Exists(catalog->WorkspacePath(1)));
  EXPECT_FALSE(Exists(catalog->WorkspacePath(1) + "-wal"));
}

TEST_F(SqliteCatalogStoreTest, OpenFinishesADeleteThatACrashInterrupted) {
  {
    auto catalog = Open();
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(2)));
    WriteSomething(*catalog, 1);
    WriteSomething(*catalog, 2);
  }
  // As if the process died after the catalog transaction of
  // DeleteWorkspace(1) but before the files were removed; and workspace 2
  // was deleted and then put again.
  RawExec(data_dir() + "/catalog.db",
          "DELETE FROM workspaces WHERE id = 1; "
          "INSERT INTO deleted_workspaces VALUES (1), (2);");
  auto catalog = Open();
  EXPECT_FALSE(Exists(catalog->WorkspacePath(1)));
  EXPECT_TRUE(Exists(catalog->WorkspacePath(2)));
  ASSERT_OK_AND_ASSIGN(auto db,
                       SqliteDb::Open(data_dir() + "/catalog.db", false, 1000));
  EXPECT_THAT(db->QueryInt("SELECT count(*) FROM deleted_workspaces"),
              IsOkAndHolds(0));
}

TEST_F(SqliteCatalogStoreTest, StaleWalWithoutDatabaseIsNotReplayed) {
  auto catalog = Open();
  const std::string path = catalog->WorkspacePath(4);
  std::ofstream(path + "-wal") << std::string(8192, 'w');
  ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(4));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, IsEmpty());
}

TEST_F(SqliteCatalogStoreTest, DataDirectoryIsLockedWhileOpen) {
  auto catalog = Open();
  EXPECT_THAT(
      SqliteCatalogStore::Open(data_dir(), {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("in use")));
  catalog.reset();
  EXPECT_OK(SqliteCatalogStore::Open(data_dir(), {}));
}

TEST_F(SqliteCatalogStoreTest, DataDirectoryThatIsAFileIsRefused) {
  std::filesystem::create_directories(dir_.path() + "/data");
  std::ofstream(data_dir()) << "a file";
  EXPECT_THAT(SqliteCatalogStore::Open(data_dir(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SqliteCatalogStoreTest, ForeignCatalogFileIsDataLoss) {
  std::filesystem::create_directories(data_dir());
  std::ofstream(data_dir() + "/catalog.db") << std::string(4096, '#');
  EXPECT_THAT(SqliteCatalogStore::Open(data_dir(), {}),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(SqliteCatalogStoreTest, WorkspaceFileThatIsACatalogIsRefused) {
  Open().reset();
  std::filesystem::copy_file(data_dir() + "/catalog.db",
                             data_dir() + "/workspaces/5.db");
  auto catalog = Open();
  EXPECT_THAT(catalog->OpenWorkspace(5),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a database of this kind")));
}

TEST_F(SqliteCatalogStoreTest, SetsSchemaVersionWalAndSynchronous) {
  {
    auto catalog = Open();
    EXPECT_THAT(catalog->QueryPragma("journal_mode"),
                IsOkAndHolds(std::string("wal")));
    EXPECT_THAT(catalog->QueryPragma("synchronous"),
                IsOkAndHolds(std::string("2")));
    EXPECT_THAT(
        catalog->QueryPragma("user_version"),
        IsOkAndHolds(std::to_string(SqliteCatalogStore::SchemaVersion())));
  }
  {
    SqliteOptions normal;
    normal.synchronous = SqliteOptions::Synchronous::kNormal;
    ASSERT_OK_AND_ASSIGN(auto catalog,
                         SqliteCatalogStore::Open(data_dir(), normal));
    EXPECT_THAT(catalog->QueryPragma("synchronous"),
                IsOkAndHolds(std::string("1")));
    // Workspace stores get the catalog's options.
    ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(1));
    EXPECT_THAT(
        static_cast<SqliteWorkspaceStore&>(*store).QueryPragma("synchronous"),
        IsOkAndHolds(std::string("1")));
  }
  RawExec(data_dir() + "/catalog.db", "PRAGMA user_version = 1000");
  EXPECT_THAT(
      SqliteCatalogStore::Open(data_dir(), {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST_F(SqliteCatalogStoreTest, DamagedRowIsDataLossNamingTheRow) {
  {
    auto catalog = Open();
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(1)));
    ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(2)));
  }
  RawExec(data_dir() + "/catalog.db",
          "UPDATE workspaces SET plan = 9 WHERE id = 2");
  EXPECT_THAT(Open()->LoadWorkspaces(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("workspaces row id=2: plan 9")));
}

TEST_F(SqliteCatalogStoreTest, ConcurrentCallsAreSafe) {
  auto catalog = Open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const WorkspaceId id = static_cast<WorkspaceId>(t * 100 + i + 1);
        EXPECT_OK(catalog->PutWorkspace(MakeWorkspace(id)));
        EXPECT_OK(catalog->LoadWorkspaces());
        if (i % 5 == 0) {
          EXPECT_OK(catalog->OpenWorkspace(id));
          EXPECT_OK(catalog->DeleteWorkspace(id));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(catalog->LoadWorkspaces(), IsOkAndHolds(SizeIs(4 * 16)));
}

}  // namespace
}  // namespace segments
