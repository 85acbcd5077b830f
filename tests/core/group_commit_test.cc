// Concurrent contact writers share store commits (group commit), and every
// acknowledged write is there afterwards, with memberships equal to a
// recompute from scratch.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/engine/workspace.h"
#include "core/index/evaluator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/pages.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IdsOf;
using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;

// Delegates to a real store, but each commit takes a while, as an fsync
// does, so that writers arriving meanwhile queue up behind it.
class SlowStore : public WorkspaceStore {
 public:
  SlowStore(std::unique_ptr<WorkspaceStore> inner, std::atomic<int>* commits)
      : inner_(std::move(inner)), commits_(commits) {}
  absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) override {
    return inner_->LoadStreaming(sink);
  }
  absl::Status Commit(const WorkspaceWrite& write) override {
    absl::SleepFor(absl::Milliseconds(2));
    commits_->fetch_add(1);
    return inner_->Commit(write);
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after, size_t limit) override {
    return inner_->ReadChanges(after, limit);
  }

 private:
  std::unique_ptr<WorkspaceStore> inner_;
  std::atomic<int>* commits_;
};

ConditionSpec Cond(std::string field, Operator op, std::vector<RawValue> v) {
  return ConditionSpec{std::move(field), static_cast<int>(op), std::move(v)};
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void Open() {
    ws_.reset();
    MemoryCatalogStore catalog(storage_);
    auto inner = catalog.OpenWorkspace(1);
    ASSERT_THAT(inner, IsOk());
    auto ws = Workspace::Open(
        1, Plan::kGrowth,
        std::make_unique<SlowStore>(std::move(inner).value(), &commits_),
        &clock_, Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  // Every segment's members equal the filter evaluated over every contact.
  void ExpectMembershipsEqualRecompute(ContactId max_id) {
    for (const SegmentView& s : ws_->ListSegments(0, 100).items) {
      std::vector<ContactId> expected;
      for (ContactId id = 1; id <= max_id; ++id) {
        auto c = ws_->GetContact(id);
        if (c.ok() && FilterMatches(s.record.filter, *c, clock_.Now())) {
          expected.push_back(id);
        }
      }
      ASSERT_OK_AND_ASSIGN(
          Page<Contact> page,
          ws_->ListMembers(s.record.id, 0, 100000, ContactView::kId));
      EXPECT_EQ(IdsOf(page), expected) << s.record.display_name;
      EXPECT_EQ(s.member_count, expected.size());
    }
  }

  FakeClock clock_{1'800'000'000};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::atomic<int> commits_{0};
  std::unique_ptr<Workspace> ws_;
};

TEST_F(GroupCommitTest, ConcurrentWritersShareCommitsAndLoseNothing) {
  Open();
  SegmentDraft germany{
      "Germany",
      {1, {Cond("country", Operator::kEquals, {std::string("de")})}}};
  SegmentDraft hot{
      "Hot",
      {1, {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{50}})}}};
  ASSERT_THAT(ws_->CreateSegment(germany), IsOk());
  ASSERT_THAT(ws_->CreateSegment(hot), IsOk());
  commits_ = 0;

  constexpr int kThreads = 16;
  constexpr int kContactsPerThread = 20;
  // What each thread was told: the contact as acknowledged, or deleted.
  std::vector<std::map<ContactId, std::optional<Contact>>> acked(kThreads);
  std::atomic<int> writes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kContactsPerThread; ++i) {
        ContactDraft d;
        d.email = "t" + std::to_string(t) + "-" + std::to_string(i) + "@x.com";
        d.country = (i % 2) ? "DE" : "FR";
        d.lead_score = (t * 7 + i * 13) % 100;
        auto created = ws_->CreateContact(d);
        writes++;
        if (!created.ok()) {
          ADD_FAILURE() << created.status();
          continue;
        }
        acked[t][created->id] = *created;
        // A duplicate fails alone, without failing its group.
        EXPECT_THAT(ws_->CreateContact(d),
                    StatusIs(absl::StatusCode::kAlreadyExists));
        writes++;
        ContactDraft change;
        change.country = (i % 3) ? "de" : "US";
        change.lead_score = (i * 31) % 100;
        auto updated =
            ws_->UpdateContact(created->id, change, {"country", "lead_score"});
        writes++;
        if (updated.ok()) acked[t][created->id] = *updated;
        if (i % 5 == 0) {
          writes++;
          if (ws_->DeleteContact(created->id).ok()) {
            acked[t][created->id] = std::nullopt;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  // Writers arriving together shared commits.
  EXPECT_LT(commits_.load(), writes.load() / 2);

  auto check_acknowledged = [&] {
    for (const auto& per_thread : acked) {
      for (const auto& [id, contact] : per_thread) {
        auto got = ws_->GetContact(id);
        if (contact.has_value()) {
          ASSERT_THAT(got, IsOk());
          EXPECT_EQ(*got, *contact);
        } else {
          EXPECT_THAT(got, StatusIs(absl::StatusCode::kNotFound));
        }
      }
    }
  };
  const ContactId max_id = kThreads * kContactsPerThread;
  check_acknowledged();
  ExpectMembershipsEqualRecompute(max_id);

  // The change log is gap-free and strictly increasing.
  MemoryCatalogStore catalog(storage_);
  auto store = catalog.OpenWorkspace(1);
  ASSERT_THAT(store, IsOk());
  ASSERT_OK_AND_ASSIGN(auto log, (*store)->ReadChanges(0, 1'000'000));
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].sequence, i + 1);

  // And all of it survives a restart.
  Open();
  check_acknowledged();
  ExpectMembershipsEqualRecompute(max_id);
}

// Batches big enough to be matched as a batch (an index of their own, merged
// into the workspace's on apply) share commit groups with single writes:
// each is completed before the next write of its group is prepared.
TEST_F(GroupCommitTest, BigBatchesInGroupsWithOtherWritesLoseNothing) {
  Open();
  ASSERT_THAT(
      ws_->CreateSegment(
          {"Germany",
           {1, {Cond("country", Operator::kEquals, {std::string("de")})}}}),
      IsOk());
  ASSERT_THAT(
      ws_->CreateSegment(
          {"Hot",
           {1,
            {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{50}})}}}),
      IsOk());
  commits_ = 0;
  constexpr int kThreads = 6;
  constexpr int kRounds = 3;
  constexpr int kBatch = 300;  // above the batch-matching threshold (256)
  std::atomic<int> writes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<ContactDraft> batch;
        for (int k = 0; k < kBatch; ++k) {
          ContactDraft& d = batch.emplace_back();
          d.email = absl::StrCat("b", t, "-", round, "-", k, "@x.com");
          d.country = (k + t) % 3 ? "DE" : "FR";
          d.lead_score = (k * 7 + t + round) % 100;
        }
        ASSERT_THAT(ws_->BatchUpsertContacts(batch, {}), IsOk());
        ContactDraft single;
        single.email = absl::StrCat("s", t, "-", round, "@x.com");
        single.country = "DE";
        single.lead_score = 90;
        ASSERT_OK_AND_ASSIGN(Contact c, ws_->CreateContact(single));
        ContactDraft change;
        change.country = "FR";
        ASSERT_THAT(ws_->UpdateContact(c.id, change, {"country"}), IsOk());
        writes += 3;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_LT(commits_.load(), writes.load());  // some writes shared a commit
  const ContactId max_id = kThreads * kRounds * (kBatch + 1);
  ExpectMembershipsEqualRecompute(max_id);
  Open();
  ExpectMembershipsEqualRecompute(max_id);
}

