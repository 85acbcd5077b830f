// Issue 16, many workspaces per node: the registry opens workspaces on first
// use, closes the least recently used idle ones to stay within its budget,
// and a closed workspace's time flips still fire and its feed resumes.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/engine/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::Cond;
using ::segments::testing::IsOk;
using ::segments::testing::SegmentOf;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;

constexpr UnixSeconds kStart = 1'800'000'000;

class RegistryLruTest : public ::testing::Test {
 protected:
  void Open(size_t max_open, size_t memory_budget_bytes = size_t{8} << 30) {
    registry_.reset();
    RegistryOptions options;
    options.max_open_workspaces = max_open;
    options.memory_budget_bytes = memory_budget_bytes;
    auto r = Registry::Open(std::make_unique<MemoryCatalogStore>(storage_),
                            &clock_, Limits(), options);
    ASSERT_THAT(r, IsOk());
    registry_ = std::move(r).value();
  }

  WorkspaceId Create(const std::string& name) {
    auto record = registry_->CreateWorkspace(name, Plan::kStarter, "h" + name);
    EXPECT_THAT(record, IsOk());
    return record.ok() ? record->id : 0;
  }

  std::shared_ptr<Workspace> Get(WorkspaceId id) {
    auto ws = registry_->Find(id);
    EXPECT_THAT(ws, IsOk());
    return ws.ok() ? *ws : nullptr;
  }

  // Waits (up to a minute: the registry's timer thread reads the fake clock
  // at least once a second) for `done`.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 6000 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  FakeClock clock_{kStart};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryLruTest, StartReadsTheCatalogAndOpensNoWorkspace) {
  Open(100);
  std::vector<WorkspaceId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Create(absl::StrCat("w", i)));
  Open(100);  // a clean restart: no workspace had a flip due
  const int opens = storage_->opens();
  EXPECT_EQ(registry_->Stats().open, 0u);
  EXPECT_EQ(registry_->Stats().workspaces, 5u);
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord shown, registry_->GetWorkspace(ids[2]));
  EXPECT_EQ(shown.display_name, "w2");
  EXPECT_EQ(storage_->opens(), opens);

  // The first call opens its workspace, and only it.
  ASSERT_OK_AND_ASSIGN(auto ws, registry_->Authenticate("hw3"));
  EXPECT_EQ(ws->id(), ids[3]);
  EXPECT_EQ(storage_->opens(), opens + 1);
  EXPECT_TRUE(registry_->IsOpen(ids[3]));
  EXPECT_FALSE(registry_->IsOpen(ids[2]));
  EXPECT_EQ(registry_->Stats().opened_total, 1u);
}

TEST_F(RegistryLruTest, LeastRecentlyUsedIdleWorkspaceIsClosedFirst) {
  Open(2);
  const WorkspaceId a = Create("a");
  const WorkspaceId b = Create("b");
  Get(a);  // b is now the least recently used
  const WorkspaceId c = Create("c");
  EXPECT_TRUE(registry_->IsOpen(a));
  EXPECT_FALSE(registry_->IsOpen(b));
  EXPECT_TRUE(registry_->IsOpen(c));
  EXPECT_EQ(registry_->Stats().evicted_total, 1u);

  Get(b);  // a was used before c: a goes
  EXPECT_FALSE(registry_->IsOpen(a));
  EXPECT_TRUE(registry_->IsOpen(b));
  EXPECT_TRUE(registry_->IsOpen(c));
  EXPECT_EQ(registry_->Stats().open, 2u);
  EXPECT_EQ(registry_->Stats().evicted_total, 2u);
}

// A check of the budget (at each open) re-estimates a bounded number of
// workspaces, those estimated longest ago: a workspace that grew while open
// is counted at its new size, and idle ones are closed for it.
TEST_F(RegistryLruTest, AWorkspaceThatGrewIsCountedAtTheNextOpens) {
  constexpr int kWorkspaces = 20;
  Open(100);
  for (int i = 0; i < kWorkspaces; ++i) Create(absl::StrCat("w", i));
  const size_t small = registry_->Stats().open_memory_bytes;
  const size_t one = small / kWorkspaces;  // an empty workspace's estimate
  ASSERT_GT(one, 0u);

  // Room for three more empty workspaces and a half, and no more.
  const size_t budget = small + 3 * one + one / 2;
  Open(100, budget);
  for (WorkspaceId id = 1; id <= kWorkspaces; ++id) Get(id);
  ASSERT_EQ(registry_->Stats().open, size_t{kWorkspaces});

  // Workspace 1 grows by one and a half empty workspaces.
  std::shared_ptr<Workspace> grown = Get(1);
  const size_t before = grown->ApproximateMemoryBytes();
  ::segments::testing::RandomData random(7, kStart);
  while (grown->ApproximateMemoryBytes() < before + one + one / 2) {
    std::vector<ContactDraft> batch;
    for (int i = 0; i < 500; ++i) batch.push_back(random.Draft());
    ASSERT_OK(grown->BatchUpsertContacts(batch, {}).status());
  }
  grown.reset();

  // Three new ones fit only if the growth is not counted.
  for (int i = 0; i < 3; ++i) Create(absl::StrCat("new", i));
  const RegistryStats stats = registry_->Stats();
  EXPECT_GT(stats.evicted_total, 0u);
  EXPECT_LE(stats.open_memory_bytes, budget);
  EXPECT_TRUE(registry_->IsOpen(1));   // used last of the old ones
  EXPECT_FALSE(registry_->IsOpen(2));  // used first
}

