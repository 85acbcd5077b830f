#include "storage/sqlite_catalog.h"

#include <stdlib.h>
#include <sys/stat.h>

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
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// The records of a load, each expected to be undamaged.
std::vector<WorkspaceRecord> Records(
    const absl::StatusOr<std::vector<LoadedWorkspaceRecord>>& loaded) {
  EXPECT_OK(loaded);
  std::vector<WorkspaceRecord> out;
  if (!loaded.ok()) return out;
  for (const LoadedWorkspaceRecord& l : *loaded) {
    EXPECT_EQ(l.problem, "") << "workspace " << l.record.id;
    out.push_back(l.record);
  }
  return out;
}

// The permission bits of `path`.
int ModeOf(const std::string& path) {
  return static_cast<int>(std::filesystem::status(path).permissions());
}

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
  // Creates a workspace (store and record); its id.
  WorkspaceId Create(CatalogStore& catalog) {
    absl::StatusOr<NewWorkspaceStore> created = catalog.CreateWorkspaceStore();
    EXPECT_OK(created);
    if (!created.ok()) return 0;
    EXPECT_OK(catalog.PutWorkspace(MakeWorkspace(created->id)));
    return created->id;
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
  EXPECT_THAT(Records(Open()->LoadWorkspaces()),
              ElementsAre(MakeWorkspace(1), changed));
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
    ASSERT_EQ(Create(*catalog), 1u);
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
  ASSERT_EQ(Create(*catalog), 1u);
  ASSERT_EQ(Create(*catalog), 2u);
  WriteSomething(*catalog, 1);
  WriteSomething(*catalog, 2);
  const std::string path = catalog->WorkspacePath(1);
  ASSERT_TRUE(Exists(path));

  ASSERT_OK(catalog->DeleteWorkspace(1));
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(path + "-wal"));
  EXPECT_FALSE(Exists(path + "-shm"));
  EXPECT_TRUE(Exists(catalog->WorkspacePath(2)));
  EXPECT_THAT(Records(catalog->LoadWorkspaces()),
              ElementsAre(MakeWorkspace(2)));
  EXPECT_OK(catalog->DeleteWorkspace(1));  // again: nothing left to do
  EXPECT_OK(catalog->DeleteWorkspace(99));

  // The id is gone for good: it does not open, and is not handed out again.
  EXPECT_THAT(catalog->OpenWorkspace(1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
  EXPECT_FALSE(Exists(path));
  EXPECT_EQ(Create(*catalog), 3u);
}

TEST_F(SqliteCatalogStoreTest, DeleteWhileAStoreIsOpenFailsItsLaterCommits) {
  auto catalog = Open();
  ASSERT_EQ(Create(*catalog), 1u);
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
    ASSERT_EQ(Create(*catalog), 1u);
    ASSERT_EQ(Create(*catalog), 2u);
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
  const std::string path = catalog->WorkspacePath(1);
  std::ofstream(path + "-wal") << std::string(8192, 'w');
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                       catalog->CreateWorkspaceStore());
  ASSERT_EQ(created.id, 1u);
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*created.store));
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
  ASSERT_OK(Open()->PutWorkspace(MakeWorkspace(5)));
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
    ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                         catalog->CreateWorkspaceStore());
    EXPECT_THAT(static_cast<SqliteWorkspaceStore&>(*created.store)
                    .QueryPragma("synchronous"),
                IsOkAndHolds(std::string("1")));
  }
  RawExec(data_dir() + "/catalog.db", "PRAGMA user_version = 1000");
  EXPECT_THAT(
      SqliteCatalogStore::Open(data_dir(), {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST_F(SqliteCatalogStoreTest, DamagedRowComesWithItsProblem) {
  {
    auto catalog = Open();
    for (WorkspaceId id : {1, 2, 3, 4, 5}) {
      ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(id)));
    }
  }
  RawExec(data_dir() + "/catalog.db",
          "UPDATE workspaces SET plan = 9 WHERE id = 2; "
          "UPDATE workspaces SET key_hash = x'0102' WHERE id = 3; "
          "UPDATE workspaces SET display_name = '' WHERE id = 4; "
          "UPDATE workspaces SET display_name = 'x' || char(10) WHERE id = 5");
  ASSERT_OK_AND_ASSIGN(std::vector<LoadedWorkspaceRecord> loaded,
                       Open()->LoadWorkspaces());
  ASSERT_THAT(loaded, SizeIs(5));
  EXPECT_EQ(loaded[0].record, MakeWorkspace(1));
  EXPECT_EQ(loaded[0].problem, "");
  EXPECT_THAT(loaded[1].problem, HasSubstr("workspaces row id=2: plan 9"));
  EXPECT_THAT(loaded[2].problem, HasSubstr("id=3: key_hash has 2 bytes"));
  EXPECT_THAT(loaded[3].problem, HasSubstr("id=4: display_name is empty"));
  EXPECT_THAT(loaded[4].problem,
              HasSubstr("id=5: display_name is not trimmed"));
  for (const LoadedWorkspaceRecord& l : loaded) {
    EXPECT_THAT(l.problem, Not(HasSubstr(data_dir())));
  }

  RawExec(data_dir() + "/catalog.db",
          "UPDATE workspaces SET id = -1 WHERE id = 2");
  EXPECT_THAT(Open()->LoadWorkspaces(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("workspaces row id=-1: id is out of range")));
}

// Issue 11: with catalog.db lost, the next workspace used to get id 1 and
// read the old workspaces/1.db.
TEST_F(SqliteCatalogStoreTest, MissingCatalogWithWorkspaceFilesRefusesToStart) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    ASSERT_EQ(Create(*catalog), 2u);
    WriteSomething(*catalog, 1);
  }
  const std::string catalog_db = data_dir() + "/catalog.db";
  std::filesystem::remove(catalog_db);
  std::filesystem::remove(catalog_db + "-wal");
  std::filesystem::remove(catalog_db + "-shm");
  EXPECT_THAT(
      SqliteCatalogStore::Open(data_dir(), {}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("catalog.db is missing"),
                     HasSubstr("workspaces/1.db"), HasSubstr("workspaces/2.db"),
                     HasSubstr("Refusing to start"))));
  // Nothing was created or touched.
  EXPECT_FALSE(Exists(catalog_db));
  EXPECT_TRUE(Exists(data_dir() + "/workspaces/1.db"));
}

