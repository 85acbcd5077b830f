#include "core/engine/registry.h"

#include <memory>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(); }

  void Restart() {
    registry_.reset();
    auto r = Registry::Open(std::make_unique<MemoryCatalogStore>(storage_),
                            &clock_, Limits());
    ASSERT_THAT(r, IsOk());
    registry_ = std::move(r).value();
  }

  // After a restart: workspace A (key hash "ha") closed, and B ("hb") one
  // whose open fails with DATA_LOSS. Returns A's id.
  WorkspaceId ClosedAAndFailingB() {
    absl::StatusOr<WorkspaceRecord> a =
        registry_->CreateWorkspace("A", Plan::kStarter, "ha");
    absl::StatusOr<WorkspaceRecord> b =
        registry_->CreateWorkspace("B", Plan::kStarter, "hb");
    EXPECT_THAT(a, IsOk());
    EXPECT_THAT(b, IsOk());
    if (!a.ok() || !b.ok()) return 0;
    storage_->FailOpen(b->id, absl::DataLossError("b.db is missing"));
    Restart();
    return a->id;
  }

  FakeClock clock_{1'800'000'000};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, KeyHashAuthenticatesItsOwnWorkspaceOnly) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a, registry_->CreateWorkspace(
                                              "A", Plan::kStarter, "hash-a"));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord b,
                       registry_->CreateWorkspace("B", Plan::kPro, "hash-b"));
  EXPECT_NE(a.id, b.id);
  ASSERT_OK_AND_ASSIGN(auto wa, registry_->Authenticate("hash-a"));
  EXPECT_EQ(wa->id(), a.id);
  ASSERT_OK_AND_ASSIGN(auto wb, registry_->Authenticate("hash-b"));
  EXPECT_EQ(wb->id(), b.id);
  EXPECT_THAT(registry_->Authenticate("hash-c"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(registry_->Authenticate(""),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

// What gRPC's callback threads may ask: an answer only when no workspace
// has to be opened for it, and never an open.
TEST_F(RegistryTest, AuthenticateIfOpenAnswersOnlyWhatNeedsNoOpen) {
  const WorkspaceId a = ClosedAAndFailingB();
  ASSERT_NE(a, 0u);

  EXPECT_EQ(registry_->AuthenticateIfOpen("ha"), std::nullopt);
  EXPECT_FALSE(registry_->IsOpen(a));
  auto unknown = registry_->AuthenticateIfOpen("hz");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_THAT(*unknown, StatusIs(absl::StatusCode::kUnauthenticated));

  ASSERT_OK_AND_ASSIGN(auto wa, registry_->Authenticate("ha"));
  auto open = registry_->AuthenticateIfOpen("ha");
  ASSERT_TRUE(open.has_value());
  ASSERT_THAT(*open, IsOk());
  EXPECT_EQ(open->value(), wa);

  // A failed workspace is known as failed once an open has failed.
  EXPECT_EQ(registry_->AuthenticateIfOpen("hb"), std::nullopt);
  EXPECT_THAT(registry_->Authenticate("hb"),
              StatusIs(absl::StatusCode::kDataLoss));
  auto failed = registry_->AuthenticateIfOpen("hb");
  ASSERT_TRUE(failed.has_value());
  EXPECT_THAT(*failed, StatusIs(absl::StatusCode::kDataLoss));
}

// What a request that does not parse needs (server/parse_error_interceptor.h):
// whether its key is good, answered without opening the workspace.
TEST_F(RegistryTest, CheckKeyIfKnownNeverOpensAWorkspace) {
  const WorkspaceId a = ClosedAAndFailingB();
  ASSERT_NE(a, 0u);

  EXPECT_EQ(registry_->CheckKeyIfKnown("ha"), absl::OkStatus());
  EXPECT_FALSE(registry_->IsOpen(a));
  std::optional<absl::Status> unknown = registry_->CheckKeyIfKnown("hz");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_THAT(*unknown, StatusIs(absl::StatusCode::kUnauthenticated));
  // B's key is good until an open has found B failed; then B's error.
  EXPECT_EQ(registry_->CheckKeyIfKnown("hb"), absl::OkStatus());
  EXPECT_THAT(registry_->Authenticate("hb"),
              StatusIs(absl::StatusCode::kDataLoss));
  std::optional<absl::Status> failed = registry_->CheckKeyIfKnown("hb");
  ASSERT_TRUE(failed.has_value());
  EXPECT_THAT(*failed, StatusIs(absl::StatusCode::kDataLoss));
  // An open one answers the same.
  ASSERT_THAT(registry_->Authenticate("ha"), IsOk());
  EXPECT_EQ(registry_->CheckKeyIfKnown("ha"), absl::OkStatus());
}

TEST_F(RegistryTest, UnspecifiedPlanIsFreeAndNameIsRequired) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a, registry_->CreateWorkspace(
                                              "A", Plan::kUnspecified, "h"));
  EXPECT_EQ(a.plan, Plan::kFree);
  EXPECT_THAT(registry_->CreateWorkspace("  ", Plan::kFree, "h2"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, RotatedKeyReplacesTheOldOne) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kFree, "old"));
  ASSERT_THAT(registry_->SetKeyHash(a.id, "new"), IsOk());
  EXPECT_THAT(registry_->Authenticate("old"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(registry_->Authenticate("new"), IsOk());
  Restart();
  EXPECT_THAT(registry_->Authenticate("old"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(registry_->Authenticate("new"), IsOk());
}

TEST_F(RegistryTest, PlanSurvivesRestart) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kFree, "h"));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord up,
                       registry_->SetPlan(a.id, Plan::kGrowth));
  EXPECT_EQ(up.plan, Plan::kGrowth);
  Restart();
  EXPECT_EQ(registry_->GetWorkspace(a.id)->plan, Plan::kGrowth);
  ASSERT_OK_AND_ASSIGN(auto ws, registry_->Find(a.id));
  EXPECT_EQ(ws->plan(), Plan::kGrowth);
  EXPECT_THAT(registry_->SetPlan(a.id, Plan::kUnspecified),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SetPlan(a.id, static_cast<Plan>(9)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, FailedPlanChangeChangesNothing) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kFree, "h"));
  storage_->FailNextCommits(1);
  EXPECT_THAT(registry_->SetPlan(a.id, Plan::kPro),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(registry_->GetWorkspace(a.id)->plan, Plan::kFree);
  Restart();
  EXPECT_EQ(registry_->GetWorkspace(a.id)->plan, Plan::kFree);
}

