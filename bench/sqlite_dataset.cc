#include "bench/sqlite_dataset.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/engine_fixture.h"
#include "core/base/status_macros.h"
#include "core/engine/registry.h"
#include "server/auth.h"
#include "storage/sqlite_catalog.h"
#include "storage/sqlite_workspace_store.h"

namespace segments::bench {
namespace {

namespace fs = std::filesystem;

// Bump when the generator or the layout changes, so stale caches are not
// reused.
constexpr int kDatasetVersion = 1;
constexpr char kMarker[] = "COMPLETE";

absl::Status BuildServerDataset(const std::string& dir, size_t contacts,
                                size_t segments) {
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteCatalogStore> catalog,
                   SqliteCatalogStore::Open(dir, options));
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   Registry::Open(std::move(catalog), BenchClock(), Limits()));
  ASSIGN_OR_RETURN(
      WorkspaceRecord record,
      registry->CreateWorkspace("bench", Plan::kPro, HashApiKey(kBenchApiKey)));
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, registry->Find(record.id));
  // Contacts first: segments created afterwards are initial builds, which
  // log no per-contact changes.
  RETURN_IF_ERROR(LoadContacts(*ws, 0, contacts));
  RETURN_IF_ERROR(EnsureSegmentCount(*ws, segments).status());
  return absl::OkStatus();
}

}  // namespace

std::string BenchCacheDir() {
  const char* env = std::getenv("SEGMENTS_BENCH_CACHE");
  return env != nullptr && *env != '\0' ? env : "/tmp/segments-bench";
}

absl::StatusOr<CachedDataset> EnsureServerDataset(size_t contacts,
                                                  size_t segments) {
  CachedDataset out;
  // The storage schema versions are part of the key: a cache written by an
  // older binary is rebuilt rather than migrated in place.
  const std::string root = absl::StrCat(
      BenchCacheDir(), "/server-v", kDatasetVersion, "-schema",
      SqliteCatalogStore::SchemaVersion(), ".",
      SqliteWorkspaceStore::SchemaVersion(), "-c", contacts, "-s", segments);
  out.path = root + "/data";
  if (fs::exists(root + "/" + kMarker)) return out;

  Progress(absl::StrCat("building the cached server dataset ", root,
                        " (regenerated when missing)"));
  const int64_t start = NowNs();
  RemoveTree(root);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat(root, ": ", ec.message()));
  RETURN_IF_ERROR(BuildServerDataset(out.path, contacts, segments));
  std::ofstream(root + "/" + kMarker)
      << "contacts " << contacts << "\nsegments " << segments << "\n";
  Progress(absl::StrCat("server dataset built in ", SecondsSince(start), " s"));
  out.built_now = true;
  return out;
}

absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix) {
  std::error_code ec;
  fs::create_directories(BenchCacheDir(), ec);
  std::string pattern =
      absl::StrCat(BenchCacheDir(), "/scratch-", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
  }
  return pattern;
}

absl::Status CopyTree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("copy ", from, " -> ", to, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace segments::bench
