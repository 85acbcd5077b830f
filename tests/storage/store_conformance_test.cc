// The storage conformance suite (tests/testing/store_conformance.h) over
// the SQLite store (a data directory per test) and the in-memory test
// store. The PostgreSQL store runs it in postgres_store_test.cc.
#include "tests/testing/store_conformance.h"

#include <memory>
#include <string>

#include "storage/sqlite_catalog.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/temp_dir.h"

namespace segments::testing {
namespace {

class SqliteUnderTest : public StoreUnderTest {
 public:
  SqliteUnderTest() {
    // Durability is what sqlite_workspace_store_test checks, not this.
    options_.synchronous = SqliteOptions::Synchronous::kNormal;
  }
  absl::StatusOr<std::unique_ptr<CatalogStore>> OpenCatalog() override {
    absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> catalog =
        SqliteCatalogStore::Open(dir_.path(), options_);
    if (!catalog.ok()) return catalog.status();
    return std::unique_ptr<CatalogStore>(*std::move(catalog));
  }

 private:
  TempDir dir_{"store_conformance"};
  SqliteOptions options_;
};

class MemoryUnderTest : public StoreUnderTest {
 public:
  absl::StatusOr<std::unique_ptr<CatalogStore>> OpenCatalog() override {
    return std::unique_ptr<CatalogStore>(
        std::make_unique<MemoryCatalogStore>(storage_));
  }
  bool checks_records() const override { return false; }
  bool open_never_creates() const override { return false; }

 private:
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
};

INSTANTIATE_TEST_SUITE_P(
    Stores, StoreConformance,
    ::testing::Values(
        StoreConformanceParam{"Sqlite",
                              [](std::string*) {
                                return std::unique_ptr<StoreUnderTest>(
                                    std::make_unique<SqliteUnderTest>());
                              }},
        StoreConformanceParam{"Memory",
                              [](std::string*) {
                                return std::unique_ptr<StoreUnderTest>(
                                    std::make_unique<MemoryUnderTest>());
                              }}),
    StoreConformanceName);

}  // namespace
}  // namespace segments::testing
