// The PostgreSQL store: the storage conformance suite (tests/testing/
// store_conformance.h) against a server this binary starts (tests/testing/
// postgres_server.h, a fresh schema per test), and what is PostgreSQL's
// own: schema versioning in segments_schema, one database shared by many
// workspaces, reconnection after the server restarts. Skipped, with the
// reason, where PostgreSQL is not installed.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/pg_catalog.h"
#include "storage/postgres/pg_conn.h"
#include "storage/postgres/pg_schema.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_conformance.h"
#include "tests/testing/store_helpers.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;

class PostgresUnderTest : public StoreUnderTest {
 public:
  PostgresUnderTest(std::string conninfo, std::string node_id)
      : conninfo_(std::move(conninfo)), node_id_(std::move(node_id)) {}
  absl::StatusOr<std::unique_ptr<CatalogStore>> OpenCatalog() override {
    PgOptions options;
    options.conninfo = conninfo_;
    options.pool_size = 4;
    options.node_id = node_id_;
    absl::StatusOr<std::unique_ptr<PgCatalogStore>> catalog =
        PgCatalogStore::Open(options);
    if (!catalog.ok()) return catalog.status();
    return std::unique_ptr<CatalogStore>(*std::move(catalog));
  }

 private:
  const std::string conninfo_;
  const std::string node_id_;
};

std::unique_ptr<StoreUnderTest> MakePostgres(std::string* skip,
                                             std::string node_id) {
  PostgresServer* server = PostgresServer::Shared(skip);
  if (server == nullptr) return nullptr;
  absl::StatusOr<std::string> db = server->FreshConninfo();
  if (!db.ok()) {
    ADD_FAILURE() << db.status();
    *skip = "no database";
    return nullptr;
  }
  return std::make_unique<PostgresUnderTest>(*db, std::move(node_id));
}

// Without leases (one node), and with them: every commit then also passes
// the lease fence, and the contract is the same.
INSTANTIATE_TEST_SUITE_P(
    Stores, StoreConformance,
    ::testing::Values(StoreConformanceParam{"Postgres",
                                            [](std::string* skip) {
                                              return MakePostgres(skip, "");
                                            }},
                      StoreConformanceParam{"PostgresLeased",
                                            [](std::string* skip) {
                                              return MakePostgres(skip,
                                                                  "node-a");
                                            }}),
    StoreConformanceName);

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = PostgresServer::Shared(&why_not);
    if (server_ == nullptr) GTEST_SKIP() << why_not;
    ASSERT_OK_AND_ASSIGN(conninfo_, server_->FreshConninfo());
  }
  absl::StatusOr<std::unique_ptr<PgCatalogStore>> Open(
      std::string node_id = "", absl::Duration ttl = absl::Seconds(10),
      bool renew = true) {
    PgOptions options;
    options.conninfo = conninfo_;
    options.node_id = std::move(node_id);
    options.lease_ttl = ttl;
    options.renew_leases = renew;
    return PgCatalogStore::Open(options);
  }
  // Runs `sql` on a connection of its own, behind the store's back.
  void RawExec(const std::string& sql) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgConn> conn,
                         PgConn::Connect(conninfo_));
    ASSERT_OK(conn->Exec(sql));
  }

  PostgresServer* server_ = nullptr;
  std::string conninfo_;
};

