// Checkpoints WAL-mode databases in the background, so that copying
// committed pages into the database file (and its fsync) is not paid inside
// a commit. SQLite's automatic checkpoint runs in the committing thread,
// after the commit and before the caller gets its answer: with batches of
// thousands of contacts that is every other batch, and a tenth of its time.
//
// A WalCheckpointer serves one database. Start replaces the writer
// connection's automatic checkpoint with a hook that, once the WAL holds
// `pages` pages after a commit, queues the database with a CheckpointPool.
// A pool thread then runs a PASSIVE checkpoint on the checkpointer's own
// connection: it never blocks the writer nor readers, and copies what they
// no longer need. Should the WAL still reach kHardLimitFactor times `pages`
// (a writer faster than the checkpoints), the commit checkpoints itself, as
// SQLite would, so the WAL stays bounded.
//
// One pool serves every open database of a server (SqliteCatalogStore owns
// it): its threads do not grow with the number of workspaces. A database
// waits in the queue at most once; the pool takes them in the order they
// asked.
//
// Thread-safety: the hook runs on the writer's thread (whoever holds the
// writer connection); the rest is internal. Destroy the checkpointer before
// the writer connection, and every checkpointer before its pool.
#ifndef SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_
#define SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/sqlite_db.h"

namespace segments {

class WalCheckpointer;

class CheckpointPool {
 public:
  // Checkpoints are mostly waits for the disk: two threads keep one large
  // workspace's checkpoint from holding up every other's.
  static constexpr int kDefaultThreads = 2;

  explicit CheckpointPool(int threads = kDefaultThreads);
  ~CheckpointPool();
  CheckpointPool(const CheckpointPool&) = delete;
  CheckpointPool& operator=(const CheckpointPool&) = delete;

  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  friend class WalCheckpointer;
  // Queues `c` unless it is queued already.
  void Want(WalCheckpointer* c) ABSL_LOCKS_EXCLUDED(mu_);
  // Unqueues `c`; when it returns, no thread runs or will run its
  // checkpoint. Leave must not race with a Want of the same `c` (its hook is
  // removed first).
  void Leave(WalCheckpointer* c) ABSL_LOCKS_EXCLUDED(mu_);
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  absl::Mutex mu_;
  absl::CondVar finished_;  // a checkpoint finished
  std::deque<WalCheckpointer*> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<WalCheckpointer*> queued_ ABSL_GUARDED_BY(mu_);
  // Each runs on one thread at a time (its connection is not thread-safe);
  // one that asks while it runs is queued again when it finishes.
  absl::flat_hash_set<WalCheckpointer*> running_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<WalCheckpointer*> again_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

class WalCheckpointer {
 public:
  static constexpr int kHardLimitFactor = 8;

  // Opens its own connection to `writer`'s database; its checkpoints run on
  // `pool`, which must outlive it.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      SqliteDb* writer, int pages, int busy_timeout_ms, CheckpointPool* pool);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Background checkpoints run so far (for tests and diagnostics).
  int64_t checkpoints() const;
  // Checkpoints a commit past the hard limit ran itself.
  int64_t writer_checkpoints() const;

 private:
  friend class CheckpointPool;
  WalCheckpointer(SqliteDb* writer, std::unique_ptr<SqliteDb> own, int pages,
                  CheckpointPool* pool);
  // sqlite3_wal_hook's callback.
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  // On a pool thread, never two at once for one checkpointer.
  void Checkpoint();

  SqliteDb* const writer_;
  const std::unique_ptr<SqliteDb> own_;  // used by Checkpoint only
  const int pages_;
  CheckpointPool* const pool_;

  mutable absl::Mutex mu_;
  int64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t writer_checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_WAL_CHECKPOINTER_H_
