// Batch upsert throughput into the stores themselves (issue 17): one
// WorkspaceStore::Commit of a batch of new contacts (the rows a
// BatchUpsertContacts of that many commits, plus the counters), into
// SQLite (FULL and NORMAL) and into PostgreSQL (durable: fsync and
// synchronous_commit on; and with synchronous_commit off, the analogue of
// NORMAL), side by side in one run. PostgreSQL is a server this binary
// starts on a unix socket (tests/testing/postgres_server.h); skipped
// without PostgreSQL's binaries. No engine, no gRPC: the storage alone.
//
//   build-release/bench/bench_store_write --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/dataset.h"
#include "core/model/contact.h"
#include "storage/postgres/pg_catalog.h"
#include "storage/sqlite_catalog.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/temp_dir.h"

namespace segments::bench {
namespace {

// `count` normalized contacts from the dataset generator, ids from `first`.
std::vector<Contact> MakeContacts(ContactId first, size_t count) {
  static const ContactGenerator* const generator = new ContactGenerator();
  std::vector<Contact> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<Contact> c = NormalizeNewContact(
        generator->Make(first + i - 1), "contact", 1700000000);
    if (!c.ok()) continue;
    c->id = static_cast<ContactId>(first + i);
    out.push_back(*std::move(c));
  }
  return out;
}

// Commits batches of state.range(0) new contacts, one commit per iteration
// (1: the store's share of a single-contact write such as an update).
void RunBatches(benchmark::State& state, CatalogStore* catalog) {
  absl::StatusOr<NewWorkspaceStore> created = catalog->CreateWorkspaceStore();
  if (!created.ok()) {
    state.SkipWithError(created.status().ToString().c_str());
    return;
  }
  const size_t batch = static_cast<size_t>(state.range(0));
  ContactId next = 1;
  // Batches made up front, outside the timing.
  std::vector<WorkspaceWrite> writes(16);
  for (WorkspaceWrite& w : writes) {
    w.put_contacts = MakeContacts(next, batch);
    next += static_cast<ContactId>(batch);
  }
  size_t i = 0;
  for (auto _ : state) {
    WorkspaceWrite& w = writes[i % writes.size()];
    // A rerun of a batch replaces its rows: the same work as inserting.
    w.counters.next_contact_id = next;
    const absl::Status s = created->store->Commit(w);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

void BM_SqliteBatch(benchmark::State& state, bool full) {
  testing::TempDir dir("bench_store_write");
  SqliteOptions options;
  options.synchronous = full ? SqliteOptions::Synchronous::kFull
                             : SqliteOptions::Synchronous::kNormal;
  absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> catalog =
      SqliteCatalogStore::Open(dir.path(), options);
  if (!catalog.ok()) {
    state.SkipWithError(catalog.status().ToString().c_str());
    return;
  }
  RunBatches(state, catalog->get());
}

// One durable server for the binary, started at first use, stopped by main.
absl::StatusOr<std::unique_ptr<testing::PostgresServer>>& Server() {
  static auto* const server =
      new absl::StatusOr<std::unique_ptr<testing::PostgresServer>>(
          testing::PostgresServer::Start(/*durable=*/true));
  return *server;
}

void BM_PostgresBatch(benchmark::State& state, bool synchronous_commit) {
  if (!Server().ok()) {
    state.SkipWithError(Server().status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::string> conninfo = (*Server())->FreshConninfo();
  if (!conninfo.ok()) {
    state.SkipWithError(conninfo.status().ToString().c_str());
    return;
  }
  PgOptions options;
  options.conninfo = *conninfo;
  if (!synchronous_commit) {
    options.conninfo.pop_back();  // the closing quote of options='...'
    options.conninfo += " -c synchronous_commit=off'";
  }
  absl::StatusOr<std::unique_ptr<PgCatalogStore>> catalog =
      PgCatalogStore::Open(options);
  if (!catalog.ok()) {
    state.SkipWithError(catalog.status().ToString().c_str());
    return;
  }
  RunBatches(state, catalog->get());
}

BENCHMARK_CAPTURE(BM_SqliteBatch, full, true)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SqliteBatch, normal, false)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PostgresBatch, durable, true)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PostgresBatch, synchronous_commit_off, false)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime();

}  // namespace

void StopPostgres() {
  if (Server().ok()) Server()->reset();  // stops it, removes its directory
}

}  // namespace segments::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  segments::bench::StopPostgres();
  return 0;
}
