#include "tests/testing/store_conformance.h"

#include <algorithm>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"

namespace segments::testing {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

namespace {

Contact FullContact(ContactId id) {
  Contact c;
  c.id = id;
  c.email = absl::StrCat("user", id, "@example.com");
  c.company = "Acme, \"Inc.\"";
  c.job_title = "Head of 'Quotes' \\ Backslashes";
  c.country = "DE";
  c.city = "Zürich";
  c.source = "import\nmultiline";
  c.tags = {"a,b",     "[json]",   "back\\slash",
            "emoji 🎉", "quote\"d", std::string("ctl\x01", 4)};
  std::sort(c.tags.begin(), c.tags.end());
  c.lifecycle_stage = LifecycleStage::kSql;
  c.lead_score = std::numeric_limits<int32_t>::min();
  c.engagement_score = 100;
  c.engagement_trend = EngagementTrend::kDeclining;
  c.conversion_likelihood = ConversionLikelihood::kVeryLikely;
  c.created_at = kMinTimestamp;
  c.last_engaged_at = kMaxTimestamp;
  return c;
}

Contact MinimalContact(ContactId id) {
  Contact c;
  c.id = id;
  c.email = absl::StrCat("min", id, "@example.com");
  c.created_at = -1;
  return c;
}

SegmentRecord MakeSegment(SegmentId id) {
  FilterSpec spec;
  spec.match = 1;  // ALL
  spec.conditions.push_back({"country", 1 /*EQUALS*/, {std::string("de")}});
  spec.conditions.push_back({"lead_score", 9 /*GREATER_THAN*/, {int64_t{-5}}});
  absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
  EXPECT_OK(filter);
  SegmentRecord s;
  s.id = id;
  s.display_name = absl::StrCat("Segment ", id, " — ünïcødé");
  if (filter.ok()) s.filter = *filter;
  s.create_time = 1700000000;
  s.update_time = 1700000100 + static_cast<int64_t>(id);
  return s;
}

SnapshotRecord MakeSnapshot(SnapshotId id, uint64_t as_of) {
  SnapshotRecord s;
  s.id = id;
  s.segment_id = 1;
  s.as_of_sequence = as_of;
  s.member_count = 0;
  s.create_time = 1700000000;
  s.expire_time = 1700003600;
  s.members = std::string("\0\1\2 members", 11);  // bytes, checked at load
  return s;
}

MembershipChange MakeChange(uint64_t seq, UnixSeconds time = 0) {
  MembershipChange c;
  c.sequence = seq;
  c.segment_id = 1 + seq % 3;
  c.contact_id = static_cast<ContactId>(100 + seq);
  c.kind = seq % 2 ? ChangeKind::kEntered : ChangeKind::kLeft;
  c.cause = static_cast<ChangeCause>(1 + seq % 5);
  c.time = time != 0 ? time : 1700000000 + static_cast<int64_t>(seq);
  return c;
}

// `n` events in runs of `run_length` (one segment, kind and time each),
// from sequence `first` on, at one time per run from `time` on.
std::vector<MembershipChange> RunsOfEvents(uint64_t first, size_t n,
                                           size_t run_length,
                                           UnixSeconds time) {
  std::vector<MembershipChange> out;
  for (size_t i = 0; i < n; ++i) {
    const size_t run = i / run_length;
    MembershipChange c;
    c.sequence = first + i;
    c.segment_id = 1 + run % 2;
    c.contact_id = static_cast<ContactId>(1 + (i * 7) % 50);
    c.kind = run % 3 == 0 ? ChangeKind::kLeft : ChangeKind::kEntered;
    c.cause = ChangeCause::kContactChanged;
    c.time = time + static_cast<int64_t>(run * 10);
    out.push_back(c);
  }
  return out;
}

// What a test compares before and after: everything a store reads back.
struct Everything {
  WorkspaceData data;
  std::vector<MembershipChange> changes;
  LogRetention retention;
};

Everything ReadEverything(WorkspaceStore& store) {
  Everything e;
  absl::StatusOr<WorkspaceData> data = LoadAll(store);
  EXPECT_OK(data);
  if (data.ok()) e.data = *std::move(data);
  absl::StatusOr<std::vector<MembershipChange>> changes =
      store.ReadChanges(0, 1 << 20);
  EXPECT_OK(changes);
  if (changes.ok()) e.changes = *std::move(changes);
  absl::StatusOr<LogRetention> retention = store.ReadRetention();
  EXPECT_OK(retention);
  if (retention.ok()) e.retention = *retention;
  return e;
}

void ExpectSame(const Everything& a, const Everything& b) {
  EXPECT_EQ(a.data.contacts, b.data.contacts);
  EXPECT_EQ(a.data.segments, b.data.segments);
  EXPECT_EQ(a.data.snapshots, b.data.snapshots);
  EXPECT_EQ(a.data.counters, b.data.counters);
  EXPECT_EQ(a.changes, b.changes);
  EXPECT_EQ(a.retention, b.retention);
}

WorkspaceRecord Record(WorkspaceId id, std::string name) {
  WorkspaceRecord r;
  r.id = id;
  r.display_name = std::move(name);
  r.plan = Plan::kPro;
  r.key_hash = std::string(32, static_cast<char>('a' + id % 26));
  r.create_time = 1700000000 + static_cast<int64_t>(id);
  return r;
}

}  // namespace

std::string StoreConformanceName(
    const ::testing::TestParamInfo<StoreConformanceParam>& info) {
  return info.param.name;
}

void StoreConformance::SetUp() {
  std::string skip;
  under_ = GetParam().make(&skip);
  if (under_ == nullptr) GTEST_SKIP() << skip;
  ASSERT_NE(Reopen(), nullptr);
}

void StoreConformance::TearDown() {
  catalog_.reset();
  under_.reset();
}

CatalogStore* StoreConformance::Reopen() {
  catalog_.reset();
  absl::StatusOr<std::unique_ptr<CatalogStore>> opened = under_->OpenCatalog();
  EXPECT_OK(opened);
  if (!opened.ok()) return nullptr;
  catalog_ = *std::move(opened);
  return catalog_.get();
}

WorkspaceId StoreConformance::NewWorkspace(
    std::unique_ptr<WorkspaceStore>* store) {
  absl::StatusOr<NewWorkspaceStore> created = catalog_->CreateWorkspaceStore();
  EXPECT_OK(created);
  if (!created.ok()) return 0;
  EXPECT_OK(catalog_->PutWorkspace(Record(created->id, "conformance")));
  *store = std::move(created->store);
  return created->id;
}

TEST_P(StoreConformance, NewWorkspaceIsEmptyWithDefaultCounters) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  const Everything e = ReadEverything(*store);
  EXPECT_THAT(e.data.contacts, IsEmpty());
  EXPECT_THAT(e.data.segments, IsEmpty());
  EXPECT_THAT(e.data.snapshots, IsEmpty());
  EXPECT_EQ(e.data.counters, WorkspaceCounters{});
  EXPECT_THAT(e.changes, IsEmpty());
  EXPECT_EQ(e.retention, LogRetention{});
}

