// A PostgreSQL server for tests: initdb in a temporary directory, started
// on a unix socket in that directory (no TCP port), stopped and removed at
// the end of the test binary. PostgreSQL refuses to run as root, so as root
// it runs as the `postgres` user (Debian's postgresql package creates it),
// else as `nobody`, via runuser; as any other user, as that user.
//
// Started once per test binary (Shared), with durability off (fsync,
// synchronous_commit, full_page_writes): the tests are about behaviour,
// and each takes a fresh schema (FreshConninfo) in milliseconds.
#ifndef SEGMENTS_TESTS_TESTING_POSTGRES_SERVER_H_
#define SEGMENTS_TESTS_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace segments::testing {

class PostgresServer {
 public:
  // The binary's server, started at the first call. nullptr, with the
  // reason in *why_not, when PostgreSQL's binaries are not installed (see
  // scripts/install-deps.sh) or it cannot start here; later calls give the
  // same answer.
  static PostgresServer* Shared(std::string* why_not);

  // Starts a server of its own (for tests that kill or restart one).
  // `durable`: fsync and synchronous_commit on, as in production (for
  // benchmarks beside SQLite's FULL); else both off.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      bool durable = false);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The libpq connection string of a new, empty place for a store: a
  // schema of its own in database "postgres", made the connection's whole
  // search_path (the store's statements name no schema). Milliseconds,
  // where CREATE DATABASE takes most of a second.
  absl::StatusOr<std::string> FreshConninfo();
  // The same as a postgresql:// URI (what --store takes).
  absl::StatusOr<std::string> FreshUri();
  // The connection string of database `db` on this server.
  std::string Conninfo(const std::string& db) const;
  // Stops the server: `crash` at once (pg_ctl stop -m immediate), as a
  // crash would, else cleanly (-m fast). With durability off, a crash may
  // lose the last commits: tests that restart and read stop cleanly.
  void Stop(bool crash = false);
  // Starts it again after Stop, on the same data and socket.
  absl::Status Restart();

 private:
  PostgresServer() = default;
  // Creates a new schema; returns its name.
  absl::StatusOr<std::string> FreshSchema();
  std::string dir_;      // socket, log and data/
  std::string bin_dir_;  // /usr/lib/postgresql/<version>/bin
  std::string run_as_;   // "runuser -u postgres -- " or ""
  bool running_ = false;
  bool durable_ = false;
  int databases_ = 0;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_POSTGRES_SERVER_H_