TEST_F(SqliteCatalogStoreTest, EmptyCatalogWithWorkspaceFilesRefusesToStart) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    WriteSomething(*catalog, 1);
  }
  std::filesystem::resize_file(data_dir() + "/catalog.db", 0);
  EXPECT_THAT(SqliteCatalogStore::Open(data_dir(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("catalog.db is empty"),
                             HasSubstr("workspaces/1.db"))));
  EXPECT_EQ(std::filesystem::file_size(data_dir() + "/catalog.db"), 0u);
}

TEST_F(SqliteCatalogStoreTest, WorkspaceFileTheCatalogDoesNotListRefusesStart) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    WriteSomething(*catalog, 1);
  }
  // E.g. an older catalog.db restored from a backup, or a stray copy.
  std::filesystem::copy_file(data_dir() + "/workspaces/1.db",
                             data_dir() + "/workspaces/7.db");
  std::ofstream(data_dir() + "/workspaces/notes.txt") << "ignored";
  EXPECT_THAT(SqliteCatalogStore::Open(data_dir(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("workspaces/7.db"),
                             Not(HasSubstr("workspaces/1.db")),
                             Not(HasSubstr("notes.txt")))));
  std::filesystem::remove(data_dir() + "/workspaces/7.db");
  EXPECT_OK(SqliteCatalogStore::Open(data_dir(), {}));
}

TEST_F(SqliteCatalogStoreTest, FilesOfAnUnfinishedDeleteAreNotUnknown) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    WriteSomething(*catalog, 1);
  }
  // A delete a crash interrupted, whose removal cannot finish at this Open
  // either (unlink of a directory fails): the files stay, still ours.
  RawExec(data_dir() + "/catalog.db",
          "DELETE FROM workspaces WHERE id = 1; "
          "INSERT INTO deleted_workspaces VALUES (1);");
  const std::string wal = data_dir() + "/workspaces/1.db-wal";
  std::filesystem::remove(wal);
  std::filesystem::create_directories(wal + "/blocker");
  {
    auto catalog = Open();
    ASSERT_NE(catalog, nullptr);
    EXPECT_TRUE(Exists(data_dir() + "/workspaces/1.db"));
    EXPECT_EQ(Create(*catalog), 2u);
  }
  std::filesystem::remove_all(wal);
  auto catalog = Open();
  EXPECT_FALSE(Exists(data_dir() + "/workspaces/1.db"));
}

