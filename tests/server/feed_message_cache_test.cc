// The change feed's shared messages (server/feed_message_cache.h) over real
// Workspaces on the in-memory store: streams at one position with one filter
// share one encoding; another position, filter, size or workspace never
// gets it; a message that reached an older head, or said nothing new, is
// read again.
#include "server/feed_message_cache.h"

#include <memory>
#include <string>
#include <vector>

#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segments/v1/feed.pb.h"
#include "server/raw_messages.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"

namespace segments {
namespace {

using ::segments::testing::Cond;
using ::segments::testing::IsOk;
using ::segments::testing::SegmentOf;

constexpr UnixSeconds kNow = 1'700'000'000;

class FeedMessageCacheTest : public ::testing::Test {
 protected:
  std::shared_ptr<Workspace> Open(WorkspaceId id) {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(id);
    EXPECT_THAT(store, IsOk());
    auto ws = Workspace::Open(id, Plan::kPro, std::move(store).value(), &clock_,
                              limits_);
    EXPECT_THAT(ws, IsOk());
    return ws.ok() ? std::shared_ptr<Workspace>(std::move(ws).value())
                   : nullptr;
  }

  static SegmentId Segment(Workspace& ws, const std::string& country) {
    auto s = ws.CreateSegment(SegmentOf(
        country, {Cond("country", Operator::kEquals, {std::string(country)})}));
    EXPECT_THAT(s, IsOk());
    return s.ok() ? s->record.id : 0;
  }

  static void Contacts(Workspace& ws, int n, const std::string& country) {
    static int next = 0;
    for (int i = 0; i < n; ++i) {
      ContactDraft d;
      d.email = "c" + std::to_string(next++) + "@x.com";
      d.country = country;
      ASSERT_THAT(ws.CreateContact(d), IsOk());
    }
  }

  static v1::WatchMembershipChangesResponse Decode(const FeedMessage& m) {
    v1::WatchMembershipChangesResponse r;
    EXPECT_TRUE(ParseRawMessage(m.bytes, &r));
    return r;
  }

  FakeClock clock_{kNow};
  Limits limits_;
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
};

TEST_F(FeedMessageCacheTest, StreamsAtOnePositionShareOneEncoding) {
  std::shared_ptr<Workspace> ws = Open(1);
  Segment(*ws, "DE");
  Contacts(*ws, 10, "DE");
  FeedMessageCache cache(8);
  auto first = cache.Get(ws, 0, {}, 4);
  auto second = cache.Get(ws, 0, {}, 4);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
  const v1::WatchMembershipChangesResponse r = Decode(**first);
  EXPECT_EQ(r.last_sequence(), 4u);
  EXPECT_FALSE(r.caught_up());
  ASSERT_EQ(r.runs_size(), 1);
  EXPECT_EQ(r.runs(0).first_sequence(), 1u);
  EXPECT_THAT(r.runs(0).contact_ids(), ::testing::ElementsAre(1, 2, 3, 4));
  EXPECT_EQ((*first)->last_sequence, 4u);
}

TEST_F(FeedMessageCacheTest, AnotherPositionFilterSizeOrWorkspaceIsItsOwn) {
  std::shared_ptr<Workspace> a = Open(1);
  std::shared_ptr<Workspace> b = Open(2);
  for (Workspace* ws : {a.get(), b.get()}) {
    Segment(*ws, "DE");
    Segment(*ws, "FR");
  }
  Contacts(*a, 3, "DE");
  Contacts(*a, 3, "FR");
  Contacts(*b, 5, "FR");
  FeedMessageCache cache(16);
  auto base = cache.Get(a, 0, {}, 10);
  ASSERT_THAT(base, IsOk());
  auto later = cache.Get(a, 1, {}, 10);
  auto only_de = cache.Get(a, 0, FeedFilter{{1}}, 10);
  auto smaller = cache.Get(a, 0, {}, 2);
  auto other = cache.Get(b, 0, {}, 10);
  for (const auto* m : {&later, &only_de, &smaller, &other}) {
    ASSERT_THAT(*m, IsOk());
    EXPECT_NE(m->value().get(), base->get());
  }
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(Decode(**later).runs(0).first_sequence(), 2u);
  EXPECT_EQ(Decode(**only_de).runs_size(), 1);  // the FR run left out
  EXPECT_EQ((*smaller)->last_sequence, 2u);
  const v1::WatchMembershipChangesResponse theirs = Decode(**other);
  ASSERT_EQ(theirs.runs_size(), 1);
  EXPECT_EQ(theirs.runs(0).segment_id(), 2u);  // b's FR contacts
  EXPECT_EQ(theirs.runs(0).contact_ids_size(), 5);
}

TEST_F(FeedMessageCacheTest, AMessageThatReachedAnOlderHeadIsReadAgain) {
  std::shared_ptr<Workspace> ws = Open(1);
  Segment(*ws, "DE");
  Contacts(*ws, 2, "DE");
  FeedMessageCache cache(8);
  auto old = cache.Get(ws, 0, {}, 100);
  ASSERT_THAT(old, IsOk());
  EXPECT_TRUE(Decode(**old).caught_up());
  Contacts(*ws, 1, "DE");  // the head moves on
  auto now = cache.Get(ws, 0, {}, 100);
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ((*now)->last_sequence, 3u);
  EXPECT_TRUE(Decode(**now).caught_up());
  // The new reading replaced the old one.
  auto again = cache.Get(ws, 0, {}, 100);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->get(), now->get());
}

TEST_F(FeedMessageCacheTest, NothingNewIsNeverServedFromTheCache) {
  std::shared_ptr<Workspace> ws = Open(1);
  Segment(*ws, "DE");
  Contacts(*ws, 2, "DE");
  FeedMessageCache cache(8);
  auto empty = cache.Get(ws, 2, {}, 100);
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ((*empty)->last_sequence, 2u);
  Contacts(*ws, 1, "DE");
  // A stream woken by that write must see it.
  auto woken = cache.Get(ws, 2, {}, 100);
  ASSERT_THAT(woken, IsOk());
  EXPECT_EQ((*woken)->last_sequence, 3u);
  EXPECT_EQ(cache.hits(), 0u);
}

TEST_F(FeedMessageCacheTest, KeepsOnlyTheNewestMessages) {
  std::shared_ptr<Workspace> ws = Open(1);
  Segment(*ws, "DE");
  Contacts(*ws, 10, "DE");
  FeedMessageCache cache(2);
  for (uint64_t after : {0, 1, 2})
    ASSERT_THAT(cache.Get(ws, after, {}, 1), IsOk());
  ASSERT_THAT(cache.Get(ws, 2, {}, 1), IsOk());  // kept
  ASSERT_THAT(cache.Get(ws, 0, {}, 1), IsOk());  // the oldest: gone
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 4u);
}

TEST_F(FeedMessageCacheTest, ADeletedWorkspacesMessagesAreNotServedToAnother) {
  FeedMessageCache cache(8);
  std::shared_ptr<Workspace> first = Open(1);
  Segment(*first, "DE");
  Contacts(*first, 3, "DE");
  ASSERT_THAT(cache.Get(first, 0, {}, 100), IsOk());
  first.reset();  // the cache does not keep it alive
  std::shared_ptr<Workspace> second = Open(2);
  Segment(*second, "FR");
  Contacts(*second, 4, "FR");
  auto theirs = cache.Get(second, 0, {}, 100);
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(Decode(**theirs).runs(0).contact_ids_size(), 4);
}

}  // namespace
}  // namespace segments