TEST_F(RegistryTest, DeletedWorkspaceIsGoneWithItsKey) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kFree, "h"));
  ASSERT_OK_AND_ASSIGN(auto ws, registry_->Find(a.id));
  ContactDraft d;
  d.email = "a@x.com";
  ASSERT_THAT(ws->CreateContact(d), IsOk());
  // A change feed stream holds the workspace; it learns that it is gone.
  std::shared_ptr<Workspace> followed = ws;
  ws.reset();
  ASSERT_THAT(registry_->DeleteWorkspace(a.id), IsOk());
  EXPECT_THAT(followed->feed().Read(0, {}, 10),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("was deleted")));
  followed.reset();
  EXPECT_THAT(registry_->Find(a.id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Authenticate("h"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(registry_->DeleteWorkspace(a.id),
              StatusIs(absl::StatusCode::kNotFound));
  Restart();
  EXPECT_THAT(registry_->GetWorkspace(a.id),
              StatusIs(absl::StatusCode::kNotFound));
}

// Issue 11: one workspace whose data failed to load stopped the whole
// server; now it alone does not serve.
TEST_F(RegistryTest, WorkspaceThatFailsToLoadDoesNotServeWhileOthersDo) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kStarter, "ha"));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord b,
                       registry_->CreateWorkspace("B", Plan::kStarter, "hb"));
  ASSERT_OK_AND_ASSIGN(auto wb, registry_->Find(b.id));
  ContactDraft d;
  d.email = "b@x.com";
  ASSERT_OK_AND_ASSIGN(Contact kept, wb->CreateContact(d));
  wb.reset();
  storage_->FailOpen(a.id, absl::DataLossError("/data/workspaces/1.db is "
                                               "missing"));
  Restart();

  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("workspace 1 is not serving"),
                             Not(HasSubstr("/data")))));
  EXPECT_THAT(registry_->Find(a.id), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(registry_->SetPlan(a.id, Plan::kPro),
              StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord shown, registry_->GetWorkspace(a.id));
  EXPECT_EQ(shown, a);
  EXPECT_THAT(registry_->LoadError(a.id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
  auto failed = registry_->FailedWorkspaces();
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_EQ(failed[0].first, a.id);

  // The other serves, with its data.
  EXPECT_OK(registry_->LoadError(b.id));
  ASSERT_OK_AND_ASSIGN(wb, registry_->Authenticate("hb"));
  EXPECT_THAT(wb->GetContact(kept.id), IsOk());
  // New workspaces take new ids; the failed one can be deleted.
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord c,
                       registry_->CreateWorkspace("C", Plan::kFree, "hc"));
  EXPECT_EQ(c.id, 3u);
  EXPECT_OK(registry_->DeleteWorkspace(a.id));
  EXPECT_THAT(registry_->GetWorkspace(a.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(RegistryTest, OtherLoadErrorsAreFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kStarter, "ha"));
  storage_->FailOpen(a.id, absl::InternalError("unknown schema"));
  Restart();
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("workspace 1 is not serving")));
  EXPECT_THAT(registry_->LoadError(a.id),
              StatusIs(absl::StatusCode::kInternal));
}

