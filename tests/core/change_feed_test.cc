// The change feed's room (core/feed/change_feed.h) over a real Workspace on
// the in-memory store: batches read from the log, filters and progress,
// followers and their limit, the segment deletion event, retention and
// pruning in small transactions.
#include "core/feed/change_feed.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"

namespace segments {
namespace {

using ::segments::testing::Cond;
using ::segments::testing::IsOk;
using ::segments::testing::SegmentOf;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr UnixSeconds kNow = 1'700'000'000;
constexpr int64_t kDay = 86400;

class ChangeFeedTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    ws_.reset();
    auto ws =
        testing::OpenMemoryWorkspace(storage_, Plan::kPro, &clock_, limits_);
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  ContactId Create(const std::string& email, const std::string& country) {
    ContactDraft d;
    d.email = email;
    d.country = country;
    d.created_at = kNow;
    auto c = ws_->CreateContact(d);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->id : 0;
  }

  SegmentId Segment(const std::string& name, const std::string& country) {
    auto s = ws_->CreateSegment(SegmentOf(
        name, {Cond("country", Operator::kEquals, {std::string(country)})}));
    EXPECT_THAT(s, IsOk());
    return s.ok() ? s->record.id : 0;
  }

  // Everything after `after`, `max_events` at a time, as events.
  std::vector<MembershipChange> ReadAll(uint64_t after, const FeedFilter& f,
                                        size_t max_events) {
    std::vector<ChangeRun> runs;
    while (true) {
      auto batch = ws_->feed().Read(after, f, max_events);
      EXPECT_THAT(batch, IsOk());
      if (!batch.ok()) break;
      EXPECT_LE(batch->last_sequence - after, max_events);
      for (ChangeRun& r : batch->runs) runs.push_back(std::move(r));
      if (batch->last_sequence == after) {
        EXPECT_TRUE(batch->caught_up);
        break;
      }
      after = batch->last_sequence;
    }
    return ExpandRuns(runs);
  }

  std::vector<MembershipChange> StoredLog() {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    auto log = (*store)->ReadChanges(0, 1 << 20);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *log : std::vector<MembershipChange>{};
  }

  FakeClock clock_{kNow};
  Limits limits_;
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Workspace> ws_;
};

TEST_F(ChangeFeedTest, BatchesOfAnySizeReadTheWholeLogInOrder) {
  const SegmentId de = Segment("de", "DE");
  const SegmentId fr = Segment("fr", "FR");
  std::vector<ContactDraft> drafts;
  for (int i = 0; i < 40; ++i) {
    ContactDraft d;
    d.email = "c" + std::to_string(i) + "@x.com";
    d.country = i % 2 == 0 ? "DE" : "FR";
    drafts.push_back(d);
  }
  ASSERT_THAT(ws_->BatchUpsertContacts(drafts, {}), IsOk());
  Create("one@x.com", "DE");
  ASSERT_THAT(ws_->DeleteSegment(fr), IsOk());
  const std::vector<MembershipChange> log = StoredLog();
  ASSERT_THAT(log, SizeIs(42));  // 20 + 20 entries, 1 entry, 1 deletion
  EXPECT_EQ(ws_->feed().head(), 42u);
  for (size_t max : {1, 3, 7, 20, 100}) {
    EXPECT_EQ(ReadAll(0, {}, max), log) << "batches of " << max;
  }
  // From the middle of a run.
  EXPECT_EQ(ReadAll(5, {}, 4),
            std::vector<MembershipChange>(log.begin() + 5, log.end()));
  // Only one segment's runs; progress still reaches the head.
  std::vector<MembershipChange> only_de;
  for (const MembershipChange& e : log) {
    if (e.segment_id == de) only_de.push_back(e);
  }
  EXPECT_EQ(ReadAll(0, {{de}}, 6), only_de);
}

TEST_F(ChangeFeedTest, AFilteredBatchReportsHowFarItRead) {
  const SegmentId de = Segment("de", "DE");
  Segment("fr", "FR");
  Create("a@x.com", "FR");  // sequence 1, not de's
  auto batch = ws_->feed().Read(0, {{de}}, 100);
  ASSERT_THAT(batch, IsOk());
  EXPECT_THAT(batch->runs, IsEmpty());
  EXPECT_EQ(batch->last_sequence, 1u);
  EXPECT_TRUE(batch->caught_up);
}

TEST_F(ChangeFeedTest, ASegmentsDeletionIsOneEventWithNoContact) {
  const SegmentId de = Segment("de", "DE");
  Create("a@x.com", "DE");
  clock_.Advance(5);
  ASSERT_THAT(ws_->DeleteSegment(de), IsOk());
  const std::vector<MembershipChange> log = StoredLog();
  ASSERT_THAT(log, SizeIs(2));
  EXPECT_EQ(log[1], (MembershipChange{2, de, 0, ChangeKind::kSegmentDeleted,
                                      ChangeCause::kRulesChanged, kNow + 5}));
  // It survives a restart like every other event.
  Open();
  EXPECT_EQ(ReadAll(0, {}, 10), log);
}

TEST_F(ChangeFeedTest, FollowersAreWokenByEveryWriteUntilTheyUnfollow) {
  Segment("de", "DE");
  std::atomic<int> woken{0};
  ASSERT_OK_AND_ASSIGN(ChangeFeed::FollowerId id,
                       ws_->feed().Follow([&] { ++woken; }));
  Create("a@x.com", "DE");
  Create("b@x.com", "DE");
  Create("c@x.com", "IT");  // no change: nothing is published
  EXPECT_EQ(woken.load(), 2);
  ws_->feed().Unfollow(id);
  Create("d@x.com", "DE");
  EXPECT_EQ(woken.load(), 2);
}

TEST_F(ChangeFeedTest, FollowersPastTheLimitAreRefused) {
  limits_.max_feed_streams = 2;
  Open();
  ASSERT_OK_AND_ASSIGN(auto a, ws_->feed().Follow([] {}));
  ASSERT_OK_AND_ASSIGN(auto b, ws_->feed().Follow([] {}));
  EXPECT_THAT(ws_->feed().Follow([] {}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("limit max_feed_streams")));
  ws_->feed().Unfollow(a);
  EXPECT_THAT(ws_->feed().Follow([] {}), IsOk());
  (void)b;
}

TEST_F(ChangeFeedTest, AClosedFeedWakesItsFollowersAndAnswersWhy) {
  Segment("de", "DE");
  Create("a@x.com", "DE");
  std::atomic<int> woken{0};
  ASSERT_OK_AND_ASSIGN(ChangeFeed::FollowerId id,
                       ws_->feed().Follow([&] { ++woken; }));
  ws_->feed().Close(absl::NotFoundError("workspace 1 was deleted"));
  EXPECT_EQ(woken.load(), 1);
  ws_->feed().Close(absl::NotFoundError("again"));  // once only
  EXPECT_EQ(woken.load(), 1);
  for (const absl::Status& s :
       {ws_->feed().Read(0, {}, 10).status(), ws_->feed().CheckReadable(0),
        ws_->feed().ReadableHead().status(),
        ws_->feed().Follow([] {}).status()}) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("deleted")));
  }
  ws_->feed().Unfollow(id);
}

