#include "bench/engine_fixture.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/dataset.h"
#include "core/base/status_macros.h"
#include "tests/testing/memory_store.h"

namespace segments::bench {
namespace {

struct EngineState {
  std::unique_ptr<Registry> registry;  // kMemory only
  std::shared_ptr<Workspace> workspace;
};

class DiscardingStore : public WorkspaceStore {
 public:
  absl::StatusOr<WorkspaceData> LoadStreaming(const ContactSink&) override {
    return WorkspaceData();
  }
  absl::Status Commit(const WorkspaceWrite&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(uint64_t,
                                                            size_t) override {
    return std::vector<MembershipChange>();
  }
};

absl::StatusOr<EngineState> BuildEngine(size_t contacts, EngineStore store) {
  EngineState state;
  if (store == EngineStore::kMemory) {
    auto storage = std::make_shared<MemoryStorage>();
    ASSIGN_OR_RETURN(
        state.registry,
        Registry::Open(std::make_unique<MemoryCatalogStore>(storage),
                       BenchClock(), Limits()));
    // The key hash only has to be unique in the registry.
    ASSIGN_OR_RETURN(WorkspaceRecord record,
                     state.registry->CreateWorkspace("bench", Plan::kPro,
                                                     std::string(32, '\x42')));
    ASSIGN_OR_RETURN(state.workspace, state.registry->Find(record.id));
  } else {
    ASSIGN_OR_RETURN(
        std::unique_ptr<Workspace> ws,
        Workspace::Open(1, Plan::kPro, std::make_unique<DiscardingStore>(),
                        BenchClock(), Limits()));
    state.workspace = std::move(ws);
  }
  RETURN_IF_ERROR(LoadContacts(*state.workspace, 0, contacts));
  return state;
}

}  // namespace

size_t EnvCount(const char* name, size_t fallback) {
  const char* env = std::getenv(name);
  size_t n = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &n) && n > 0) return n;
  return fallback;
}

size_t BenchContacts() { return EnvCount("SEGMENTS_BENCH_CONTACTS", 1000000); }

const Clock* BenchClock() {
  static const FakeClock* const kClock = new FakeClock(kBenchNow);
  return kClock;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(int64_t start_ns) { return (NowNs() - start_ns) * 1e-9; }

void Progress(const std::string& message) {
  std::fprintf(stderr, "[bench] %s\n", message.c_str());
}

absl::Status LoadContacts(Workspace& ws, uint64_t first, size_t count) {
  const ContactGenerator gen;
  const int64_t start = NowNs();
  for (size_t done = 0; done < count; done += kLoadChunk) {
    const size_t n = std::min(kLoadChunk, count - done);
    std::vector<ContactDraft> chunk = gen.MakeRange(first + done, n);
    ASSIGN_OR_RETURN(BatchUpsertResult result,
                     ws.BatchUpsertContacts(chunk, {}));
    if (result.created != n) {
      return absl::InternalError(absl::StrCat(
          "expected ", n, " new contacts, got ", result.created, " created"));
    }
    if ((done / kLoadChunk) % 20 == 19) {
      Progress(absl::StrCat("loaded ", done + n, " contacts in ",
                            SecondsSince(start), " s"));
    }
  }
  return absl::OkStatus();
}

Workspace& EngineWorkspace(size_t contacts, EngineStore store) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* engines =
      new std::map<std::pair<size_t, EngineStore>, EngineState>();
  absl::MutexLock lock(&mu);
  auto it = engines->find({contacts, store});
  if (it == engines->end()) {
    Progress(absl::StrCat(
        "building an in-memory workspace of ", contacts, " contacts",
        store == EngineStore::kDiscard ? " (commits discarded)" : ""));
    const int64_t start = NowNs();
    absl::StatusOr<EngineState> state = BuildEngine(contacts, store);
    if (!state.ok()) {
      std::fprintf(stderr, "cannot build the engine fixture: %s\n",
                   state.status().ToString().c_str());
      std::abort();
    }
    Progress(absl::StrCat("workspace ready in ", SecondsSince(start), " s"));
    it = engines->emplace(std::make_pair(contacts, store), *std::move(state))
             .first;
  }
  return *it->second.workspace;
}

absl::StatusOr<std::vector<SegmentId>> EnsureSegmentCount(Workspace& ws,
                                                          size_t n) {
  std::vector<SegmentView> views;
  bool more = true;
  while (more) {
    Page<SegmentView> page =
        ws.ListSegments(views.empty() ? 0 : views.back().record.id, 1000);
    views.insert(views.end(), page.items.begin(), page.items.end());
    more = page.more;
  }
  while (views.size() > n) {
    RETURN_IF_ERROR(ws.DeleteSegment(views.back().record.id));
    views.pop_back();
  }
  if (views.size() < n) {
    const int64_t start = NowNs();
    const SegmentGenerator gen;
    for (size_t i = views.size(); i < n; ++i) {
      ASSIGN_OR_RETURN(SegmentView view, ws.CreateSegment(gen.Make(i)));
      views.push_back(std::move(view));
    }
    Progress(absl::StrCat("segments now ", n, " (built in ",
                          SecondsSince(start), " s)"));
  }
  std::vector<SegmentId> ids;
  ids.reserve(views.size());
  for (const SegmentView& v : views) ids.push_back(v.record.id);
  return ids;
}

}  // namespace segments::bench