// Every field of every record, the counters at their limits and the log
// read back after the catalog is reopened, ids ascending.
TEST_P(StoreConformance, LoadsWhatWasCommittedAcrossReopen) {
  std::unique_ptr<WorkspaceStore> store;
  const WorkspaceId id = NewWorkspace(&store);
  ASSERT_NE(id, 0u);
  WorkspaceWrite w;
  w.put_contacts = {MinimalContact(9), FullContact(3), MinimalContact(5)};
  w.put_segments = {MakeSegment(7), MakeSegment(2)};
  w.put_snapshots = {MakeSnapshot(4, 3), MakeSnapshot(1, 0)};
  w.changes = GroupIntoRuns({MakeChange(1), MakeChange(2), MakeChange(3)});
  w.counters.next_contact_id = std::numeric_limits<ContactId>::max();
  w.counters.next_segment_id = uint64_t{1} << 40;
  w.counters.last_sequence = 3;
  w.counters.time_applied_until = 1700000999;
  w.counters.next_snapshot_id = 5;
  ASSERT_OK(store->Commit(w));
  const Everything before = ReadEverything(*store);
  EXPECT_THAT(
      before.data.contacts,
      ElementsAre(FullContact(3), MinimalContact(5), MinimalContact(9)));
  EXPECT_THAT(before.data.segments,
              ElementsAre(MakeSegment(2), MakeSegment(7)));
  EXPECT_THAT(before.data.snapshots,
              ElementsAre(MakeSnapshot(1, 0), MakeSnapshot(4, 3)));
  EXPECT_EQ(before.data.counters, w.counters);
  EXPECT_THAT(before.changes,
              ElementsAre(MakeChange(1), MakeChange(2), MakeChange(3)));

  store.reset();
  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(store, catalog_->OpenWorkspace(id));
  ExpectSame(ReadEverything(*store), before);
}