TEST_F(RegistryLruTest, WorkspaceHeldByACallIsNotClosed) {
  Open(1);
  const WorkspaceId a = Create("a");
  std::shared_ptr<Workspace> held = Get(a);
  const WorkspaceId b = Create("b");  // b alone is idle: b goes
  EXPECT_TRUE(registry_->IsOpen(a));
  EXPECT_FALSE(registry_->IsOpen(b));
  std::shared_ptr<Workspace> also = Get(b);
  // Both are held: over the budget until a call lets go.
  EXPECT_EQ(registry_->Stats().open, 2u);
  // The same engine while it stays open: no second one over the same data.
  EXPECT_EQ(Get(a).get(), held.get());
  held.reset();
  also.reset();
  // The next open closes both, idle now.
  const WorkspaceId c = Create("c");
  EXPECT_FALSE(registry_->IsOpen(a));
  EXPECT_FALSE(registry_->IsOpen(b));
  EXPECT_TRUE(registry_->IsOpen(c));
  EXPECT_EQ(registry_->Stats().open, 1u);
}

TEST_F(RegistryLruTest, ReopenedWorkspaceIsExact) {
  Open(1);
  const WorkspaceId a = Create("a");
  std::shared_ptr<Workspace> ws = Get(a);
  for (int i = 0; i < 20; ++i) {
    ContactDraft d;
    d.email = absl::StrCat("c", i, "@x.com");
    d.country = i % 3 == 0 ? "FR" : "DE";
    ASSERT_OK(ws->CreateContact(d).status());
  }
  ASSERT_OK_AND_ASSIGN(
      SegmentView fr,
      ws->CreateSegment(SegmentOf(
          "fr", {Cond("country", Operator::kEquals, {std::string("fr")})})));
  ASSERT_OK(ws->DeleteContact(4));
  ASSERT_OK_AND_ASSIGN(auto before,
                       ws->ListMembers(fr.record.id, 0, 100, ContactView::kId));
  ASSERT_OK_AND_ASSIGN(MemberCount count_before,
                       ws->CountMembers(fr.record.id));
  ws.reset();
  Create("b");  // closes a
  ASSERT_FALSE(registry_->IsOpen(a));

  ws = Get(a);
  ASSERT_OK_AND_ASSIGN(MemberCount count_after, ws->CountMembers(fr.record.id));
  EXPECT_EQ(count_after.member_count, count_before.member_count);
  EXPECT_EQ(count_after.as_of_sequence, count_before.as_of_sequence);
  ASSERT_OK_AND_ASSIGN(auto after,
                       ws->ListMembers(fr.record.id, 0, 100, ContactView::kId));
  ASSERT_EQ(after.items.size(), before.items.size());
  for (size_t i = 0; i < after.items.size(); ++i) {
    EXPECT_EQ(after.items[i].id, before.items[i].id);
  }
  // Ids go on from where they were.
  ContactDraft d;
  d.email = "new@x.com";
  ASSERT_OK_AND_ASSIGN(Contact created, ws->CreateContact(d));
  EXPECT_EQ(created.id, 21u);
}

