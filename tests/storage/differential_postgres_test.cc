// The differential workspace sequences of differential_sqlite_test.cc over
// the PostgreSQL store: random operations checked against the brute-force
// evaluator (tests/testing/workspace_harness.h), with every restart
// closing the workspace and the catalog and opening both again from the
// database, so the stored contacts, segments, counters and change log are
// what is checked. Skipped where PostgreSQL is not installed.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/postgres/pg_catalog.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/workspace_harness.h"
#include "tests/testing/workspace_ops.h"

namespace segments::testing {
namespace {

class DifferentialPostgres : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DifferentialPostgres, SequencesWithRestartsMatchBruteForce) {
  std::string why_not;
  PostgresServer* server = PostgresServer::Shared(&why_not);
  if (server == nullptr) GTEST_SKIP() << why_not;
  absl::StatusOr<std::string> conninfo = server->FreshConninfo();
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  const uint64_t seed = Seed(GetParam());
  SCOPED_TRACE(SeedTrace(seed));
  std::unique_ptr<PgCatalogStore> catalog;
  auto open_catalog = [&]() -> CatalogStore* {
    catalog.reset();
    PgOptions options;
    options.conninfo = *conninfo;
    absl::StatusOr<std::unique_ptr<PgCatalogStore>> opened =
        PgCatalogStore::Open(options);
    if (!opened.ok()) {
      ADD_FAILURE() << "PgCatalogStore::Open: " << opened.status();
      return nullptr;
    }
    catalog = std::move(*opened);
    return catalog.get();
  };
  ASSERT_NE(open_catalog(), nullptr);
  const absl::Status created = Harness::CreateWorkspaceIn(*catalog);
  ASSERT_TRUE(created.ok()) << created;
  Harness h(seed, kBase, SegmentShape(), catalog.get(), open_catalog);
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 300));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.CreateSegment(false));
  SequenceOptions sequence;
  sequence.steps = 200;
  for (int stretch = 0; stretch < 2; ++stretch) {
    ASSERT_TRUE(RunSequence(h, sequence)) << "stretch " << stretch;
    if (stretch == 1) {
      ASSERT_TRUE(h.DeleteNewest());
      ASSERT_TRUE(h.Restart(false, 45 * kDay + 17));
    } else {
      ASSERT_TRUE(h.Restart());
    }
    ASSERT_TRUE(h.CheckEverything()) << "after restart " << stretch;
    ASSERT_TRUE(h.CheckChangeLog()) << "after restart " << stretch;
  }
  std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed),
              DescribeStats(h.stats()).c_str());
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialPostgres, ::testing::Values(501));

}  // namespace
}  // namespace segments::testing