// Puts replace by id and deletes remove; within one write, puts come
// before deletes (an id both put and deleted ends deleted) and the last put
// of an id wins, as a group commit of several writes needs.
TEST_P(StoreConformance, PutsReplaceDeletesRemoveInWriteOrder) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  WorkspaceWrite first;
  first.put_contacts = {FullContact(1), MinimalContact(2), MinimalContact(3)};
  first.put_segments = {MakeSegment(1), MakeSegment(2)};
  first.put_snapshots = {MakeSnapshot(1, 0), MakeSnapshot(2, 0)};
  first.counters = {4, 3, 0, 0, 3};
  ASSERT_OK(store->Commit(first));

  WorkspaceWrite second;
  Contact renamed = MinimalContact(2);
  renamed.email = "renamed@example.com";
  Contact last = renamed;
  last.lead_score = 42;
  SegmentRecord segment = MakeSegment(1);
  segment.display_name = "Replaced";
  SnapshotRecord snapshot = MakeSnapshot(2, 0);
  snapshot.expire_time += 1;
  second.put_contacts = {renamed, MinimalContact(4), last};
  second.deleted_contacts = {1, 4, 999};
  second.put_segments = {segment, MakeSegment(3)};
  second.deleted_segments = {2, 3, std::numeric_limits<SegmentId>::max()};
  second.put_snapshots = {snapshot};
  second.deleted_snapshots = {1, std::numeric_limits<SnapshotId>::max()};
  second.counters = {5, 4, 0, 0, 3};
  ASSERT_OK(store->Commit(second));

  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, ElementsAre(last, MinimalContact(3)));
  EXPECT_THAT(data.segments, ElementsAre(segment));
  EXPECT_THAT(data.snapshots, ElementsAre(snapshot));
  EXPECT_EQ(data.counters, second.counters);
}