// The decision (docs/decisions.md): a closed workspace's next flip is stored
// in the catalog as its wake time, and the registry opens it then.
TEST_F(RegistryLruTest, TimeFlipsFireForAClosedWorkspace) {
  Open(1);
  const WorkspaceId a = Create("a");
  std::shared_ptr<Workspace> ws = Get(a);
  ContactDraft d;
  d.email = "recent@x.com";
  d.last_engaged_at = kStart;
  ASSERT_OK(ws->CreateContact(d).status());
  ASSERT_OK_AND_ASSIGN(
      SegmentView recent,
      ws->CreateSegment(SegmentOf(
          "engaged this week",
          {Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{7}})})));
  ASSERT_OK_AND_ASSIGN(MemberCount in, ws->CountMembers(recent.record.id));
  ASSERT_EQ(in.member_count, 1u);
  // Open: a crash now must open it at the next start.
  EXPECT_EQ(storage_->wake_time(a), kWakeAtOnce);
  const std::optional<UnixSeconds> due = ws->next_flip_due();
  ASSERT_TRUE(due.has_value());
  ws.reset();
  Create("b");  // closes a, storing its wake time
  ASSERT_FALSE(registry_->IsOpen(a));
  EXPECT_EQ(storage_->wake_time(a), due);

  // The flip falls due with a closed: the registry opens it, and the flip is
  // logged at its due second.
  clock_.Set(*due + 5);
  ASSERT_TRUE(Eventually([&] { return registry_->IsOpen(a); }));
  ws = Get(a);
  ASSERT_OK_AND_ASSIGN(MemberCount out, ws->CountMembers(recent.record.id));
  EXPECT_EQ(out.member_count, 0u);
  ASSERT_OK_AND_ASSIGN(FeedBatch batch,
                       ws->feed().Read(in.as_of_sequence, FeedFilter(), 100));
  ASSERT_EQ(batch.runs.size(), 1u);
  EXPECT_EQ(batch.runs[0].kind, ChangeKind::kLeft);
  EXPECT_EQ(batch.runs[0].cause, ChangeCause::kTime);
  EXPECT_EQ(batch.runs[0].time, *due);
  EXPECT_THAT(batch.runs[0].contact_ids, ElementsAre(1u));
}

TEST_F(RegistryLruTest, WorkspaceOpenAtACrashIsOpenedAtStart) {
  Open(10);
  const WorkspaceId a = Create("a");
  const WorkspaceId b = Create("b");
  // While open its stored wake time is "at once"; a clean stop stores the
  // real one (none due here), a crash stores nothing.
  ASSERT_EQ(storage_->wake_time(a), kWakeAtOnce);
  registry_.reset();
  EXPECT_EQ(storage_->wake_time(a), std::nullopt);
  // As a crash would have left a.
  ASSERT_OK(MemoryCatalogStore(storage_).PutWakeTimes({{a, kWakeAtOnce}}));
  Open(10);
  EXPECT_TRUE(Eventually([&] { return registry_->IsOpen(a); }));
  EXPECT_FALSE(registry_->IsOpen(b));
}

TEST_F(RegistryLruTest, FeedResumesAfterTheWorkspaceWasClosed) {
  Open(1);
  const WorkspaceId a = Create("a");
  std::shared_ptr<Workspace> ws = Get(a);
  ASSERT_OK_AND_ASSIGN(
      SegmentView fr,
      ws->CreateSegment(SegmentOf(
          "fr", {Cond("country", Operator::kEquals, {std::string("fr")})})));
  auto add = [&](const std::string& email) {
    ContactDraft d;
    d.email = email;
    d.country = "FR";
    ASSERT_OK(ws->CreateContact(d).status());
  };
  add("one@x.com");
  add("two@x.com");
  // A follower read up to here, then went away.
  ASSERT_OK_AND_ASSIGN(FeedBatch first, ws->feed().Read(0, FeedFilter(), 100));
  const uint64_t checkpoint = first.last_sequence;
  ws.reset();
  Create("b");
  ASSERT_FALSE(registry_->IsOpen(a));

  ws = Get(a);
  add("three@x.com");
  ASSERT_OK_AND_ASSIGN(FeedBatch rest,
                       ws->feed().Read(checkpoint, FeedFilter(), 100));
  ASSERT_EQ(rest.runs.size(), 1u);
  EXPECT_EQ(rest.runs[0].first_sequence, checkpoint + 1);
  EXPECT_EQ(rest.runs[0].segment_id, fr.record.id);
  EXPECT_THAT(rest.runs[0].contact_ids, ElementsAre(3u));
  EXPECT_TRUE(rest.caught_up);
}

TEST_F(RegistryLruTest, FailedWakeTimeStoreLeavesTheWorkspaceAsItWas) {
  Open(1);
  const WorkspaceId a = Create("a");
  const WorkspaceId b = Create("b");
  ASSERT_FALSE(registry_->IsOpen(a));
  const std::optional<UnixSeconds> stored = storage_->wake_time(a);
  // Opening a stores its wake time first: that fails, so a stays closed
  // and b open, and a is opened by the next call.
  storage_->FailNextCommits(1);
  EXPECT_THAT(registry_->Find(a), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(registry_->IsOpen(a));
  EXPECT_TRUE(registry_->IsOpen(b));
  EXPECT_EQ(storage_->wake_time(a), stored);
  EXPECT_EQ(registry_->LoadError(a), absl::OkStatus());
  EXPECT_THAT(registry_->Find(a), IsOk());
}

TEST_F(RegistryLruTest, DeletedWhileClosedIsGone) {
  Open(1);
  const WorkspaceId a = Create("a");
  Create("b");
  ASSERT_FALSE(registry_->IsOpen(a));
  ASSERT_OK(registry_->DeleteWorkspace(a));
  EXPECT_THAT(registry_->Find(a), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace segments