TEST_F(PostgresStoreTest, SetsTheSchemaVersionAndRefusesANewerOne) {
  ASSERT_OK(Open().status());
  ASSERT_OK(Open().status());  // a second open migrates nothing
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgConn> conn,
                       PgConn::Connect(conninfo_));
  ASSERT_OK_AND_ASSIGN(
      PgResult r, conn->Query("SELECT version FROM segments_schema WHERE app = "
                              "'segments'"));
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.Int(0, 0), PgSchemaVersion());
  RawExec("UPDATE segments_schema SET version = version + 1");
  EXPECT_THAT(Open().status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("newer than this binary's")));
}

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailable) {
  PgOptions options;
  options.conninfo = "host=/nonexistent-dir user=segments dbname=x";
  EXPECT_THAT(PgCatalogStore::Open(options).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

// A damaged row is DATA_LOSS naming it, as in the SQLite store.
TEST_F(PostgresStoreTest, RowsThatBreakTheModelAreDataLossAtLoad) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> catalog, Open());
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                       catalog->CreateWorkspaceStore());
  WorkspaceWrite w;
  Contact c;
  c.id = 1;
  c.email = "a@example.com";
  Contact d = c;
  d.id = 2;
  d.email = "b@example.com";
  w.put_contacts = {c, d};
  w.counters = {3, 1, 0};
  ASSERT_OK(created.store->Commit(w));
  ASSERT_OK(LoadAll(*created.store).status());
  RawExec("UPDATE contacts SET email = 'a@example.com'::bytea WHERE id = 2");
  EXPECT_THAT(LoadAll(*created.store).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("id=1 and id=2 have the same email")));
  RawExec("UPDATE contacts SET email = 'b@example.com'::bytea WHERE id = 2");
  RawExec("UPDATE workspace_state SET next_contact_id = 2");
  EXPECT_THAT(LoadAll(*created.store).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("contacts row id=2: id is not below")));
  RawExec("UPDATE workspace_state SET next_contact_id = 3");
  RawExec("UPDATE contacts SET tags = 'not json'::bytea WHERE id = 1");
  EXPECT_THAT(LoadAll(*created.store).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("contacts row id=1: tags do not decode")));
}

// The store's connections come back after the server restarts: a commit
// while it is down fails (UNAVAILABLE, nothing stored), the next one on the
// same store succeeds.
TEST_F(PostgresStoreTest, ReconnectsAfterTheServerRestarts) {
  // The binary's server: the tests run one after another, and a clean
  // stop keeps every other test's data.
  PostgresServer* own = server_;
  const std::string conninfo = conninfo_;
  PgOptions options;
  options.conninfo = conninfo;
  options.pool_size = 1;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> catalog,
                       PgCatalogStore::Open(options));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created,
                       catalog->CreateWorkspaceStore());
  WorkspaceWrite w;
  w.counters = {1, 1, 0, 5};
  ASSERT_OK(created.store->Commit(w));
  own->Stop();
  w.counters.time_applied_until = 6;
  EXPECT_THAT(created.store->Commit(w),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(own->Restart());
  ASSERT_OK_AND_ASSIGN(WorkspaceData before, LoadAll(*created.store));
  EXPECT_EQ(before.counters.time_applied_until, 5);  // the failed one: none
  w.counters.time_applied_until = 7;
  ASSERT_OK(created.store->Commit(w));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*created.store));
  EXPECT_EQ(data.counters.time_applied_until, 7);
}

WorkspaceWrite OneContact(ContactId id) {
  WorkspaceWrite w;
  Contact c;
  c.id = id;
  c.email = absl::StrCat("c", id, "@example.com");
  w.put_contacts = {c};
  w.counters = {id + 1, 1, 0};
  return w;
}

// One node at a time: a workspace whose lease another node holds is not
// handed out (UNAVAILABLE naming the owner); released, it is, at the next
// epoch.
TEST_F(PostgresStoreTest, ALeasedWorkspaceIsServedByOneNodeAtATime) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> a, Open("node-a"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  WorkspaceRecord record;
  record.id = created.id;
  record.display_name = "leased";
  record.key_hash = std::string(32, 'k');
  ASSERT_OK(a->PutWorkspace(record));
  ASSERT_OK(created.store->Commit(OneContact(1)));
  EXPECT_THAT(b->OpenWorkspace(created.id),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("served by node node-a")));
  created.store.reset();  // releases it
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WorkspaceStore> on_b,
                       b->OpenWorkspace(created.id));
  EXPECT_THAT(a->OpenWorkspace(created.id),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("served by node node-b")));
  ASSERT_OK(on_b->Commit(OneContact(2)));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*on_b));
  EXPECT_THAT(data.contacts, ::testing::SizeIs(2));
}

