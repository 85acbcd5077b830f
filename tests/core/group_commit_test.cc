// Group commit: concurrent contact writers share store commits. Whatever
// the grouping, every acknowledged write is committed exactly once and is
// there afterwards (also after a restart), a commit carries at least one
// write, memberships equal a recompute from scratch, and the change log
// replays as if the writes had run one at a time. Writers queued behind a
// leader whose commit is held are committed together, in one commit.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/engine/workspace.h"
#include "core/index/evaluator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/pages.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IdsOf;
using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::UnorderedElementsAreArray;

// What a store saw of one commit.
struct SeenCommit {
  std::vector<ContactId> puts;  // the contacts put, in order
  std::vector<std::string> put_emails;
  std::vector<ContactId> deletes;
  bool ok = false;
};

// Shared between a test and the GatedStore of each (re)opened workspace:
// the commits seen, and a gate that, once armed, holds the next commit
// until the test opens it.
class CommitLog {
 public:
  // The next commit tells WaitUntilEntered() and then waits for Open().
  void Arm() {
    absl::MutexLock l(&mu_);
    armed_ = true;
  }
  void WaitUntilEntered() { entered_.WaitForNotification(); }
  void Open() { open_.Notify(); }

  // Called by the store before it commits.
  void BeforeCommit() {
    bool hold = false;
    {
      absl::MutexLock l(&mu_);
      hold = armed_;
      armed_ = false;
    }
    if (!hold) return;
    entered_.Notify();
    // Bounded, so that a failing test does not hang.
    EXPECT_TRUE(open_.WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
  void Record(const WorkspaceWrite& write, const absl::Status& status) {
    SeenCommit seen;
    for (const Contact& c : write.put_contacts) {
      seen.puts.push_back(c.id);
      seen.put_emails.push_back(c.email);
    }
    seen.deletes = write.deleted_contacts;
    seen.ok = status.ok();
    absl::MutexLock l(&mu_);
    seen_.push_back(std::move(seen));
  }

  int Commits() const {
    absl::MutexLock l(&mu_);
    return static_cast<int>(seen_.size());
  }
  std::vector<SeenCommit> Seen() const {
    absl::MutexLock l(&mu_);
    return seen_;
  }

 private:
  mutable absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SeenCommit> seen_ ABSL_GUARDED_BY(mu_);
  absl::Notification entered_, open_;
};

// Delegates to a real store, reporting every commit to a CommitLog (which
// may hold it at its gate first).
class GatedStore : public WorkspaceStore {
 public:
  GatedStore(std::unique_ptr<WorkspaceStore> inner, CommitLog* log)
      : inner_(std::move(inner)), log_(log) {}
  absl::StatusOr<WorkspaceData> LoadStreaming(
      const ContactSink& sink) override {
    return inner_->LoadStreaming(sink);
  }
  absl::Status Commit(const WorkspaceWrite& write) override {
    log_->BeforeCommit();
    absl::Status status = inner_->Commit(write);
    log_->Record(write, status);
    return status;
  }
  absl::Status CommitCompleting(WorkspaceWrite* write,
                                absl::FunctionRef<void()> complete) override {
    log_->BeforeCommit();
    absl::Status status = inner_->CommitCompleting(write, complete);
    log_->Record(*write, status);
    return status;
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after, size_t limit) override {
    return inner_->ReadChanges(after, limit);
  }

 private:
  std::unique_ptr<WorkspaceStore> inner_;
  CommitLog* log_;
};

using ::segments::testing::Cond;

SegmentDraft Germany() {
  return {"Germany",
          {1, {Cond("country", Operator::kEquals, {std::string("de")})}}};
}

ContactDraft Draft(std::string email, std::string country = "DE") {
  ContactDraft d;
  d.email = std::move(email);
  d.country = std::move(country);
  return d;
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
        std::make_unique<GatedStore>(std::move(inner).value(), gate_.get()),
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

  std::vector<MembershipChange> ChangeLog() {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return {};
    auto log = (*store)->ReadChanges(0, 1'000'000);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *log : std::vector<MembershipChange>{};
  }

  // The change log is gap-free from 1, and replaying it from empty
  // segments (every entry entering a non-member, every exit leaving a
  // member) ends at every segment's current members: the events are those
  // of the writes applied one at a time.
  void ExpectChangeLogReplaysToMemberships() {
    const std::vector<MembershipChange> log = ChangeLog();
    std::map<SegmentId, std::set<ContactId>> members;
    for (size_t i = 0; i < log.size(); ++i) {
      const MembershipChange& c = log[i];
      ASSERT_EQ(c.sequence, i + 1);
      std::set<ContactId>& m = members[c.segment_id];
      if (c.kind == ChangeKind::kEntered) {
        EXPECT_TRUE(m.insert(c.contact_id).second)
            << "entered twice: " << c.contact_id;
      } else {
        EXPECT_EQ(m.erase(c.contact_id), 1u)
            << "left without being in: " << c.contact_id;
      }
    }
    for (const SegmentView& s : ws_->ListSegments(0, 100).items) {
      ASSERT_OK_AND_ASSIGN(
          Page<Contact> page,
          ws_->ListMembers(s.record.id, 0, 100000, ContactView::kId));
      const std::set<ContactId>& m = members[s.record.id];
      EXPECT_EQ(IdsOf(page), std::vector<ContactId>(m.begin(), m.end()))
          << s.record.display_name;
    }
  }

  FakeClock clock_{1'800'000'000};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<CommitLog> gate_ = std::make_unique<CommitLog>();
  std::unique_ptr<Workspace> ws_;
};

// While the gate holds a leader's commit: starts `n` threads running
// `write(i)`, gives them time to queue behind the leader, then opens the
// gate. Returns once every thread is done.
template <typename Write>
void QueueBehindHeldLeader(CommitLog* gate, int n, Write write) {
  gate->WaitUntilEntered();
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      started++;
      write(i);
    });
  }
  while (started.load() < n) std::this_thread::yield();
  // From here a writer only takes a mutex and joins the queue: 200 ms is
  // ample even on a loaded machine. (The engine does not show its queue; a
  // hook that did would let the test wait for it instead.)
  absl::SleepFor(absl::Milliseconds(200));
  gate->Open();
  for (std::thread& t : threads) t.join();
}

