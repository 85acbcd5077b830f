#include "bench/many_workspaces_dataset.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/engine_fixture.h"
#include "core/base/status_macros.h"
#include "core/engine/registry.h"
#include "server/auth.h"
#include "storage/sqlite_catalog.h"
#include "storage/sqlite_workspace_store.h"

namespace segments::bench {
namespace {

namespace fs = std::filesystem;

// Bump when the layout changes, so stale caches are not reused.
constexpr int kDatasetVersion = 1;
constexpr char kMarker[] = "COMPLETE";

absl::Status FillWorkspace(Registry& registry, size_t index, size_t contacts,
                           size_t segments) {
  ASSIGN_OR_RETURN(
      WorkspaceRecord record,
      registry.CreateWorkspace(absl::StrCat("ws-", index), Plan::kPro,
                               HashApiKey(ManyWorkspacesKey(index))));
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, registry.Find(record.id));
  RETURN_IF_ERROR(LoadContacts(*ws, index * contacts, contacts));
  ASSIGN_OR_RETURN(std::vector<SegmentId> ids,
                   EnsureSegmentCount(*ws, segments));
  // bench_workspaces addresses segments 1..segments without listing them.
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != i + 1) {
      return absl::InternalError(absl::StrCat("workspace ", index, " segment ",
                                              i, " has id ", ids[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status BuildManyWorkspaces(const std::string& dir, size_t workspaces,
                                 size_t contacts, size_t segments) {
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteCatalogStore> catalog,
                   SqliteCatalogStore::Open(dir, options));
  // Few open at a time: the build touches each workspace once.
  RegistryOptions registry_options;
  registry_options.max_open_workspaces = 16;
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   Registry::Open(std::move(catalog), BenchClock(), Limits(),
                                  registry_options));
  const int64_t start = NowNs();
  for (size_t i = 0; i < workspaces; ++i) {
    RETURN_IF_ERROR(FillWorkspace(*registry, i, contacts, segments));
    if (i % 500 == 499) {
      Progress(absl::StrCat("built ", i + 1, " workspaces in ",
                            SecondsSince(start), " s"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ManyWorkspacesKey(size_t index) {
  return absl::StrFormat("sk_%064x", index);
}

absl::StatusOr<CachedDataset> EnsureManyWorkspacesDataset(size_t workspaces,
                                                          size_t contacts,
                                                          size_t segments) {
  CachedDataset out;
  const std::string root =
      absl::StrCat(BenchCacheDir(), "/workspaces-v", kDatasetVersion, "-schema",
                   SqliteCatalogStore::SchemaVersion(), ".",
                   SqliteWorkspaceStore::SchemaVersion(), "-w", workspaces,
                   "-c", contacts, "-s", segments);
  out.path = root + "/data";
  if (fs::exists(root + "/" + kMarker)) return out;

  Progress(absl::StrCat("building the cached dataset ", root,
                        " (regenerated when missing)"));
  const int64_t start = NowNs();
  RemoveTree(root);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat(root, ": ", ec.message()));
  RETURN_IF_ERROR(
      BuildManyWorkspaces(out.path, workspaces, contacts, segments));
  std::ofstream(root + "/" + kMarker)
      << "workspaces " << workspaces << "\ncontacts " << contacts
      << "\nsegments " << segments << "\n";
  Progress(absl::StrCat("dataset built in ", SecondsSince(start), " s"));
  out.built_now = true;
  return out;
}

}  // namespace segments::bench
