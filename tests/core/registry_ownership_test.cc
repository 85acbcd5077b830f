// The Registry over a shared catalog (CatalogStore::Shared, "Ownership" in
// core/store/store.h), without PostgreSQL: a test catalog over the memory
// store whose workspaces are owned by one node name at a time. A workspace
// another node owns is UNAVAILABLE with reason WORKSPACE_NOT_OWNED and the
// catalog's retry delay; one whose ownership is reported lost is closed at
// once and its feed ends with that error; one another node wants is given
// up once no call comes for it; records other nodes write are read on
// demand; the scan opens due workspaces no node owns.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/base/errors.h"
#include "core/engine/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::StatusIs;

constexpr absl::Duration kRetry = absl::Milliseconds(250);

// Who owns which workspace, shared by the nodes' catalogs, and which ones
// a node was refused (as the lease's wanted mark: until it changes hands).
struct Owners {
  absl::Mutex mu;
  std::map<WorkspaceId, std::string> owner ABSL_GUARDED_BY(mu);
  std::set<WorkspaceId> wanted ABSL_GUARDED_BY(mu);
};

// A store that gives its workspace's ownership up when destroyed.
class OwnedStore : public WorkspaceStore {
 public:
  OwnedStore(std::unique_ptr<WorkspaceStore> inner, Owners* owners,
             WorkspaceId id, std::string node)
      : inner_(std::move(inner)), owners_(owners), id_(id), node_(node) {}
  ~OwnedStore() override {
    absl::MutexLock l(&owners_->mu);
    auto it = owners_->owner.find(id_);
    if (it != owners_->owner.end() && it->second == node_) {
      owners_->owner.erase(it);
    }
  }
  absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) override {
    return inner_->LoadStreaming(sink);
  }
  absl::Status Commit(const WorkspaceWrite& write) override {
    {
      absl::MutexLock l(&owners_->mu);
      auto it = owners_->owner.find(id_);
      if (it == owners_->owner.end() || it->second != node_) {
        return WorkspaceNotOwnedError(id_, "is no longer served here", kRetry);
      }
    }
    return inner_->Commit(write);
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) override {
    return inner_->ReadChanges(after_sequence, limit);
  }

 private:
  const std::unique_ptr<WorkspaceStore> inner_;
  Owners* const owners_;
  const WorkspaceId id_;
  const std::string node_;
};

// One node's view of the shared catalog.
class SharedCatalog : public CatalogStore {
 public:
  SharedCatalog(std::shared_ptr<MemoryStorage> storage, Owners* owners,
                std::string node)
      : inner_(std::move(storage)), owners_(owners), node_(std::move(node)) {}

