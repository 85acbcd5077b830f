#include "tests/testing/postgres_server.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "storage/postgres/pg_conn.h"

namespace segments::testing {
namespace {

// The newest installed server's bin directory, or "".
std::string FindBinDir() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = entry.path().string() + "/bin";
    if (access((bin + "/initdb").c_str(), X_OK) == 0 &&
        access((bin + "/pg_ctl").c_str(), X_OK) == 0) {
      found.push_back(bin);
    }
  }
  if (found.empty()) return "";
  // "15" before "16"; numeric versions of equal length sort as numbers.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return found.back();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

PostgresServer* PostgresServer::Shared(std::string* why_not) {
  static std::string* const error = new std::string();
  static PostgresServer* const server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = Start();
    if (!started.ok()) {
      *error = std::string(started.status().message());
      return static_cast<PostgresServer*>(nullptr);
    }
    PostgresServer* s = started->release();
    // Stopped when the test binary exits.
    std::atexit([] { delete Shared(nullptr); });
    return s;
  }();
  if (server == nullptr && why_not != nullptr) *why_not = *error;
  return server;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    bool durable) {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->durable_ = durable;
  s->bin_dir_ = FindBinDir();
  if (s->bin_dir_.empty()) {
    return absl::FailedPreconditionError(
        "PostgreSQL server binaries are not installed (no "
        "/usr/lib/postgresql/*/bin/initdb): run scripts/install-deps.sh "
        "(Debian package postgresql)");
  }
  std::string user;
  if (geteuid() == 0) {
    for (const char* candidate : {"postgres", "nobody"}) {
      if (getpwnam(candidate) != nullptr) {
        user = candidate;
        break;
      }
    }
    if (user.empty()) {
      return absl::FailedPreconditionError(
          "running as root, and neither a postgres nor a nobody user exists "
          "to run PostgreSQL as (it refuses to run as root)");
    }
    if (access("/usr/sbin/runuser", X_OK) != 0 &&
        access("/sbin/runuser", X_OK) != 0) {
      return absl::FailedPreconditionError(
          "running as root without runuser to start PostgreSQL as " + user);
    }
    s->run_as_ = absl::StrCat("runuser -u ", user, " -- ");
  }
  // Short: the socket path must fit in 107 bytes.
  std::string tmpl = "/tmp/segments_pg_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError("cannot create a temporary directory");
  }
  s->dir_ = tmpl;
  if (!user.empty()) {
    const passwd* pw = getpwnam(user.c_str());
    if (chown(s->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("cannot chown " + s->dir_ + " to " + user);
    }
  }
  chmod(s->dir_.c_str(), 0700);
  const std::string log = s->dir_ + "/log";
  const std::string initdb = absl::StrCat(
      s->run_as_, s->bin_dir_, "/initdb -D ", s->dir_,
      "/data -A trust -U segments -E UTF8 --no-sync > ", log, " 2>&1");
  if (std::system(initdb.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("initdb failed: ", initdb, "\n", ReadFile(log)));
  }
  RETURN_IF_ERROR(s->Restart());
  return s;
}

absl::Status PostgresServer::Restart() {
  if (running_) return absl::OkStatus();
  const std::string log = dir_ + "/log";
  const std::string start = absl::StrCat(
      run_as_, bin_dir_, "/pg_ctl -D ", dir_, "/data -l ", dir_,
      "/server.log -w -t 60 -o \"-k ", dir_, " -c listen_addresses=''",
      durable_ ? ""
               : " -F -c synchronous_commit=off -c "
                 "full_page_writes=off",
      " -c max_connections=200 -c shared_buffers=32MB\" start >> ", log,
      " 2>&1");
  if (std::system(start.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl start failed: ", start,
                                            "\n", ReadFile(log),
                                            ReadFile(dir_ + "/server.log")));
  }
  running_ = true;
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  Stop(/*crash=*/true);  // its data goes with it
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void PostgresServer::Stop(bool crash) {
  if (!running_) return;
  running_ = false;
  const std::string stop =
      absl::StrCat(run_as_, bin_dir_, "/pg_ctl -D ", dir_, "/data -m ",
                   crash ? "immediate" : "fast", " -w stop > /dev/null 2>&1");
  (void)std::system(stop.c_str());
}

std::string PostgresServer::Conninfo(const std::string& db) const {
  return absl::StrCat("host=", dir_, " user=segments dbname=", db);
}

absl::StatusOr<std::string> PostgresServer::FreshSchema() {
  // A schema per test in one database: CREATE DATABASE takes most of a
  // second, CREATE SCHEMA milliseconds, and the store's statements name
  // no schema, so search_path makes it the store's whole world.
  const std::string schema = absl::StrCat("s_", getpid(), "_", ++databases_);
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn,
                   PgConn::Connect(Conninfo("postgres")));
  RETURN_IF_ERROR(
      conn->Exec(absl::StrCat("CREATE SCHEMA ", PgQuoteIdentifier(schema))));
  return schema;
}

absl::StatusOr<std::string> PostgresServer::FreshConninfo() {
  ASSIGN_OR_RETURN(std::string schema, FreshSchema());
  return absl::StrCat(Conninfo("postgres"), " options='-c search_path=", schema,
                      "'");
}

absl::StatusOr<std::string> PostgresServer::FreshUri() {
  ASSIGN_OR_RETURN(std::string schema, FreshSchema());
  // The socket directory and options as query parameters, percent-encoded
  // (the temporary directory's name is [/A-Za-z0-9_]).
  std::string host;
  for (char c : dir_) host += c == '/' ? std::string("%2F") : std::string(1, c);
  return absl::StrCat("postgresql:///postgres?host=", host,
                      "&user=segments&options=-c%20search_path%3D", schema);
}

}  // namespace segments::testing