TEST_F(ChangeFeedTest, ASequenceNotReachedYetIsOutOfRange) {
  Segment("de", "DE");
  Create("a@x.com", "DE");
  EXPECT_THAT(ws_->feed().CheckReadable(1), IsOk());
  const absl::Status s = ws_->feed().CheckReadable(2);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kOutOfRange,
                          HasSubstr("has not been reached")));
  EXPECT_EQ(GetErrorInfo(s).reason, "SEQUENCE_NOT_REACHED");
  EXPECT_THAT(ws_->feed().Read(7, {}, 10),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(ChangeFeedTest, PruningKeepsTheLastRetentionPeriodAndSaysWhatIsGone) {
  Segment("de", "DE");
  Create("old1@x.com", "DE");  // sequence 1, at kNow
  Create("old2@x.com", "DE");  // 2
  clock_.Advance(3 * kDay);
  Create("mid@x.com", "DE");  // 3, at kNow + 3 days
  clock_.Advance(5 * kDay);   // kNow + 8 days: 1 and 2 are over 7 days old
  ASSERT_OK_AND_ASSIGN(bool more, ws_->PruneChanges(10));
  EXPECT_FALSE(more);
  EXPECT_EQ(ws_->feed().retention(), (LogRetention{3, kNow + 1}));
  EXPECT_EQ(ReadAll(2, {}, 10),
            std::vector<MembershipChange>({StoredLog().front()}));
  const absl::Status gone = ws_->feed().CheckReadable(1);
  EXPECT_THAT(gone, StatusIs(absl::StatusCode::kOutOfRange,
                             HasSubstr("oldest retained is sequence 3")));
  EXPECT_EQ(GetErrorInfo(gone).reason, "CHANGES_NOT_RETAINED");
  EXPECT_EQ(GetErrorInfo(gone).metadata.at("oldest_retained_sequence"), "3");
  EXPECT_THAT(ws_->feed().Read(0, {}, 10),
              StatusIs(absl::StatusCode::kOutOfRange));
  // The retention is the store's: a restart reads it back.
  Open();
  EXPECT_EQ(ws_->feed().retention(), (LogRetention{3, kNow + 1}));
  // Everything pruned: the oldest retained is the next to come.
  clock_.Advance(8 * kDay);
  ASSERT_THAT(ws_->PruneChanges(10), IsOk());
  EXPECT_EQ(ws_->feed().retention().first_sequence, 4u);
  EXPECT_THAT(ws_->feed().CheckReadable(3), IsOk());
  EXPECT_THAT(ReadAll(3, {}, 10), IsEmpty());
}

TEST_F(ChangeFeedTest, PruningGoesInSmallTransactions) {
  Segment("de", "DE");
  // More runs than one pruning transaction deletes: one per contact, each
  // a second apart (the in-memory store groups same-second events).
  const size_t runs = Workspace::kPruneRunsPerWrite + 200;
  for (size_t i = 0; i < runs; ++i) {
    Create("c" + std::to_string(i) + "@x.com", "DE");
    clock_.Advance(1);
  }
  clock_.Advance(8 * kDay);
  ASSERT_OK_AND_ASSIGN(bool more, ws_->PruneChanges(1));
  EXPECT_TRUE(more);
  EXPECT_EQ(ws_->feed().retention().first_sequence,
            Workspace::kPruneRunsPerWrite + 1);
  // Readers see the retained suffix in the meantime.
  EXPECT_THAT(ReadAll(Workspace::kPruneRunsPerWrite, {}, 1000), SizeIs(200));
  ASSERT_OK_AND_ASSIGN(more, ws_->PruneChanges(10));
  EXPECT_FALSE(more);
  EXPECT_EQ(ws_->feed().retention().first_sequence, runs + 1);
}

}  // namespace
}  // namespace segments