  absl::StatusOr<std::vector<LoadedWorkspaceRecord>> LoadWorkspaces() override {
    return inner_.LoadWorkspaces();
  }
  absl::Status PutWorkspace(const WorkspaceRecord& record) override {
    return inner_.PutWorkspace(record);
  }
  absl::Status DeleteWorkspace(WorkspaceId id) override {
    return inner_.DeleteWorkspace(id);
  }
  absl::Status PutWakeTimes(
      const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
          wake_times) override {
    return inner_.PutWakeTimes(wake_times);
  }
  absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() override {
    absl::StatusOr<NewWorkspaceStore> created = inner_.CreateWorkspaceStore();
    if (!created.ok()) return created;
    {
      absl::MutexLock l(&owners_->mu);
      owners_->owner[created->id] = node_;
    }
    created->store = std::make_unique<OwnedStore>(std::move(created->store),
                                                  owners_, created->id, node_);
    return created;
  }
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) override {
    {
      absl::MutexLock l(&owners_->mu);
      auto [it, free] = owners_->owner.try_emplace(id, node_);
      if (free) owners_->wanted.erase(id);
      if (!free && it->second != node_) {
        owners_->wanted.insert(id);
        return WorkspaceNotOwnedError(
            id, absl::StrCat("is served by node ", it->second), kRetry);
      }
    }
    absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
        inner_.OpenWorkspace(id);
    if (!store.ok()) return store;
    return std::unique_ptr<WorkspaceStore>(
        std::make_unique<OwnedStore>(*std::move(store), owners_, id, node_));
  }

  bool Shared() const override { return true; }
  absl::StatusOr<std::optional<LoadedWorkspaceRecord>> LoadWorkspace(
      WorkspaceId id) override {
    absl::StatusOr<std::vector<LoadedWorkspaceRecord>> all =
        inner_.LoadWorkspaces();
    if (!all.ok()) return all.status();
    for (LoadedWorkspaceRecord& r : *all) {
      if (r.record.id == id) return std::optional(std::move(r));
    }
    return std::nullopt;
  }
  absl::StatusOr<std::optional<LoadedWorkspaceRecord>> FindWorkspaceByKeyHash(
      std::string_view key_hash) override {
    ++key_lookups;
    absl::StatusOr<std::vector<LoadedWorkspaceRecord>> all =
        inner_.LoadWorkspaces();
    if (!all.ok()) return all.status();
    for (LoadedWorkspaceRecord& r : *all) {
      if (r.record.key_hash == key_hash) return std::optional(std::move(r));
    }
    return std::nullopt;
  }
  void SetOwnershipLostHandler(std::function<void(WorkspaceId)> lost) override {
    absl::MutexLock l(&mu_);
    lost_ = std::move(lost);
  }
  void SetOwnershipWantedHandler(
      std::function<void(WorkspaceId)> wanted) override {
    absl::MutexLock l(&mu_);
    wanted_ = std::move(wanted);
  }
  absl::StatusOr<std::vector<WorkspaceId>> UnownedDueWorkspaces(
      UnixSeconds now, size_t limit) override {
    absl::StatusOr<std::vector<LoadedWorkspaceRecord>> all =
        inner_.LoadWorkspaces();
    if (!all.ok()) return all.status();
    std::vector<WorkspaceId> due;
    absl::MutexLock l(&owners_->mu);
    for (const LoadedWorkspaceRecord& r : *all) {
      if (due.size() < limit && r.wake_time.has_value() &&
          *r.wake_time <= now && owners_->owner.count(r.record.id) == 0) {
        due.push_back(r.record.id);
      }
    }
    return due;
  }
  absl::Duration OwnershipRetryDelay() const override { return kRetry; }

  std::atomic<int> key_lookups{0};

  // As the lease renewal would report it: `id` is now `new_owner`'s.
  void LoseTo(WorkspaceId id, const std::string& new_owner) {
    {
      absl::MutexLock l(&owners_->mu);
      owners_->owner[id] = new_owner;
    }
    absl::MutexLock l(&mu_);
    if (lost_) lost_(id);
  }
  // As a lease renewal reports it: the wanted workspaces this node owns.
  void ReportWanted() {
    std::vector<WorkspaceId> ids;
    {
      absl::MutexLock l(&owners_->mu);
      for (WorkspaceId id : owners_->wanted) {
        auto it = owners_->owner.find(id);
        if (it != owners_->owner.end() && it->second == node_) {
          ids.push_back(id);
        }
      }
    }
    absl::MutexLock l(&mu_);
    for (WorkspaceId id : ids) {
      if (wanted_) wanted_(id);
    }
  }

 private:
  MemoryCatalogStore inner_;
  Owners* const owners_;
  const std::string node_;
  absl::Mutex mu_;
  std::function<void(WorkspaceId)> lost_ ABSL_GUARDED_BY(mu_);
  std::function<void(WorkspaceId)> wanted_ ABSL_GUARDED_BY(mu_);
};