// A commit that fails on its last part (a change sequence already stored)
// after touching every table stores nothing of itself; the store works on.
TEST_P(StoreConformance, FailedCommitChangesNothing) {
  std::unique_ptr<WorkspaceStore> store;
  const WorkspaceId id = NewWorkspace(&store);
  ASSERT_NE(id, 0u);
  WorkspaceWrite base;
  base.put_contacts = {FullContact(1), MinimalContact(2)};
  base.put_segments = {MakeSegment(1)};
  base.put_snapshots = {MakeSnapshot(1, 1)};
  base.changes = GroupIntoRuns({MakeChange(1), MakeChange(2)});
  base.counters = {3, 2, 2, 0, 2};
  ASSERT_OK(store->Commit(base));
  const Everything before = ReadEverything(*store);

  WorkspaceWrite bad;
  Contact changed = FullContact(1);
  changed.email = "changed@example.com";
  bad.put_contacts = {changed, MinimalContact(3)};
  bad.deleted_contacts = {2};
  bad.put_segments = {MakeSegment(2)};
  bad.deleted_segments = {1};
  bad.put_snapshots = {MakeSnapshot(2, 2)};
  bad.deleted_snapshots = {1};
  bad.changes = GroupIntoRuns({MakeChange(3), MakeChange(4), MakeChange(2)});
  bad.counters = {4, 3, 4, 5, 3};
  EXPECT_THAT(store->Commit(bad), StatusIs(absl::StatusCode::kInternal));
  ExpectSame(ReadEverything(*store), before);
  store.reset();
  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(store, catalog_->OpenWorkspace(id));
  ExpectSame(ReadEverything(*store), before);

  bad.changes.pop_back();
  ASSERT_OK(store->Commit(bad));
  const Everything after = ReadEverything(*store);
  EXPECT_THAT(after.data.contacts, ElementsAre(changed, MinimalContact(3)));
  EXPECT_THAT(after.changes, SizeIs(4));
  EXPECT_EQ(after.data.counters, bad.counters);
}

// A batch larger than any one statement a store may split it into is one
// commit all the same: stored whole, or (failing at its end) not at all.
TEST_P(StoreConformance, LargeBatchCommitsAtomically) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  constexpr ContactId kContacts = 2500;
  WorkspaceWrite w;
  std::vector<MembershipChange> events;
  for (ContactId i = 1; i <= kContacts; ++i) {
    w.put_contacts.push_back(i % 2 ? FullContact(i) : MinimalContact(i));
    MembershipChange c = MakeChange(i);
    c.kind = ChangeKind::kEntered;
    c.contact_id = i;
    c.segment_id = 1 + i % 1500;  // 1500 runs and more
    events.push_back(c);
  }
  w.changes = GroupIntoRuns(events);
  ASSERT_GT(w.changes.size(), 1200u);
  w.counters = {kContacts + 1, 2000, kContacts, 0, 1};
  WorkspaceWrite bad = w;
  bad.changes.push_back(w.changes.front());  // taken by the batch itself
  EXPECT_THAT(store->Commit(bad), StatusIs(absl::StatusCode::kInternal));
  const Everything empty = ReadEverything(*store);
  EXPECT_THAT(empty.data.contacts, IsEmpty());
  EXPECT_THAT(empty.changes, IsEmpty());
  EXPECT_EQ(empty.data.counters, WorkspaceCounters{});

  ASSERT_OK(store->Commit(w));
  const Everything all = ReadEverything(*store);
  EXPECT_EQ(all.data.contacts, w.put_contacts);
  EXPECT_EQ(all.changes, events);
}

TEST_P(StoreConformance, RefusesRecordsThatCouldNotBeLoaded) {
  if (!under_->checks_records()) GTEST_SKIP() << "the store checks no records";
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  WorkspaceWrite base;
  base.put_contacts = {FullContact(1)};
  base.counters = {2, 1, 0};
  ASSERT_OK(store->Commit(base));
  const Everything before = ReadEverything(*store);

  WorkspaceWrite bad_contact;
  bad_contact.put_contacts = {MinimalContact(2), MinimalContact(0)};
  bad_contact.counters = {3, 1, 0};
  EXPECT_THAT(store->Commit(bad_contact),
              StatusIs(absl::StatusCode::kInternal));
  WorkspaceWrite bad_change;
  bad_change.put_contacts = {MinimalContact(2)};
  MembershipChange change = MakeChange(1);
  change.kind = static_cast<ChangeKind>(9);
  bad_change.changes = GroupIntoRuns({change});
  bad_change.counters = {3, 1, 1};
  EXPECT_THAT(store->Commit(bad_change), StatusIs(absl::StatusCode::kInternal));
  WorkspaceWrite bad_counters;
  bad_counters.put_contacts = {MinimalContact(2)};
  bad_counters.counters = {3, 0, 0};
  EXPECT_THAT(store->Commit(bad_counters),
              StatusIs(absl::StatusCode::kInternal));
  ExpectSame(ReadEverything(*store), before);
}