// Issue 16: workspaces open on first use, so a transient failure (a disk
// I/O error, descriptors run out) is the call's, not the workspace's.
TEST_F(RegistryTest, UnavailableOpenIsRetriedByTheNextCall) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kStarter, "ha"));
  storage_->FailOpen(a.id, absl::UnavailableError("disk I/O error"));
  Restart();
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_OK(registry_->LoadError(a.id));
  EXPECT_TRUE(registry_->FailedWorkspaces().empty());
}

TEST_F(RegistryTest, DamagedRecordDoesNotServe) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kStarter, "ha"));
  ASSERT_OK(registry_->CreateWorkspace("B", Plan::kStarter, "hb"));
  storage_->DamageRecord(a.id, "catalog.db: workspaces row id=1: plan 9");
  Restart();
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(registry_->LoadError(a.id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("plan 9")));
  EXPECT_OK(registry_->Authenticate("hb"));
}

TEST_F(RegistryTest, TwoWorkspacesWithOneKeyHashBothFail) {
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord a,
                       registry_->CreateWorkspace("A", Plan::kStarter, "ha"));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord b,
                       registry_->CreateWorkspace("B", Plan::kStarter, "hb"));
  ASSERT_OK(registry_->CreateWorkspace("C", Plan::kStarter, "hc"));
  // Only a damaged catalog can hold this.
  MemoryCatalogStore(storage_)
      .PutWorkspace([&] {
        WorkspaceRecord r = b;
        r.key_hash = "ha";
        return r;
      }())
      .IgnoreError();
  Restart();
  EXPECT_THAT(registry_->Authenticate("ha"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(registry_->LoadError(a.id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("same key")));
  EXPECT_THAT(registry_->LoadError(b.id),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("same key")));
  EXPECT_OK(registry_->Authenticate("hc"));
  // And none is created with a key hash already in use.
  EXPECT_THAT(registry_->CreateWorkspace("D", Plan::kStarter, "hc"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegistryTest, IdsAreNeverReused) {
  ASSERT_OK(registry_->CreateWorkspace("A", Plan::kFree, "ha"));
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord b,
                       registry_->CreateWorkspace("B", Plan::kFree, "hb"));
  ASSERT_OK(registry_->DeleteWorkspace(b.id));  // the newest
  Restart();
  ASSERT_OK_AND_ASSIGN(WorkspaceRecord c,
                       registry_->CreateWorkspace("C", Plan::kFree, "hc"));
  EXPECT_EQ(c.id, 3u);
}

TEST(ConstantTimeEqualsTest, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace segments