bool Eventually(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

class RegistryOwnershipTest : public ::testing::Test {
 protected:
  // A node: its registry over its view of the shared catalog.
  std::unique_ptr<Registry> Node(const std::string& name,
                                 SharedCatalog** catalog = nullptr) {
    auto shared = std::make_unique<SharedCatalog>(storage_, &owners_, name);
    if (catalog != nullptr) *catalog = shared.get();
    absl::StatusOr<std::unique_ptr<Registry>> r =
        Registry::Open(std::move(shared), &clock_, Limits{});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }
  static void ExpectNotOwned(const absl::Status& status) {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_EQ(GetErrorInfo(status).reason, kReasonWorkspaceNotOwned);
    EXPECT_EQ(GetRetryDelay(status), kRetry);
  }
  std::optional<std::string> OwnerOf(WorkspaceId id) {
    absl::MutexLock l(&owners_.mu);
    auto it = owners_.owner.find(id);
    if (it == owners_.owner.end()) return std::nullopt;
    return it->second;
  }

  FakeClock clock_{1'800'000'000};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  Owners owners_;
};

TEST_F(RegistryOwnershipTest, ALostWorkspaceClosesAndItsFeedEnds) {
  SharedCatalog* catalog = nullptr;
  std::unique_ptr<Registry> a = Node("a", &catalog);
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                       a->CreateWorkspace("w", Plan::kFree, "hash-w"));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Workspace> ws,
                       a->Authenticate("hash-w"));
  ContactDraft d;
  d.email = "x@y.com";
  ASSERT_OK(ws->CreateContact(d).status());

  catalog->LoseTo(w.id, "b");
  EXPECT_FALSE(a->IsOpen(w.id));
  // The engine a call still holds: its feed is closed, its commits fail.
  ExpectNotOwned(ws->feed().ReadableHead().status());
  d.email = "z@y.com";
  ExpectNotOwned(ws->CreateContact(d).status());
  ws.reset();
  // New calls: told to retry, and nothing opened.
  ExpectNotOwned(a->Authenticate("hash-w").status());
  ExpectNotOwned(a->Find(w.id).status());
  EXPECT_FALSE(a->IsOpen(w.id));
  // Free again (b let it go): the next call takes it, with its data.
  {
    absl::MutexLock l(&owners_.mu);
    owners_.owner.erase(w.id);
  }
  ASSERT_OK_AND_ASSIGN(ws, a->Authenticate("hash-w"));
  EXPECT_EQ(OwnerOf(w.id), "a");
  ASSERT_OK_AND_ASSIGN(Contact c, ws->GetContact(1));
  EXPECT_EQ(c.email, "x@y.com");
}

TEST_F(RegistryOwnershipTest, RecordsOtherNodesWroteAreReadOnDemand) {
  std::unique_ptr<Registry> b = Node("b");  // reads the catalog first
  std::unique_ptr<Registry> a = Node("a");
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                       a->CreateWorkspace("w", Plan::kFree, "hash-1"));
  ASSERT_OK(a->Authenticate("hash-1").status());
  // b does not know it yet; a holds it.
  ExpectNotOwned(b->Authenticate("hash-1").status());
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord seen, b->GetWorkspace(w.id));
  EXPECT_EQ(seen.display_name, "w");
  // Only the owner changes the key.
  ExpectNotOwned(b->SetKeyHash(w.id, "hash-2"));
  ASSERT_OK(a->SetKeyHash(w.id, "hash-2"));
  a.reset();  // stops: gives it up
  EXPECT_EQ(OwnerOf(w.id), std::nullopt);
  // b, which had read "hash-1", reads the record again as it opens it.
  EXPECT_THAT(b->Authenticate("hash-1").status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_OK(b->Authenticate("hash-2").status());
  EXPECT_EQ(OwnerOf(w.id), "b");
}

// The node that creates a workspace (the one the admin key reaches) keeps
// nothing of it: the first call takes it wherever it lands.
TEST_F(RegistryOwnershipTest, ANewWorkspaceIsGivenUpAtOnce) {
  std::unique_ptr<Registry> a = Node("a");
  std::unique_ptr<Registry> b = Node("b");
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                       a->CreateWorkspace("w", Plan::kFree, "hash-w"));
  EXPECT_FALSE(a->IsOpen(w.id));
  EXPECT_EQ(OwnerOf(w.id), std::nullopt);
  // Its wake time is stored (none: no flips), not "at once": no node's
  // scan takes it.
  ASSERT_OK_AND_ASSIGN(std::vector<LoadedWorkspaceRecord> stored,
                       MemoryCatalogStore(storage_).LoadWorkspaces());
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].wake_time, std::nullopt);
  ASSERT_OK(b->Authenticate("hash-w").status());
  EXPECT_EQ(OwnerOf(w.id), "b");
  EXPECT_EQ(a->Stats().evicted_total, 0u);
}