// CommitCompleting stores what `complete` finds, in the same transaction
// as the rest: a failure of the completed part leaves the rows unstored.
TEST_P(StoreConformance, CommitCompletingStoresTheCompletedWrite) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  WorkspaceWrite base;
  base.put_contacts = {FullContact(1)};
  base.changes = GroupIntoRuns({MakeChange(1), MakeChange(2)});
  base.counters = {2, 1, 2};
  ASSERT_OK(store->Commit(base));
  const Everything before = ReadEverything(*store);
  auto commit = [&](std::vector<MembershipChange> changes) {
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(2), MinimalContact(3)};
    w.counters = {4, 1, 2};
    return store->CommitCompleting(&w, [&] {
      w.changes = GroupIntoRuns(changes);
      w.counters.last_sequence = changes.back().sequence;
    });
  };
  EXPECT_THAT(commit({MakeChange(3), MakeChange(2)}),
              StatusIs(absl::StatusCode::kInternal));
  ExpectSame(ReadEverything(*store), before);
  ASSERT_OK(commit({MakeChange(3), MakeChange(4)}));
  const Everything after = ReadEverything(*store);
  EXPECT_THAT(
      after.data.contacts,
      ElementsAre(FullContact(1), MinimalContact(2), MinimalContact(3)));
  EXPECT_THAT(after.changes, ElementsAre(MakeChange(1), MakeChange(2),
                                         MakeChange(3), MakeChange(4)));
  EXPECT_EQ(after.data.counters.last_sequence, 4u);
}

// ReadChanges and ReadChangeRuns from every sequence, with every limit,
// are slices of the log as committed (runs entered and cut anywhere).
TEST_P(StoreConformance, ChangeLogReadsFromAnySequence) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  const std::vector<MembershipChange> log = RunsOfEvents(1, 40, 7, 1700000000);
  for (size_t start = 0; start < log.size(); start += 13) {
    WorkspaceWrite w;
    const size_t end = std::min(log.size(), start + 13);
    w.changes = GroupIntoRuns(std::vector<MembershipChange>(
        log.begin() + static_cast<std::ptrdiff_t>(start),
        log.begin() + static_cast<std::ptrdiff_t>(end)));
    w.counters = {1, 3, end};
    ASSERT_OK(store->Commit(w));
  }
  for (uint64_t after = 0; after <= log.size() + 1; ++after) {
    for (size_t limit :
         {size_t{0}, size_t{1}, size_t{5}, size_t{8}, size_t{100}}) {
      SCOPED_TRACE(absl::StrCat("after ", after, " limit ", limit));
      std::vector<MembershipChange> expected;
      for (const MembershipChange& c : log) {
        if (c.sequence > after && expected.size() < limit)
          expected.push_back(c);
      }
      ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> changes,
                           store->ReadChanges(after, limit));
      EXPECT_EQ(changes, expected);
      ASSERT_OK_AND_ASSIGN(std::vector<ChangeRun> runs,
                           store->ReadChangeRuns(after, limit));
      EXPECT_EQ(ExpandRuns(runs), expected);
      for (const ChangeRun& run : runs) EXPECT_FALSE(run.contact_ids.empty());
    }
  }
}