// A paused node (its renewals stopped) loses its lease at the ttl; another
// node takes the workspace over, and the paused node's commits then fail
// and store nothing, however late they come.
TEST_F(PostgresStoreTest, ACommitUnderALostLeaseFailsAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<PgCatalogStore> a,
      Open("node-a", absl::Milliseconds(300), /*renew=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  ASSERT_OK(created.store->Commit(OneContact(1)));
  absl::SleepFor(absl::Milliseconds(400));
  // Lapsed, not yet taken: still no commit (the fence checks expiry too).
  const absl::Status fenced = created.store->Commit(OneContact(2));
  EXPECT_THAT(fenced, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("no longer holds the lease")));
  // The client is told to retry (on the node that serves it next).
  EXPECT_EQ(GetErrorInfo(fenced).reason, kReasonWorkspaceNotOwned);
  EXPECT_EQ(GetRetryDelay(fenced), absl::Milliseconds(100));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WorkspaceStore> on_b,
                       b->OpenWorkspace(created.id));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*on_b));
  ASSERT_THAT(data.contacts, ::testing::SizeIs(1));
  EXPECT_EQ(data.contacts[0].id, 1u);
  ASSERT_OK(on_b->Commit(OneContact(3)));
  EXPECT_THAT(created.store->Commit(OneContact(4)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(created.store->PruneChanges(1 << 30, 10),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(data, LoadAll(*on_b));
  ASSERT_THAT(data.contacts, ::testing::SizeIs(2));
  EXPECT_EQ(data.contacts[1].id, 3u);
  EXPECT_EQ(data.counters.next_contact_id, 4u);
  // Node a's late release does not end node b's lease.
  created.store.reset();
  ASSERT_OK(on_b->Commit(OneContact(5)));
}

// Renewal keeps a lease past its ttl while the node lives.
TEST_F(PostgresStoreTest, RenewalKeepsTheLeasePastItsTtl) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> a,
                       Open("node-a", absl::Milliseconds(600)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_THAT(b->OpenWorkspace(created.id),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(created.store->Commit(OneContact(1)));
}

// What the registry of a node among several asks of the catalog (store.h,
// "Ownership"): records read now, by id and by key hash; the due
// workspaces that no node holds; and lost leases reported, both when a
// renewal answers without one and when renewals fail past the ttl.
TEST_F(PostgresStoreTest, ASharedCatalogAnswersTheRegistrysLookups) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> a, Open("node-a"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> single, Open());
  EXPECT_TRUE(a->Shared());
  EXPECT_FALSE(single->Shared());
  EXPECT_EQ(a->OwnershipRetryDelay(), absl::Seconds(10) / 3);
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  WorkspaceRecord record;
  record.id = created.id;
  record.display_name = "shared";
  record.key_hash = std::string(32, 'h');
  ASSERT_OK(a->PutWorkspace(record));
  // b sees what a made, by id and by key.
  ASSERT_OK_AND_ASSIGN(std::optional<LoadedWorkspaceRecord> by_id,
                       b->LoadWorkspace(created.id));
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->record, record);
  EXPECT_EQ(by_id->problem, "");
  ASSERT_OK_AND_ASSIGN(std::optional<LoadedWorkspaceRecord> by_key,
                       b->FindWorkspaceByKeyHash(record.key_hash));
  ASSERT_TRUE(by_key.has_value());
  EXPECT_EQ(by_key->record.id, created.id);
  ASSERT_OK_AND_ASSIGN(by_key, b->FindWorkspaceByKeyHash(std::string(32, 'x')));
  EXPECT_FALSE(by_key.has_value());
  ASSERT_OK_AND_ASSIGN(by_id, b->LoadWorkspace(created.id + 1));
  EXPECT_FALSE(by_id.has_value());

  // Held by a: not due for anyone, whatever its wake time.
  ASSERT_OK_AND_ASSIGN(std::vector<WorkspaceId> due,
                       b->UnownedDueWorkspaces(1 << 30, 10));
  EXPECT_THAT(due, ::testing::IsEmpty());
  // Fenced wake times: a stores one under its lease; b (no lease) cannot
  // put it off, though "at once" is always stored.
  ASSERT_OK(a->PutWakeTimes({{created.id, 500}}));
  ASSERT_OK(b->PutWakeTimes({{created.id, 900}}));
  ASSERT_OK_AND_ASSIGN(by_id, b->LoadWorkspace(created.id));
  EXPECT_EQ(by_id->wake_time, 500);
  ASSERT_OK(b->PutWakeTimes({{created.id, std::nullopt}}));
  ASSERT_OK_AND_ASSIGN(by_id, b->LoadWorkspace(created.id));
  EXPECT_EQ(by_id->wake_time, 500);
  // Released: due at its wake time, not before.
  created.store.reset();
  ASSERT_OK_AND_ASSIGN(due, b->UnownedDueWorkspaces(499, 10));
  EXPECT_THAT(due, ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(due, b->UnownedDueWorkspaces(500, 10));
  EXPECT_THAT(due, ::testing::ElementsAre(created.id));
  // Without the lease, even a's later wake time is not stored.
  ASSERT_OK(a->PutWakeTimes({{created.id, 700}}));
  ASSERT_OK_AND_ASSIGN(by_id, b->LoadWorkspace(created.id));
  EXPECT_EQ(by_id->wake_time, 500);
  ASSERT_OK(a->PutWakeTimes({{created.id, kWakeAtOnce}}));
  ASSERT_OK_AND_ASSIGN(by_id, b->LoadWorkspace(created.id));
  EXPECT_EQ(by_id->wake_time, kWakeAtOnce);
}

TEST_F(PostgresStoreTest, LostLeasesAreReported) {
  // Renewals off: none is sent, as if each failed.
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<PgCatalogStore> failing,
      Open("node-a", absl::Milliseconds(450), /*renew=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> renewing,
                       Open("node-b", absl::Milliseconds(450)));
  absl::Mutex mu;
  std::vector<std::pair<std::string, WorkspaceId>> lost;
  failing->SetOwnershipLostHandler([&](WorkspaceId id) {
    absl::MutexLock l(&mu);
    lost.emplace_back("node-a", id);
  });
  renewing->SetOwnershipLostHandler([&](WorkspaceId id) {
    absl::MutexLock l(&mu);
    lost.emplace_back("node-b", id);
  });
  auto reported = [&] {
    absl::MutexLock l(&mu);
    return lost;
  };
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore on_a, failing->CreateWorkspaceStore());
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore on_b,
                       renewing->CreateWorkspaceStore());
  // a gives up by its own clock before its lease lapses in the database.
  while (reported().empty() && absl::Now() - start < absl::Seconds(3)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Duration after = absl::Now() - start;
  ASSERT_THAT(reported(),
              ::testing::ElementsAre(::testing::Pair("node-a", on_a.id)));
  // At 2/3 of the ttl or the round after: before the database's expiry
  // (450 ms after the take), give or take this machine's scheduling.
  EXPECT_LT(after, absl::Milliseconds(550));
  EXPECT_GE(after, absl::Milliseconds(250));
  // b renews; its lease taken from under it (here: deleted) is reported at
  // the next renewal.
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_THAT(reported(), ::testing::SizeIs(1));
  RawExec(absl::StrCat("DELETE FROM workspace_leases WHERE workspace_id = ",
                       on_b.id));
  while (reported().size() < 2 && absl::Now() - start < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(reported(),
              ::testing::ElementsAre(::testing::Pair("node-a", on_a.id),
                                     ::testing::Pair("node-b", on_b.id)));
  // No report after the handler is cleared.
  renewing->SetOwnershipLostHandler(nullptr);
  failing->SetOwnershipLostHandler(nullptr);
}

// A renewal that hangs (here behind another session's lock on the lease
// row; a stopped server or a partition hang it the same way) is given up
// after a renewal period by the node's own clock, so the lease is still
// judged lost before the database's expiry instead of never.
TEST_F(PostgresStoreTest, ARenewalThatHangsStillLosesTheLeaseByTheClock) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> a,
                       Open("node-a", absl::Milliseconds(600)));
  absl::Mutex mu;
  std::vector<WorkspaceId> lost;
  a->SetOwnershipLostHandler([&](WorkspaceId id) {
    absl::MutexLock l(&mu);
    lost.push_back(id);
  });
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgConn> blocker,
                       PgConn::Connect(conninfo_));
  ASSERT_OK(blocker->Exec(absl::StrCat(
      "BEGIN; SELECT 1 FROM workspace_leases WHERE workspace_id = ", created.id,
      " FOR UPDATE")));
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  auto reported = [&] {
    absl::MutexLock l(&mu);
    return lost;
  };
  while (reported().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(reported(), ::testing::ElementsAre(created.id));
  ASSERT_OK(blocker->Exec("ROLLBACK"));
  a->SetOwnershipLostHandler(nullptr);
}

// A node refused a lease marks it wanted: the holder hears it at each
// renewal until the lease changes hands (PgLeases, "wanted"), which is how
// ownership follows a proxy's routing (docs/scale-out.md).
TEST_F(PostgresStoreTest, ARefusedNodeMarksTheLeaseWantedUntilItChangesHands) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> a, Open("node-a"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  absl::Mutex mu;
  std::vector<std::pair<std::string, WorkspaceId>> wanted;
  for (auto [catalog, name] :
       {std::pair(a.get(), "node-a"), std::pair(b.get(), "node-b")}) {
    catalog->SetOwnershipWantedHandler(
        [&mu, &wanted, name = std::string(name)](WorkspaceId id) {
          absl::MutexLock l(&mu);
          wanted.emplace_back(name, id);
        });
  }
  // Renewal rounds of both nodes, then what they reported.
  auto renew_both = [&] {
    EXPECT_OK(a->leases()->RenewNow());
    EXPECT_OK(b->leases()->RenewNow());
    absl::MutexLock l(&mu);
    return std::exchange(wanted, {});
  };
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  const WorkspaceId id = created.id;
  EXPECT_THAT(renew_both(), ::testing::IsEmpty());

  EXPECT_THAT(b->OpenWorkspace(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(renew_both(),
              ::testing::ElementsAre(::testing::Pair("node-a", id)));
  EXPECT_THAT(renew_both(),
              ::testing::ElementsAre(::testing::Pair("node-a", id)));
  // a gives it up; b takes it, unmarked.
  created.store.reset();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WorkspaceStore> on_b,
                       b->OpenWorkspace(id));
  EXPECT_THAT(renew_both(), ::testing::IsEmpty());
  EXPECT_THAT(a->OpenWorkspace(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(renew_both(),
              ::testing::ElementsAre(::testing::Pair("node-b", id)));
  a->SetOwnershipWantedHandler(nullptr);
  b->SetOwnershipWantedHandler(nullptr);
}

// A node's commits racing another node's takeover: each either lands
// before the takeover (and the new owner loads it) or fails and stores
// nothing; none lands after.
TEST_F(PostgresStoreTest, ACommitRacingATakeoverLandsBeforeItOrFails) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<PgCatalogStore> a,
      Open("node-a", absl::Milliseconds(300), /*renew=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgCatalogStore> b, Open("node-b"));
  ASSERT_OK_AND_ASSIGN(NewWorkspaceStore created, a->CreateWorkspaceStore());
  std::atomic<bool> stop{false};
  std::vector<ContactId> acknowledged;
  int refused = 0;
  std::thread writer([&] {
    for (ContactId id = 1; !stop.load(); ++id) {
      const absl::Status s = created.store->Commit(OneContact(id));
      if (s.ok()) {
        EXPECT_EQ(refused, 0) << "a commit landed after one was fenced";
        acknowledged.push_back(id);
      } else {
        EXPECT_EQ(GetErrorInfo(s).reason, kReasonWorkspaceNotOwned) << s;
        ++refused;
      }
    }
  });
  std::unique_ptr<WorkspaceStore> on_b;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (on_b == nullptr && absl::Now() < deadline) {
    absl::StatusOr<std::unique_ptr<WorkspaceStore>> opened =
        b->OpenWorkspace(created.id);
    if (opened.ok()) on_b = *std::move(opened);
  }
  ASSERT_NE(on_b, nullptr);
  ASSERT_OK_AND_ASSIGN(WorkspaceData taken_over, LoadAll(*on_b));
  absl::SleepFor(absl::Milliseconds(100));  // a keeps trying meanwhile
  stop = true;
  writer.join();
  EXPECT_GT(acknowledged.size(), 0u);
  EXPECT_GT(refused, 0);
  std::vector<ContactId> stored;
  for (const Contact& c : taken_over.contacts) stored.push_back(c.id);
  EXPECT_EQ(stored, acknowledged);
  ASSERT_OK_AND_ASSIGN(WorkspaceData later, LoadAll(*on_b));
  EXPECT_EQ(later.contacts.size(), taken_over.contacts.size());
}

}  // namespace
}  // namespace segments::testing
