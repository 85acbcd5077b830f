// The storage conformance suite: the contract of core/store/store.h that
// every CatalogStore and its WorkspaceStores keep, as value-parameterized
// GoogleTest cases (StoreConformance). A store's test binary instantiates
// it with a StoreUnderTest factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
//       ::testing::Values(StoreConformanceParam{"sqlite", MakeSqlite}));
//
// and links store_conformance.cc into itself (see tests/storage/
// CMakeLists.txt). What is specific to one engine (SQLite's VFS faults and
// WAL, PostgreSQL's connections) stays in that store's own tests.
#ifndef SEGMENTS_TESTS_TESTING_STORE_CONFORMANCE_H_
#define SEGMENTS_TESTS_TESTING_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "core/store/store.h"
#include "gtest/gtest.h"

namespace segments::testing {

// One store's durable state for one test, and how to open it.
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;
  // A catalog over the state: the same data every time (a "restart"). The
  // suite drops the previous catalog (and its stores) before calling again.
  virtual absl::StatusOr<std::unique_ptr<CatalogStore>> OpenCatalog() = 0;

  // What a real store guarantees beyond the in-memory test double:
  // records that break record_checks.h are refused with INTERNAL before
  // anything is stored, and OpenWorkspace never creates data (DATA_LOSS for
  // a deleted, never created or provisional-and-reopened workspace).
  virtual bool checks_records() const { return true; }
  virtual bool open_never_creates() const { return true; }
};

struct StoreConformanceParam {
  std::string name;
  // A fresh state; nullptr with *skip set when the store cannot run here
  // (the test is then skipped with that message).
  std::function<std::unique_ptr<StoreUnderTest>(std::string* skip)> make;
};

// Test names and ctest show the store's name, not the object's bytes.
inline void PrintTo(const StoreConformanceParam& p, std::ostream* os) {
  *os << p.name;
}

class StoreConformance
    : public ::testing::TestWithParam<StoreConformanceParam> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Reopens the catalog (dropping the current one first).
  CatalogStore* Reopen();
  // A new workspace with its record stored; its store in *store.
  WorkspaceId NewWorkspace(std::unique_ptr<WorkspaceStore>* store);

  std::unique_ptr<StoreUnderTest> under_;
  std::unique_ptr<CatalogStore> catalog_;
};

std::string StoreConformanceName(
    const ::testing::TestParamInfo<StoreConformanceParam>& info);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_STORE_CONFORMANCE_H_