// Pruning deletes the oldest runs before the moment, at most max_runs, and
// never a run after one it keeps; the retention and history's horizon say
// what is left, across a reopen.
TEST_P(StoreConformance, PruneDeletesTheOldestRunsAndKeepsRetention) {
  std::unique_ptr<WorkspaceStore> store;
  const WorkspaceId id = NewWorkspace(&store);
  ASSERT_NE(id, 0u);
  // Runs of 4 events at 1000, 1010, ..., 1090; one out of order in time.
  std::vector<MembershipChange> log = RunsOfEvents(1, 40, 4, 1000);
  for (size_t i = 20; i < 24; ++i) log[i].time = 2000;  // run 5
  WorkspaceWrite w;
  w.changes = GroupIntoRuns(log);
  w.counters = {1, 3, 40};
  ASSERT_OK(store->Commit(w));
  EXPECT_THAT(store->ReadRetention(), IsOkAndHolds(LogRetention{1, 0}));

  // Two runs at most: 1..8 go.
  EXPECT_THAT(store->PruneChanges(1035, 2),
              IsOkAndHolds(LogRetention{9, 1011}));
  // Up to 1075, but run 5 (time 2000) stops it: 9..20 go, though runs
  // 6 and 7 (1060, 1070) are older.
  EXPECT_THAT(store->PruneChanges(1075, 100),
              IsOkAndHolds(LogRetention{21, 1041}));
  // Nothing before 1000 is left to prune.
  EXPECT_THAT(store->PruneChanges(1000, 100),
              IsOkAndHolds(LogRetention{21, 1041}));
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> kept,
                       store->ReadChanges(0, 1000));
  EXPECT_EQ(kept, std::vector<MembershipChange>(log.begin() + 20, log.end()));
  ASSERT_OK_AND_ASSIGN(ContactChanges contact,
                       store->ReadContactChanges(1, log[0].contact_id, 40));
  EXPECT_EQ(contact.pruned_before, 1041);

  store.reset();
  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(store, catalog_->OpenWorkspace(id));
  EXPECT_THAT(store->ReadRetention(), IsOkAndHolds(LogRetention{21, 1041}));
  // Everything pruned: the retention starts after the last sequence.
  EXPECT_THAT(store->PruneChanges(5000, 100),
              IsOkAndHolds(LogRetention{41, 2001}));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_EQ(data.counters.last_sequence, 40u);
}

// History's counts and a contact's events are those of the log read event
// by event, bounded by up_to_sequence. History passes the last sequence of
// a commit (a reader's as-of sequence), so a store may count whole runs:
// the bounds here are the commits' ends.
TEST_P(StoreConformance, HistoryEqualsTheLogEventByEvent) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  const std::vector<MembershipChange> log = RunsOfEvents(1, 60, 6, 1000);
  for (auto [begin, end] :
       {std::pair<size_t, size_t>{0, 12}, {12, 36}, {36, 60}}) {
    WorkspaceWrite w;
    w.changes = GroupIntoRuns(std::vector<MembershipChange>(
        log.begin() + static_cast<std::ptrdiff_t>(begin),
        log.begin() + static_cast<std::ptrdiff_t>(end)));
    w.counters = {51, 3, end};
    ASSERT_OK(store->Commit(w));
  }
  for (uint64_t up_to : {uint64_t{0}, uint64_t{12}, uint64_t{36}, uint64_t{60},
                         uint64_t{1000}}) {
    for (SegmentId segment : {SegmentId{1}, SegmentId{2}, SegmentId{7}}) {
      SCOPED_TRACE(absl::StrCat("segment ", segment, " up_to ", up_to));
      SegmentChangeCountsQuery q;
      q.segment_id = segment;
      q.start = 1015;
      q.bucket_seconds = 20;
      q.buckets = 3;
      q.up_to_sequence = up_to;
      SegmentChangeCounts expected;
      StartCounts(q, &expected);
      for (const MembershipChange& c : log) CountChange(q, c, &expected);
      ASSERT_OK_AND_ASSIGN(SegmentChangeCounts counts,
                           store->CountSegmentChanges(q));
      EXPECT_EQ(counts.entered, expected.entered);
      EXPECT_EQ(counts.left, expected.left);
      EXPECT_EQ(counts.entered_after, expected.entered_after);
      EXPECT_EQ(counts.left_after, expected.left_after);
      EXPECT_EQ(counts.pruned_before, 0);
      for (ContactId contact : {ContactId{1}, ContactId{8}, ContactId{99}}) {
        std::vector<MembershipChange> events;
        for (const MembershipChange& c : log) {
          if (c.segment_id == segment && c.contact_id == contact &&
              c.sequence <= up_to)
            events.push_back(c);
        }
        ASSERT_OK_AND_ASSIGN(
            ContactChanges changes,
            store->ReadContactChanges(segment, contact, up_to));
        EXPECT_EQ(changes.changes, events) << "contact " << contact;
      }
    }
  }
}

