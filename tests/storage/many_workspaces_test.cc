// Issue 16: a node with many workspaces. Every workspace used to be opened at
// start, with three SQLite connections and a checkpoint thread of its own;
// now the registry keeps at most max_open_workspaces open, and one pool
// checkpoints them all, so threads and file descriptors do not grow with the
// number of workspaces.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/engine/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_catalog.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::TempDir;

constexpr size_t kMaxOpen = 4;
constexpr int kWorkspaces = 40;
// docs/operations.md: three connections, each with its database and WAL
// file, and the -shm mapping they share; one to spare.
constexpr size_t kFdsPerOpenWorkspace = 8;

size_t Count(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}
// A 32-byte key hash (the catalog stores SHA-256s).
std::string KeyHash(int i) {
  std::string h = absl::StrCat("key", i);
  h.resize(32, '.');
  return h;
}

size_t OpenFds() { return Count("/proc/self/fd"); }
size_t Threads() { return Count("/proc/self/task"); }

class ManyWorkspacesTest : public ::testing::Test {
 protected:
  void Start() {
    registry_.reset();
    auto catalog = SqliteCatalogStore::Open(dir_.path(), SqliteOptions{});
    ASSERT_THAT(catalog, IsOk());
    RegistryOptions options;
    options.max_open_workspaces = kMaxOpen;
    auto r = Registry::Open(*std::move(catalog), &clock_, Limits(), options);
    ASSERT_THAT(r, IsOk());
    registry_ = *std::move(r);
  }

  TempDir dir_;
  FakeClock clock_{1'800'000'000};
  std::unique_ptr<Registry> registry_;
};

TEST_F(ManyWorkspacesTest, ThreadsAndDescriptorsStayBounded) {
  Start();
  // The catalog, its checkpoint pool and the timer thread are there; no
  // workspace is.
  const size_t fds = OpenFds();
  const size_t threads = Threads();
  std::vector<WorkspaceId> ids;
  for (int i = 0; i < kWorkspaces; ++i) {
    ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                         registry_->CreateWorkspace(
                             absl::StrCat("w", i), Plan::kStarter, KeyHash(i)));
    ids.push_back(w.id);
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Workspace> ws, registry_->Find(w.id));
    ContactDraft d;
    d.email = absl::StrCat("c", i, "@x.com");
    ASSERT_OK(ws->CreateContact(d).status());
    ws.reset();
    EXPECT_LE(registry_->Stats().open, kMaxOpen);
    EXPECT_LE(OpenFds(), fds + kMaxOpen * kFdsPerOpenWorkspace);
    EXPECT_LE(Threads(), threads);
  }
  EXPECT_EQ(registry_->Stats().evicted_total, kWorkspaces - kMaxOpen);

  // A restart opens none of them; each opens on its first call, with its
  // data.
  Start();
  EXPECT_EQ(registry_->Stats().open, 0u);
  EXPECT_LE(OpenFds(), fds);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kWorkspaces; ++i) {
      ASSERT_OK_AND_ASSIGN(std::shared_ptr<Workspace> ws,
                           registry_->Authenticate(KeyHash(i)));
      ASSERT_OK_AND_ASSIGN(Contact c, ws->GetContact(1));
      EXPECT_EQ(c.email, absl::StrCat("c", i, "@x.com"));
      ws.reset();
      EXPECT_LE(OpenFds(), fds + kMaxOpen * kFdsPerOpenWorkspace);
      EXPECT_LE(Threads(), threads);
    }
  }
  EXPECT_EQ(registry_->Stats().open, kMaxOpen);
}

}  // namespace
}  // namespace segments