// Ownership follows the calls: a workspace another node was refused is
// given up at the first report that finds no call for it since the
// previous one; a stream holding it ends first, to resume there.
TEST_F(RegistryOwnershipTest, AWantedWorkspaceMovesOnceItsHolderHasNoCalls) {
  SharedCatalog* catalog_a = nullptr;
  std::unique_ptr<Registry> a = Node("a", &catalog_a);
  std::unique_ptr<Registry> b = Node("b");
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                       a->CreateWorkspace("w", Plan::kFree, "hash-w"));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Workspace> stream,
                       a->Authenticate("hash-w"));
  ContactDraft d;
  d.email = "x@y.com";
  ASSERT_OK(stream->CreateContact(d).status());
  ExpectNotOwned(b->Authenticate("hash-w").status());  // b is asked now

  // A call on a between two reports: a is still asked too, and keeps it.
  catalog_a->ReportWanted();
  ASSERT_OK(a->Find(w.id).status());
  catalog_a->ReportWanted();
  EXPECT_TRUE(a->IsOpen(w.id));
  ASSERT_OK(stream->feed().ReadableHead().status());
  // No call since: a stream still holds it, so its feed ends (to resume on
  // b) and a keeps it until the stream lets go, serving no new call.
  catalog_a->ReportWanted();
  EXPECT_TRUE(a->IsOpen(w.id));
  ExpectNotOwned(stream->feed().ReadableHead().status());
  ExpectNotOwned(a->Authenticate("hash-w").status());
  ExpectNotOwned(a->Find(w.id).status());
  EXPECT_EQ(OwnerOf(w.id), "a");
  stream.reset();
  // The next report gives it up; b's next call takes it, with its data.
  catalog_a->ReportWanted();
  EXPECT_FALSE(a->IsOpen(w.id));
  EXPECT_EQ(OwnerOf(w.id), std::nullopt);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Workspace> on_b,
                       b->Authenticate("hash-w"));
  EXPECT_EQ(OwnerOf(w.id), "b");
  ASSERT_OK_AND_ASSIGN(Contact c, on_b->GetContact(1));
  EXPECT_EQ(c.email, "x@y.com");
}

// An unauthenticated caller repeating a bad key costs one catalog query,
// not one per call; a key another node creates meanwhile is found.
TEST_F(RegistryOwnershipTest, ABadKeyIsLookedUpOnce) {
  SharedCatalog* catalog_b = nullptr;
  std::unique_ptr<Registry> b = Node("b", &catalog_b);
  std::unique_ptr<Registry> a = Node("a");
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(b->Authenticate("bad-key").status(),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(catalog_b->key_lookups.load(), 1);
  ASSERT_OK(a->CreateWorkspace("w", Plan::kFree, "new-key").status());
  ASSERT_OK(b->Authenticate("new-key").status());
  EXPECT_EQ(catalog_b->key_lookups.load(), 2);
}

TEST_F(RegistryOwnershipTest, TheScanOpensDueWorkspacesNoNodeOwns) {
  std::unique_ptr<Registry> b = Node("b");
  std::unique_ptr<Registry> a = Node("a");
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord w,
                       a->CreateWorkspace("w", Plan::kFree, "hash-w"));
  a.reset();  // as a node that went away: nobody owns it, nobody asks
  // Its next flip (as a's close would have stored it) in 100 s.
  ASSERT_OK(
      MemoryCatalogStore(storage_).PutWakeTimes({{w.id, clock_.Now() + 100}}));
  // b's scans (every second) find nothing due before then ...
  clock_.Advance(50);
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_FALSE(b->IsOpen(w.id));
  EXPECT_EQ(OwnerOf(w.id), std::nullopt);
  // ... and open it once it is due, though no call asks for it.
  clock_.Advance(50);
  EXPECT_TRUE(Eventually([&] { return b->IsOpen(w.id); }));
  EXPECT_EQ(OwnerOf(w.id), "b");
}

}  // namespace
}  // namespace segments