// Readers see the last committed state while commits go on (the change
// feed reads beside the writer): every read is a prefix of the log.
TEST_P(StoreConformance, ReadersSeeCommittedPrefixesWhileCommitting) {
  std::unique_ptr<WorkspaceStore> store;
  ASSERT_NE(NewWorkspace(&store), 0u);
  constexpr uint64_t kCommits = 30;
  std::thread writer([&] {
    for (uint64_t i = 1; i <= kCommits; ++i) {
      WorkspaceWrite w;
      w.put_contacts = {MinimalContact(static_cast<ContactId>(i))};
      w.changes = GroupIntoRuns({MakeChange(2 * i - 1), MakeChange(2 * i)});
      w.counters = {static_cast<ContactId>(i + 1), 1, 2 * i};
      EXPECT_OK(store->Commit(w));
    }
  });
  size_t seen = 0;
  while (seen < 2 * kCommits) {
    ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> changes,
                         store->ReadChanges(0, 1000));
    ASSERT_EQ(changes.size() % 2, 0u);  // whole commits only
    ASSERT_GE(changes.size(), seen);
    for (size_t i = 0; i < changes.size(); ++i) {
      ASSERT_EQ(changes[i], MakeChange(i + 1));
    }
    seen = changes.size();
  }
  writer.join();
}

TEST_P(StoreConformance, CatalogPutsReplacesAndLoadsAcrossReopen) {
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore a, catalog_->CreateWorkspaceStore());
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore b, catalog_->CreateWorkspaceStore());
  EXPECT_LT(a.id, b.id);
  ASSERT_OK(catalog_->PutWorkspace(Record(b.id, "Bee")));
  ASSERT_OK(catalog_->PutWorkspace(Record(a.id, "Ay")));
  WorkspaceRecord replaced = Record(a.id, "Ay, renamed — ü");
  replaced.plan = Plan::kFree;
  ASSERT_OK(catalog_->PutWorkspace(replaced));
  a.store.reset();
  b.store.reset();
  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<LoadedWorkspaceRecord> loaded,
                       catalog_->LoadWorkspaces());
  ASSERT_THAT(loaded, SizeIs(2));
  EXPECT_EQ(loaded[0].record, replaced);
  EXPECT_EQ(loaded[1].record, Record(b.id, "Bee"));
  for (const LoadedWorkspaceRecord& l : loaded) {
    EXPECT_EQ(l.problem, "");
    EXPECT_THAT(l.wake_time, Optional(kWakeAtOnce));  // new records
  }
}