TEST_F(SqliteCatalogStoreTest, IdsAreNeverReused) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    ASSERT_EQ(Create(*catalog), 2u);
    ASSERT_OK(catalog->DeleteWorkspace(2));  // the newest
  }
  {
    auto catalog = Open();
    EXPECT_EQ(Create(*catalog), 3u);
    ASSERT_OK(catalog->DeleteWorkspace(3));
    ASSERT_OK(catalog->DeleteWorkspace(1));
  }
  EXPECT_EQ(Create(*Open()), 4u);
}

TEST_F(SqliteCatalogStoreTest, NextIdIsAboveEveryWorkspaceFile) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
  }
  // A listed workspace whose id is above the stored next id (e.g. a
  // catalog.db whose meta row was damaged back to 1).
  ASSERT_OK(Open()->PutWorkspace(MakeWorkspace(8)));
  std::filesystem::copy_file(data_dir() + "/workspaces/1.db",
                             data_dir() + "/workspaces/8.db");
  RawExec(data_dir() + "/catalog.db",
          "UPDATE meta SET value = 1 WHERE key = 'next_workspace_id'");
  EXPECT_EQ(Create(*Open()), 9u);
  RawExec(data_dir() + "/catalog.db", "DELETE FROM meta");
  EXPECT_EQ(Create(*Open()), 10u);
}

TEST_F(SqliteCatalogStoreTest, CreateNeverOpensAFileThatIsThere) {
  auto catalog = Open();
  ASSERT_EQ(Create(*catalog), 1u);
  // A file appears where the next workspace would go.
  const std::string stray = catalog->WorkspacePath(2);
  std::filesystem::copy_file(catalog->WorkspacePath(1), stray);
  const auto size = std::filesystem::file_size(stray);
  EXPECT_THAT(catalog->CreateWorkspaceStore(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("workspaces/2.db exists"),
                             Not(HasSubstr(data_dir())))));
  EXPECT_EQ(std::filesystem::file_size(stray), size);
  // The id is skipped, the next create works.
  EXPECT_EQ(Create(*catalog), 3u);
}

TEST_F(SqliteCatalogStoreTest, ACreateThatACrashInterruptedIsUndone) {
  {
    auto catalog = Open();
    ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                         catalog->CreateWorkspaceStore());
    ASSERT_EQ(created.id, 1u);
    ASSERT_TRUE(Exists(catalog->WorkspacePath(1)));
    // ... and the process dies before PutWorkspace.
  }
  auto catalog = Open();
  EXPECT_FALSE(Exists(catalog->WorkspacePath(1)));
  EXPECT_THAT(catalog->LoadWorkspaces(), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(Create(*catalog), 2u);
}