TEST_F(GroupCommitTest,
       AFailedGroupCommitFailsEveryWriterInItAndChangesNothing) {
  Open();
  ASSERT_THAT(
      ws_->CreateSegment(
          {"Germany",
           {1, {Cond("country", Operator::kEquals, {std::string("DE")})}}}),
      IsOk());
  storage_->FailNextCommits(1);
  constexpr int kThreads = 8;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ContactDraft d;
      d.email = "c" + std::to_string(t) + "@x.com";
      d.country = "DE";
      auto r = ws_->CreateContact(d);
      if (!r.ok()) {
        EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
        failed++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_GE(failed.load(), 1);
  // Whatever failed left no trace; whatever succeeded is all there.
  ASSERT_OK_AND_ASSIGN(SegmentView s, ws_->GetSegment(1));
  EXPECT_EQ(s.member_count, static_cast<uint64_t>(kThreads - failed.load()));
  ExpectMembershipsEqualRecompute(kThreads * 2);
  Open();
  ASSERT_OK_AND_ASSIGN(SegmentView again, ws_->GetSegment(1));
  EXPECT_EQ(again.member_count, s.member_count);
}

}  // namespace
}  // namespace segments

namespace segments {
namespace {

// SPEC §6: "snapshot as of S + feed after S reproduces membership exactly",
// with concurrent creates, updates, deletes and batches sharing commits
// (each write's events are numbered segment by segment).
TEST_F(GroupCommitTest, SnapshotPlusChangeFeedReproducesMembership) {
  Open();
  const std::vector<SegmentDraft> drafts = {
      {"Germany",
       {1, {Cond("country", Operator::kEquals, {std::string("de")})}}},
      {"Hot",
       {1, {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{50}})}}},
      {"Hot or German",
       {2,
        {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{80}}),
         Cond("country", Operator::kIn, {std::string("DE")})}}},
      {"Recent", {1, {Cond("created_at", Operator::kWithinLastDays, {7})}}}};
  std::vector<SegmentId> ids;
  for (const SegmentDraft& d : drafts) {
    ASSERT_OK_AND_ASSIGN(SegmentView v, ws_->CreateSegment(d));
    ids.push_back(v.record.id);
  }
  auto draft = [](const std::string& email, int t, int i) {
    ContactDraft d;
    d.email = email;
    d.country = (t + i) % 3 ? "DE" : "FR";
    d.lead_score = (t * 17 + i * 29) % 100;
    return d;
  };
  for (int i = 0; i < 30; ++i) {
    ASSERT_THAT(
        ws_->CreateContact(draft(absl::StrCat("seed", i, "@x.com"), 0, i)),
        IsOk());
  }
  // The snapshot: every segment's members as of one sequence number.
  std::map<SegmentId, std::set<ContactId>> members;
  uint64_t as_of = 0;
  for (SegmentId id : ids) {
    ASSERT_OK_AND_ASSIGN(Page<Contact> page,
                         ws_->ListMembers(id, 0, 1000, ContactView::kId));
    for (ContactId m : IdsOf(page)) members[id].insert(m);
    ASSERT_OK_AND_ASSIGN(MemberCount count, ws_->CountMembers(id));
    if (as_of == 0) as_of = count.as_of_sequence;
    ASSERT_EQ(count.as_of_sequence, as_of);  // nothing wrote in between
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string email = absl::StrCat("t", t, "-", i, "@x.com");
        auto created = ws_->CreateContact(draft(email, t, i));
        ASSERT_THAT(created, IsOk());
        ContactDraft change;
        change.country = i % 2 ? "de" : "US";
        change.lead_score = (i * 37 + t) % 100;
        ASSERT_THAT(
            ws_->UpdateContact(created->id, change, {"country", "lead_score"}),
            IsOk());
        std::vector<ContactDraft> batch;
        for (int k = 0; k < 5; ++k) {
          batch.push_back(
              draft(absl::StrCat("seed", (t * 5 + i + k) % 30, "@x.com"), t,
                    i + k));  // existing contacts
          batch.push_back(
              draft(absl::StrCat("b", t, "-", i, "-", k, "@x.com"), t, k));
        }
        ASSERT_THAT(ws_->BatchUpsertContacts(batch, {}), IsOk());
        if (i % 3 == 0) {
          ASSERT_THAT(ws_->DeleteContact(created->id), IsOk());
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  // Two batches big enough to be diffed on two threads: new contacts, then
  // the same ones changed, so some enter and some leave.
  for (int round = 0; round < 2; ++round) {
    std::vector<ContactDraft> big;
    for (int k = 0; k < 1500; ++k) {
      big.push_back(draft(absl::StrCat("big", k, "@x.com"), round, k));
    }
    ASSERT_THAT(ws_->BatchUpsertContacts(big, {}), IsOk());
  }

  MemoryCatalogStore catalog(storage_);
  ASSERT_OK_AND_ASSIGN(auto store, catalog.OpenWorkspace(1));
  ASSERT_OK_AND_ASSIGN(auto feed, store->ReadChanges(as_of, 1'000'000));
  ASSERT_FALSE(feed.empty());
  for (const MembershipChange& c : feed) {
    std::set<ContactId>& m = members[c.segment_id];
    if (c.kind == ChangeKind::kEntered) {
      EXPECT_TRUE(m.insert(c.contact_id).second) << "entered twice";
    } else {
      EXPECT_EQ(m.erase(c.contact_id), 1u) << "left without being in";
    }
  }
  for (SegmentId id : ids) {
    ASSERT_OK_AND_ASSIGN(Page<Contact> page,
                         ws_->ListMembers(id, 0, 10000, ContactView::kId));
    EXPECT_EQ(std::vector<ContactId>(members[id].begin(), members[id].end()),
              IdsOf(page))
        << "segment " << id;
  }
}

}  // namespace
}  // namespace segments
