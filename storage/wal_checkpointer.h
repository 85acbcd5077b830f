// Checkpoints a WAL-mode database on a background thread, so that copying
// committed pages into the database file (and its fsync) is not paid inside
// a commit. SQLite's automatic checkpoint runs in the committing thread,
// after the commit and before the caller gets its answer: with batches of
// thousands of contacts that is every other batch, and a tenth of its time.
//
// Start replaces the writer connection's automatic checkpoint with a hook
// that wakes the thread once the WAL holds `pages` pages after a commit. The
// thread runs a PASSIVE checkpoint on its own connection: it never blocks
// the writer nor readers, and copies what they no longer need. Should the WAL
// still reach kHardLimitFactor times `pages` (a writer faster than the
// checkpoints), the commit checkpoints itself, as SQLite would, so the WAL
// stays bounded.
//
// Thread-safety: the hook runs on the writer's thread (whoever holds the
// writer connection); the rest is internal. Destroy the checkpointer before
// the writer connection.
#ifndef SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_
#define SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/sqlite_db.h"

namespace segments {

class WalCheckpointer {
 public:
  static constexpr int kHardLimitFactor = 8;

  // Opens its own connection to `writer`'s database and starts the thread.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      SqliteDb* writer, int pages, int busy_timeout_ms);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Background checkpoints run so far (for tests and diagnostics).
  int64_t checkpoints() const;
  // Checkpoints a commit past the hard limit ran itself.
  int64_t writer_checkpoints() const;

 private:
  WalCheckpointer(SqliteDb* writer, std::unique_ptr<SqliteDb> own, int pages);
  // sqlite3_wal_hook's callback.
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return wanted_ || stopping_;
  }

  SqliteDb* const writer_;
  const std::unique_ptr<SqliteDb> own_;  // used by the thread only
  const int pages_;

  mutable absl::Mutex mu_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t writer_checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_