TEST_P(StoreConformance, RefusesInvalidWorkspaceRecords) {
  if (!under_->checks_records()) GTEST_SKIP() << "the store checks no records";
  WorkspaceRecord bad = Record(1, "bad");
  bad.key_hash = "short";
  EXPECT_THAT(catalog_->PutWorkspace(bad),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(catalog_->LoadWorkspaces(), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreConformance, WakeTimesAreStoredInOneWriteAndSkipUnknownIds) {
  std::unique_ptr<WorkspaceStore> s1, s2, s3;
  const WorkspaceId a = NewWorkspace(&s1), b = NewWorkspace(&s2),
                    c = NewWorkspace(&s3);
  ASSERT_NE(c, 0u);
  ASSERT_OK(catalog_->PutWakeTimes(
      {{a, 1700001234}, {b, std::nullopt}, {c + 100, 5}}));
  ASSERT_OK(catalog_->PutWakeTimes({}));
  s1.reset();
  s2.reset();
  s3.reset();
  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<LoadedWorkspaceRecord> loaded,
                       catalog_->LoadWorkspaces());
  ASSERT_THAT(loaded, SizeIs(3));
  EXPECT_THAT(loaded[0].wake_time, Optional(1700001234));
  EXPECT_EQ(loaded[1].wake_time, std::nullopt);
  EXPECT_THAT(loaded[2].wake_time, Optional(kWakeAtOnce));
  // Storing the record again keeps its wake time.
  ASSERT_OK(catalog_->PutWorkspace(Record(a, "again")));
  ASSERT_OK_AND_ASSIGN(loaded, catalog_->LoadWorkspaces());
  EXPECT_THAT(loaded[0].wake_time, Optional(1700001234));
}

// Delete removes the record and the data; ids are never handed out again,
// across reopens; a store still open on the deleted workspace cannot
// commit.
TEST_P(StoreConformance, DeleteRemovesEverythingAndIdsAreNeverReused) {
  std::unique_ptr<WorkspaceStore> store, other;
  const WorkspaceId id = NewWorkspace(&store);
  const WorkspaceId kept = NewWorkspace(&other);
  ASSERT_NE(kept, 0u);
  WorkspaceWrite w;
  w.put_contacts = {FullContact(1)};
  w.changes = GroupIntoRuns({MakeChange(1)});
  w.counters = {2, 1, 1};
  ASSERT_OK(store->Commit(w));
  ASSERT_OK(other->Commit(w));
  ASSERT_OK(catalog_->DeleteWorkspace(id));
  ASSERT_OK(catalog_->DeleteWorkspace(id));  // already gone: OK
  ASSERT_OK(catalog_->DeleteWorkspace(kept + 1000));
  WorkspaceWrite later = w;
  later.put_contacts = {MinimalContact(2)};
  later.changes = GroupIntoRuns({MakeChange(2)});
  later.counters = {3, 1, 2};
  EXPECT_THAT(store->Commit(later),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  store.reset();
  // The other workspace is untouched.
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*other));
  EXPECT_THAT(data.contacts, ElementsAre(FullContact(1)));
  other.reset();

  ASSERT_NE(Reopen(), nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<LoadedWorkspaceRecord> loaded,
                       catalog_->LoadWorkspaces());
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_EQ(loaded[0].record.id, kept);
  if (under_->open_never_creates()) {
    EXPECT_THAT(catalog_->OpenWorkspace(id),
                StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(catalog_->OpenWorkspace(kept + 1000),
                StatusIs(absl::StatusCode::kDataLoss));
  }
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore next,
                       catalog_->CreateWorkspaceStore());
  EXPECT_GT(next.id, kept);
  ASSERT_OK_AND_ASSIGN(WorkspaceData fresh, LoadAll(*next.store));
  EXPECT_THAT(fresh.contacts, IsEmpty());
}

// A store created but whose record was never stored (a creation a crash
// interrupted) is gone at the next open, and its id is not reused.
TEST_P(StoreConformance, ProvisionalWorkspaceIsRemovedAtTheNextOpen) {
  if (!under_->open_never_creates()) {
    GTEST_SKIP() << "the store creates data on open";
  }
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                       catalog_->CreateWorkspaceStore());
  WorkspaceWrite w;
  w.put_contacts = {FullContact(1)};
  w.counters = {2, 1, 0};
  ASSERT_OK(created.store->Commit(w));
  created.store.reset();
  ASSERT_NE(Reopen(), nullptr);
  EXPECT_THAT(catalog_->LoadWorkspaces(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(catalog_->OpenWorkspace(created.id),
              StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore next,
                       catalog_->CreateWorkspaceStore());
  EXPECT_GT(next.id, created.id);
}

}  // namespace segments::testing