TEST_F(GroupCommitTest, WritesQueuedBehindALeaderShareOneCommit) {
  Open();
  ASSERT_THAT(ws_->CreateSegment(Germany()), IsOk());
  const size_t before = static_cast<size_t>(gate_->Commits());
  gate_->Arm();
  std::optional<absl::StatusOr<Contact>> leader;
  std::thread leader_thread(
      [&] { leader = ws_->CreateContact(Draft("leader@x.com")); });

  constexpr int kFollowers = 6;
  std::vector<std::optional<absl::StatusOr<Contact>>> results(kFollowers);
  std::optional<absl::StatusOr<Contact>> duplicate, update;
  std::optional<absl::StatusOr<BatchUpsertResult>> batch;
  std::vector<ContactDraft> big;
  for (int k = 0; k < 300; ++k) {  // matched as a batch of its own
    big.push_back(Draft(absl::StrCat("b", k, "@x.com"), k % 2 ? "DE" : "FR"));
  }
  QueueBehindHeldLeader(gate_.get(), kFollowers + 3, [&](int i) {
    if (i < kFollowers) {
      results[i] = ws_->CreateContact(Draft(absl::StrCat("f", i, "@x.com")));
    } else if (i == kFollowers) {
      // The leader's own email: refused alone, its group unharmed.
      duplicate = ws_->CreateContact(Draft("leader@x.com"));
    } else if (i == kFollowers + 1) {
      ContactDraft change;
      change.country = "FR";
      update = ws_->UpdateContact(1, change, {"country"});  // the leader
    } else {
      batch = ws_->BatchUpsertContacts(big, {});
    }
  });
  leader_thread.join();

  ASSERT_TRUE(leader.has_value() && leader->ok());
  EXPECT_EQ((*leader)->id, 1u);
  std::vector<std::string> queued_emails;
  for (int i = 0; i < kFollowers; ++i) {
    ASSERT_TRUE(results[i].has_value() && results[i]->ok()) << i;
    queued_emails.push_back((*results[i])->email);
  }
  ASSERT_TRUE(duplicate.has_value());
  EXPECT_THAT(*duplicate, StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_TRUE(update.has_value());
  EXPECT_THAT(*update, IsOk());
  ASSERT_TRUE(batch.has_value());
  ASSERT_THAT(*batch, IsOk());
  for (const ContactDraft& d : big) queued_emails.push_back(d.email);
  queued_emails.push_back("leader@x.com");  // put again by the update

  // Two commits: the leader's, then one for every write queued behind it.
  const std::vector<SeenCommit> seen = gate_->Seen();
  ASSERT_EQ(seen.size(), before + 2);
  EXPECT_EQ(seen[before].put_emails, std::vector<std::string>{"leader@x.com"});
  EXPECT_TRUE(seen[before + 1].ok);
  EXPECT_THAT(seen[before + 1].put_emails,
              UnorderedElementsAreArray(queued_emails));

  ASSERT_OK_AND_ASSIGN(Contact leader_now, ws_->GetContact(1));
  EXPECT_EQ(leader_now.country, "FR");
  ExpectMembershipsEqualRecompute(1 + kFollowers + 300);
  ExpectChangeLogReplaysToMemberships();
  Open();
  ExpectMembershipsEqualRecompute(1 + kFollowers + 300);
}

// A commit failing under a group fails every write of the group, and none
// of them leaves a trace.
TEST_F(GroupCommitTest, AFailedGroupCommitFailsEveryWriteOfTheGroup) {
  Open();
  ASSERT_OK_AND_ASSIGN(SegmentView segment, ws_->CreateSegment(Germany()));
  const std::vector<MembershipChange> log_before = ChangeLog();
  const size_t before = static_cast<size_t>(gate_->Commits());
  gate_->Arm();
  std::optional<absl::StatusOr<Contact>> leader;
  std::thread leader_thread(
      [&] { leader = ws_->CreateContact(Draft("leader@x.com")); });
  gate_->WaitUntilEntered();
  storage_->FailNextCommits(2);  // the leader's commit, then its followers'
  constexpr int kFollowers = 5;
  std::vector<std::optional<absl::StatusOr<Contact>>> results(kFollowers);
  QueueBehindHeldLeader(gate_.get(), kFollowers, [&](int i) {
    results[i] = ws_->CreateContact(Draft(absl::StrCat("f", i, "@x.com")));
  });
  leader_thread.join();
  ASSERT_TRUE(leader.has_value());
  EXPECT_THAT(*leader, StatusIs(absl::StatusCode::kUnavailable));
  for (int i = 0; i < kFollowers; ++i) {
    ASSERT_TRUE(results[i].has_value());
    EXPECT_THAT(*results[i], StatusIs(absl::StatusCode::kUnavailable)) << i;
  }
  // The leader's commit and one for the whole group, both failed.
  const std::vector<SeenCommit> seen = gate_->Seen();
  ASSERT_EQ(seen.size(), before + 2);
  EXPECT_FALSE(seen[before].ok);
  EXPECT_FALSE(seen[before + 1].ok);
  EXPECT_EQ(seen[before + 1].puts.size(), static_cast<size_t>(kFollowers));
  // Nothing of them anywhere: contacts, members, the change log.
  for (ContactId id = 1; id <= 1 + kFollowers; ++id) {
    EXPECT_THAT(ws_->GetContact(id), StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_EQ(ChangeLog(), log_before);
  ASSERT_OK_AND_ASSIGN(SegmentView after, ws_->GetSegment(segment.record.id));
  EXPECT_EQ(after.member_count, 0u);
  // Their emails were not taken: the same writes succeed now.
  ASSERT_THAT(ws_->CreateContact(Draft("leader@x.com")), IsOk());
  ASSERT_THAT(ws_->CreateContact(Draft("f0@x.com")), IsOk());
  Open();
  ASSERT_OK_AND_ASSIGN(after, ws_->GetSegment(segment.record.id));
  EXPECT_EQ(after.member_count, 2u);
  ExpectChangeLogReplaysToMemberships();
}

TEST_F(GroupCommitTest, ConcurrentWritersLoseNothing) {
  Open();
  SegmentDraft hot{
      "Hot",
      {1, {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{50}})}}};
  ASSERT_THAT(ws_->CreateSegment(Germany()), IsOk());
  ASSERT_THAT(ws_->CreateSegment(hot), IsOk());
  const size_t commits_before = static_cast<size_t>(gate_->Commits());

  constexpr int kThreads = 16;
  constexpr int kContactsPerThread = 20;
  // What each thread was told: the contact as acknowledged, or deleted;
  // and how many acknowledged writes put or deleted each contact.
  std::vector<std::map<ContactId, std::optional<Contact>>> acked(kThreads);
  std::vector<std::map<ContactId, int>> acked_puts(kThreads);
  std::vector<std::set<ContactId>> acked_deletes(kThreads);
  std::atomic<int> acked_writes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kContactsPerThread; ++i) {
        ContactDraft d;
        d.email = "t" + std::to_string(t) + "-" + std::to_string(i) + "@x.com";
        d.country = (i % 2) ? "DE" : "FR";
        d.lead_score = (t * 7 + i * 13) % 100;
        auto created = ws_->CreateContact(d);
        if (!created.ok()) {
          ADD_FAILURE() << created.status();
          continue;
        }
        acked_writes++;
        acked[t][created->id] = *created;
        acked_puts[t][created->id]++;
        // A duplicate fails alone, without failing its group.
        EXPECT_THAT(ws_->CreateContact(d),
                    StatusIs(absl::StatusCode::kAlreadyExists));
        ContactDraft change;
        change.country = (i % 3) ? "de" : "US";
        change.lead_score = (i * 31) % 100;
        change.city = absl::StrCat("city ", t, "-", i);  // always a change
        auto updated = ws_->UpdateContact(created->id, change,
                                          {"country", "lead_score", "city"});
        EXPECT_THAT(updated, IsOk());
        if (updated.ok()) {
          acked_writes++;
          acked[t][created->id] = *updated;
          acked_puts[t][created->id]++;
        }
        if (i % 5 == 0) {
          const absl::Status deleted = ws_->DeleteContact(created->id);
          EXPECT_THAT(deleted, IsOk());
          if (deleted.ok()) {
            acked_writes++;
            acked[t][created->id] = std::nullopt;
            acked_deletes[t].insert(created->id);
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  // Every acknowledged write was committed exactly once, and every commit
  // carried at least one of them.
  std::map<ContactId, int> puts, deletes;
  const std::vector<SeenCommit> seen = gate_->Seen();
  for (size_t i = commits_before; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i].ok);
    EXPECT_FALSE(seen[i].puts.empty() && seen[i].deletes.empty());
    for (ContactId id : seen[i].puts) puts[id]++;
    for (ContactId id : seen[i].deletes) deletes[id]++;
  }
  EXPECT_LE(seen.size() - commits_before,
            static_cast<size_t>(acked_writes.load()));
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& [id, n] : acked_puts[t]) {
      EXPECT_EQ(puts[id], n) << "contact " << id;
      EXPECT_EQ(deletes[id], static_cast<int>(acked_deletes[t].count(id)))
          << "contact " << id;
    }
  }

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
  ExpectChangeLogReplaysToMemberships();

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
  const int commits_before = gate_->Commits();
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
  // Each commit carries at least one of the writes.
  EXPECT_LE(gate_->Commits() - commits_before, writes.load());
  const ContactId max_id = kThreads * kRounds * (kBatch + 1);
  ExpectMembershipsEqualRecompute(max_id);
  Open();
  ExpectMembershipsEqualRecompute(max_id);
}

// The same with writers racing: whichever meet the injected failure.
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
