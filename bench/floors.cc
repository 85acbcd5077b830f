#include "bench/floors.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "core/base/status_macros.h"
#include "storage/workspace_rows.h"

namespace segments::bench {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A connected pair of loopback TCP sockets (client, server side), with
// TCP_NODELAY as gRPC sets it.
absl::Status LoopbackPair(int* client, int* server) {
  Fd listener(socket(AF_INET, SOCK_STREAM, 0));
  if (listener.get() < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listener.get(), 1) != 0 ||
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) !=
          0) {
    return Errno("listen");
  }
  *client = socket(AF_INET, SOCK_STREAM, 0);
  if (*client < 0) return Errno("socket");
  if (connect(*client, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return Errno("connect");
  }
  *server = accept(listener.get(), nullptr, nullptr);
  if (*server < 0) return Errno("accept");
  const int one = 1;
  setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDb>> OpenEmptyWorkspaceDb(
    const std::string& path, SqliteOptions::Synchronous sync) {
  SqliteOptions options;
  options.synchronous = sync;
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> db,
      OpenAndMigrate(path, options, kWorkspaceAppId, WorkspaceMigrations()));
  // The service's writer checkpoints on a background thread
  // (storage/wal_checkpointer.h), never inside a commit.
  sqlite3_wal_autocheckpoint(db->raw(), 0);
  return db;
}

absl::StatusOr<int64_t> TimedContactInserts(
    SqliteDb& db, absl::Span<const Contact> contacts) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> upsert,
                   db.Prepare(kUpsertContactSql));
  std::string tags;
  const int64_t start = NowNs();
  SqliteTransaction transaction(&db);
  RETURN_IF_ERROR(transaction.Begin(/*immediate=*/true));
  for (const Contact& c : contacts) {
    BindContact(c, &tags, upsert.get());
    RETURN_IF_ERROR(upsert->Run());
  }
  RETURN_IF_ERROR(transaction.Commit());
  return NowNs() - start;
}

absl::StatusOr<int64_t> TimedSequentialRead(
    const std::string& path, const std::vector<std::string>& queries,
    uint64_t* rows) {
  const int64_t start = NowNs();
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                   SqliteDb::Open(path, /*create=*/false, 5000));
  uint64_t bytes = 0;
  *rows = 0;
  for (const std::string& sql : queries) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db->raw(), sql.c_str(), -1, &raw, nullptr);
    if (rc != SQLITE_OK) return db->Error(rc, sql);
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      ++*rows;
      const int columns = sqlite3_column_count(raw);
      for (int i = 0; i < columns; ++i) {
        const int type = sqlite3_column_type(raw, i);
        if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
          const auto* p =
              static_cast<const unsigned char*>(sqlite3_column_blob(raw, i));
          const int n = sqlite3_column_bytes(raw, i);
          bytes += static_cast<uint64_t>(n) + (n > 0 ? p[0] : 0);
        } else {
          bytes += static_cast<uint64_t>(sqlite3_column_int64(raw, i));
        }
      }
    }
    sqlite3_finalize(raw);
    if (rc != SQLITE_DONE) return db->Error(rc, sql);
  }
  benchmark::DoNotOptimize(bytes);
  return NowNs() - start;
}

std::vector<Contact> NormalizedContacts(uint64_t first, size_t count) {
  const ContactGenerator gen;
  std::vector<Contact> out;
  out.reserve(count);
  for (uint64_t i = first; i < first + count; ++i) {
    absl::StatusOr<Contact> c =
        NormalizeNewContact(gen.Make(i), "contact", kBenchNow);
    if (!c.ok()) continue;  // the generator makes valid contacts only
    c->id = static_cast<ContactId>(i + 1);
    out.push_back(*std::move(c));
  }
  return out;
}

absl::StatusOr<double> FsyncsPerSecond(const std::string& dir, double seconds) {
  const std::string path = absl::StrCat(dir, "/fsync-probe");
  Fd fd(open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600));
  if (fd.get() < 0) return Errno(path);
  unlink(path.c_str());  // gone once closed
  // Written and synced whole first: the timed writes overwrite its blocks,
  // as commits overwrite a WAL that was reset after a checkpoint, so that
  // fdatasync has no file size to journal.
  constexpr size_t kBlock = 4096, kBlocks = 256;
  const std::string block(kBlock, 'x');
  for (size_t i = 0; i < kBlocks; ++i) {
    if (write(fd.get(), block.data(), kBlock) != static_cast<ssize_t>(kBlock)) {
      return Errno("write");
    }
  }
  if (fsync(fd.get()) != 0) return Errno("fsync");
  const int64_t start = NowNs();
  const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t syncs = 0;
  int64_t now = start;
  while (now < end) {
    const auto offset = static_cast<off_t>((syncs % kBlocks) * kBlock);
    if (pwrite(fd.get(), block.data(), kBlock, offset) !=
            static_cast<ssize_t>(kBlock) ||
        fdatasync(fd.get()) != 0) {
      return Errno("pwrite and fdatasync");
    }
    ++syncs;
    now = NowNs();
  }
  return static_cast<double>(syncs) * 1e9 / static_cast<double>(now - start);
}

absl::StatusOr<int64_t> TimedSocketTransfer(const std::vector<size_t>& sizes) {
  int client = -1, server = -1;
  absl::Status pair = LoopbackPair(&client, &server);
  Fd client_fd(client), server_fd(server);
  RETURN_IF_ERROR(pair);
  const size_t total = std::accumulate(sizes.begin(), sizes.end(), size_t{0});
  const size_t largest =
      sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  const std::string payload(largest, 'x');
  int64_t done_ns = 0;
  std::thread reader([&] {
    std::vector<char> buffer(1 << 20);
    size_t got = 0;
    while (got < total) {
      const ssize_t n = read(client, buffer.data(), buffer.size());
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    done_ns = NowNs();
  });
  const int64_t start = NowNs();
  bool ok = true;
  for (size_t size : sizes) {
    size_t sent = 0;
    while (ok && sent < size) {
      const ssize_t n = write(server, payload.data() + sent, size - sent);
      ok = n > 0;
      if (ok) sent += static_cast<size_t>(n);
    }
  }
  if (!ok) shutdown(server, SHUT_RDWR);  // ends the reader
  reader.join();
  if (!ok) return Errno("write");
  return done_ns - start;
}

void ReportRatio(benchmark::State& state, const char* name, double figure,
                 double baseline) {
  state.counters[name] = baseline > 0 ? figure / baseline : 0;
}

}  // namespace segments::bench
