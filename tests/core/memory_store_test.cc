#include "tests/testing/memory_store.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

Contact MakeContact(ContactId id) {
  Contact c;
  c.id = id;
  c.email = "c" + std::to_string(id) + "@example.com";
  return c;
}

MembershipChange MakeChange(uint64_t seq) {
  MembershipChange c;
  c.sequence = seq;
  c.segment_id = 1;
  c.contact_id = static_cast<ContactId>(seq);
  return c;
}

WorkspaceRecord MakeWorkspace(WorkspaceId id) {
  WorkspaceRecord w;
  w.id = id;
  w.display_name = "ws";
  w.plan = Plan::kStarter;
  w.key_hash = std::string(32, 'k');
  return w;
}

class MemoryStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  MemoryCatalogStore catalog_{storage_};
};

TEST_F(MemoryStoreTest, InjectedFailuresChangeNothing) {
  ASSERT_OK_AND_ASSIGN(auto store, catalog_.OpenWorkspace(1));
  WorkspaceWrite w;
  w.put_contacts = {MakeContact(1)};
  w.changes = GroupIntoRuns({MakeChange(1)});
  w.counters = {2, 1, 1};

  storage_->FailNextCommits(3);
  EXPECT_THAT(store->Commit(w), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(catalog_.PutWorkspace(MakeWorkspace(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(catalog_.DeleteWorkspace(1),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(storage_->commit_count(), 0);
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, IsEmpty());
  EXPECT_EQ(data.counters, WorkspaceCounters{});
  ASSERT_OK_AND_ASSIGN(auto changes, store->ReadChanges(0, 10));
  EXPECT_THAT(changes, IsEmpty());
  EXPECT_THAT(catalog_.LoadWorkspaces(), IsOk());

  // The injected failures are used up: the same calls now succeed.
  ASSERT_OK(store->Commit(w));
  ASSERT_OK(catalog_.PutWorkspace(MakeWorkspace(1)));
  EXPECT_EQ(storage_->commit_count(), 2);
  ASSERT_OK_AND_ASSIGN(data, LoadAll(*store));
  EXPECT_THAT(data.contacts, ElementsAre(MakeContact(1)));
  EXPECT_EQ(data.counters, w.counters);
}

TEST_F(MemoryStoreTest, StateOutlivesTheCatalogObject) {
  {
    MemoryCatalogStore first(storage_);
    ASSERT_OK(first.PutWorkspace(MakeWorkspace(2)));
    ASSERT_OK_AND_ASSIGN(auto store, first.OpenWorkspace(2));
    WorkspaceWrite w;
    w.put_contacts = {MakeContact(3), MakeContact(1)};
    ASSERT_OK(store->Commit(w));
  }
  MemoryCatalogStore second(storage_);  // a "restart"
  ASSERT_OK_AND_ASSIGN(auto records, second.LoadWorkspaces());
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].record, MakeWorkspace(2));
  EXPECT_EQ(records[0].problem, "");
  // New ids are above every id it ever held.
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                       second.CreateWorkspaceStore());
  EXPECT_EQ(created.id, 3u);
  ASSERT_OK_AND_ASSIGN(auto store, second.OpenWorkspace(2));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, ElementsAre(MakeContact(1), MakeContact(3)));
}

TEST_F(MemoryStoreTest, PutsApplyBeforeDeletes) {
  ASSERT_OK_AND_ASSIGN(auto store, catalog_.OpenWorkspace(1));
  WorkspaceWrite w;
  w.put_contacts = {MakeContact(1), MakeContact(2)};
  w.deleted_contacts = {2};
  SegmentRecord s;
  s.id = 4;
  w.put_segments = {s};
  w.deleted_segments = {4};
  ASSERT_OK(store->Commit(w));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, ElementsAre(MakeContact(1)));
  EXPECT_THAT(data.segments, IsEmpty());
}

TEST_F(MemoryStoreTest, ChangeLogPagesAndRefusesRepeatedSequences) {
  ASSERT_OK_AND_ASSIGN(auto store, catalog_.OpenWorkspace(1));
  WorkspaceWrite w;
  std::vector<MembershipChange> events;
  for (uint64_t s = 1; s <= 10; ++s) events.push_back(MakeChange(s));
  w.changes = GroupIntoRuns(events);
  ASSERT_OK(store->Commit(w));
  ASSERT_OK_AND_ASSIGN(auto head, store->ReadChanges(0, 4));
  EXPECT_THAT(head, ElementsAre(MakeChange(1), MakeChange(2), MakeChange(3),
                                MakeChange(4)));
  ASSERT_OK_AND_ASSIGN(auto tail, store->ReadChanges(8, 100));
  EXPECT_THAT(tail, ElementsAre(MakeChange(9), MakeChange(10)));
  ASSERT_OK_AND_ASSIGN(auto none, store->ReadChanges(10, 100));
  EXPECT_THAT(none, IsEmpty());

  WorkspaceWrite repeat;
  repeat.put_contacts = {MakeContact(5)};
  repeat.changes = GroupIntoRuns({MakeChange(11), MakeChange(10)});
  EXPECT_THAT(store->Commit(repeat), StatusIs(absl::StatusCode::kInternal));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto all, store->ReadChanges(0, 100));
  EXPECT_THAT(all, SizeIs(10));
}

TEST_F(MemoryStoreTest, DeleteWorkspaceRemovesEverything) {
  ASSERT_OK(catalog_.PutWorkspace(MakeWorkspace(1)));
  ASSERT_OK_AND_ASSIGN(auto store, catalog_.OpenWorkspace(1));
  WorkspaceWrite w;
  w.put_contacts = {MakeContact(1)};
  ASSERT_OK(store->Commit(w));
  ASSERT_OK(catalog_.DeleteWorkspace(1));
  ASSERT_OK_AND_ASSIGN(auto records, catalog_.LoadWorkspaces());
  EXPECT_THAT(records, IsEmpty());
  // A store left open on the deleted workspace cannot write into it.
  EXPECT_THAT(store->Commit(w),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(auto fresh, catalog_.OpenWorkspace(1));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*fresh));
  EXPECT_THAT(data.contacts, IsEmpty());
}

}  // namespace
}  // namespace segments
