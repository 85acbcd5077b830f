#include "storage/wal_checkpointer.h"

#include <algorithm>
#include <utility>

namespace segments {

CheckpointPool::CheckpointPool(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] { Run(); });
  }
}

CheckpointPool::~CheckpointPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void CheckpointPool::Want(WalCheckpointer* c) {
  absl::MutexLock lock(&mu_);
  if (running_.contains(c)) {
    // Never two threads on one connection: queued again when it finishes.
    again_.insert(c);
  } else if (queued_.insert(c).second) {
    queue_.push_back(c);
  }
}

void CheckpointPool::Leave(WalCheckpointer* c) {
  absl::MutexLock lock(&mu_);
  // First the checkpoint under way, which may queue it again as it ends.
  while (running_.contains(c)) finished_.Wait(&mu_);
  again_.erase(c);
  if (queued_.erase(c) != 0) {
    queue_.erase(std::find(queue_.begin(), queue_.end(), c));
  }
}

void CheckpointPool::Run() {
  while (true) {
    WalCheckpointer* c = nullptr;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &CheckpointPool::HasWork));
      if (stopping_) return;
      c = queue_.front();
      queue_.pop_front();
      queued_.erase(c);
      running_.insert(c);
    }
    c->Checkpoint();
    absl::MutexLock lock(&mu_);
    running_.erase(c);
    if (again_.erase(c) != 0 && queued_.insert(c).second) queue_.push_back(c);
    finished_.SignalAll();
  }
}

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    SqliteDb* writer, int pages, int busy_timeout_ms, CheckpointPool* pool) {
  absl::StatusOr<std::unique_ptr<SqliteDb>> own =
      SqliteDb::Open(writer->path(), /*create=*/false, busy_timeout_ms);
  if (!own.ok()) return own.status();
  // Read once now, so the connection has the WAL and its index open before
  // anything (a deleted workspace's files, say) could change under it.
  if (absl::StatusOr<int64_t> read =
          (*own)->QueryInt("SELECT COUNT(*) FROM sqlite_master");
      !read.ok()) {
    return read.status();
  }
  std::unique_ptr<WalCheckpointer> c(
      new WalCheckpointer(writer, *std::move(own), pages, pool));
  sqlite3_wal_hook(writer->raw(), &WalCheckpointer::OnCommit, c.get());
  return c;
}

WalCheckpointer::WalCheckpointer(SqliteDb* writer,
                                 std::unique_ptr<SqliteDb> own, int pages,
                                 CheckpointPool* pool)
    : writer_(writer), own_(std::move(own)), pages_(pages), pool_(pool) {}

WalCheckpointer::~WalCheckpointer() {
  // Back to SQLite's own automatic checkpoint (which replaces the hook) for
  // the writer's last commits (there should be none: the owner is closing).
  sqlite3_wal_autocheckpoint(writer_->raw(), pages_);
  pool_->Leave(this);
}

int64_t WalCheckpointer::checkpoints() const {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

int64_t WalCheckpointer::writer_checkpoints() const {
  absl::MutexLock lock(&mu_);
  return writer_checkpoints_;
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* name,
                              int pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (pages >= c->pages_ * kHardLimitFactor) {
    // The background checkpoints do not keep up: the writer helps, as
    // SQLite's automatic checkpoint would. Errors (e.g. a checkpoint already
    // running) leave the WAL as it is, which the next commit retries.
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr) == SQLITE_OK) {
      absl::MutexLock lock(&c->mu_);
      ++c->writer_checkpoints_;
    }
  } else if (pages >= c->pages_) {
    c->pool_->Want(c);
  }
  return SQLITE_OK;
}

void WalCheckpointer::Checkpoint() {
  // PASSIVE: copies the frames no reader needs, without waiting. A failure
  // (busy, I/O) is retried after the next commit that wants one.
  if (sqlite3_wal_checkpoint_v2(own_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                nullptr, nullptr) == SQLITE_OK) {
    absl::MutexLock lock(&mu_);
    ++checkpoints_;
  }
}

}  // namespace segments