// Issue 11: a listed workspace whose file is missing or empty used to open
// as a new, empty workspace.
TEST_F(SqliteCatalogStoreTest, MissingOrEmptyWorkspaceFileIsDataLoss) {
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    ASSERT_EQ(Create(*catalog), 2u);
    WriteSomething(*catalog, 1);
    WriteSomething(*catalog, 2);
  }
  const std::string one = data_dir() + "/workspaces/1.db";
  const std::string two = data_dir() + "/workspaces/2.db";
  std::filesystem::remove(one);
  std::filesystem::resize_file(two, 0);
  auto catalog = Open();
  EXPECT_THAT(catalog->OpenWorkspace(1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
  EXPECT_FALSE(Exists(one));  // nothing created in its place
  EXPECT_THAT(catalog->OpenWorkspace(2),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty")));
  EXPECT_EQ(std::filesystem::file_size(two), 0u);
  EXPECT_THAT(catalog->OpenWorkspace(3),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
}

TEST_F(SqliteCatalogStoreTest, FilesAreForTheOwnerOnly) {
  const mode_t old_umask = umask(022);
  {
    auto catalog = Open();
    ASSERT_EQ(Create(*catalog), 1u);
    ASSERT_OK_AND_ASSIGN(auto store, catalog->OpenWorkspace(1));
    WorkspaceWrite w;
    w.counters.next_contact_id = 5;
    ASSERT_OK(store->Commit(w));
    for (const std::string& dir : {data_dir(), data_dir() + "/workspaces"}) {
      EXPECT_EQ(ModeOf(dir), 0700) << dir;
    }
    for (const char* name :
         {"LOCK", "catalog.db", "catalog.db-wal", "catalog.db-shm",
          "workspaces/1.db", "workspaces/1.db-wal", "workspaces/1.db-shm"}) {
      const std::string path = data_dir() + "/" + name;
      ASSERT_TRUE(Exists(path)) << path;
      EXPECT_EQ(ModeOf(path), 0600) << path;
    }
  }
  // Files and directories of an older binary are tightened.
  for (const char* name :
       {"", "/workspaces", "/catalog.db", "/LOCK", "/workspaces/1.db"}) {
    const std::string path = data_dir() + name;
    chmod(path.c_str(), std::filesystem::is_directory(path) ? 0755 : 0644);
  }
  {
    auto catalog = Open();
    ASSERT_OK(catalog->OpenWorkspace(1));
    EXPECT_EQ(ModeOf(data_dir()), 0700);
    EXPECT_EQ(ModeOf(data_dir() + "/workspaces"), 0700);
    EXPECT_EQ(ModeOf(data_dir() + "/catalog.db"), 0600);
    EXPECT_EQ(ModeOf(data_dir() + "/LOCK"), 0600);
    EXPECT_EQ(ModeOf(data_dir() + "/workspaces/1.db"), 0600);
  }
  umask(old_umask);
}

TEST_F(SqliteCatalogStoreTest, MigratesAVersion1CatalogKeepingIdsAbove) {
  std::filesystem::create_directories(data_dir() + "/workspaces");
  {
    ASSERT_OK_AND_ASSIGN(
        auto db, SqliteDb::Open(data_dir() + "/catalog.db", true, 1000));
    ASSERT_OK(db->Exec(
        "CREATE TABLE workspaces (id INTEGER PRIMARY KEY, display_name TEXT "
        "NOT NULL, plan INTEGER NOT NULL, key_hash BLOB NOT NULL, create_time "
        "INTEGER NOT NULL) STRICT; "
        "CREATE TABLE deleted_workspaces (id INTEGER PRIMARY KEY) STRICT; "
        "INSERT INTO workspaces VALUES (3, 'w', 1, x'', 0); "
        "INSERT INTO deleted_workspaces VALUES (5); "
        "PRAGMA application_id = 1397179220; PRAGMA user_version = 1;"));
  }
  auto catalog = Open();
  EXPECT_THAT(
      catalog->QueryPragma("user_version"),
      IsOkAndHolds(std::to_string(SqliteCatalogStore::SchemaVersion())));
  EXPECT_EQ(Create(*catalog), 6u);
}

TEST_F(SqliteCatalogStoreTest, ConcurrentCallsAreSafe) {
  auto catalog = Open();
  // New ids are handed out above it, apart from the ids put below.
  ASSERT_OK(catalog->PutWorkspace(MakeWorkspace(10000)));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const WorkspaceId id = static_cast<WorkspaceId>(t * 100 + i + 1);
        EXPECT_OK(catalog->PutWorkspace(MakeWorkspace(id)));
        EXPECT_OK(catalog->LoadWorkspaces());
        if (i % 5 == 0) {
          absl::StatusOr<NewWorkspaceStore> created =
              catalog->CreateWorkspaceStore();
          ASSERT_OK(created);
          EXPECT_GT(created->id, 10000u);
          created->store.reset();
          EXPECT_OK(catalog->DeleteWorkspace(created->id));
          EXPECT_OK(catalog->DeleteWorkspace(id));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(catalog->LoadWorkspaces(), IsOkAndHolds(SizeIs(4 * 16 + 1)));
}

}  // namespace
}  // namespace segments
