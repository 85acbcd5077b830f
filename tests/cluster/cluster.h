// A cluster for tests and benchmarks (docs/scale-out.md): a PostgreSQL
// server of its own (tests/testing/postgres_server.h), N real
// segments-server processes over it (--store postgres://..., --node_id,
// each with its own port and data directory), and nginx in front of them
// with the deployment's own config (deploy/nginx/segments.conf, its nodes,
// port and paths filled in). Everything listens on 127.0.0.1 only, runs in
// a temporary directory, and is stopped and removed with the object.
//
// No gtest in here: failures are statuses, so benchmarks use it too.
#ifndef SEGMENTS_TESTS_CLUSTER_CLUSTER_H_
#define SEGMENTS_TESTS_CLUSTER_CLUSTER_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/testing/postgres_server.h"

namespace segments::testing {

// One call as nginx logged it (deploy/nginx/segments.conf's
// segments_routing format).
struct RoutedCall {
  std::string workspace;  // the routing id nginx's map read, or ""
  // The nodes nginx tried, in order ("127.0.0.1:<port>"); the last one
  // answered, if any did.
  std::vector<std::string> tried;
  std::string grpc_status;  // the node's, "" if none answered
  const std::string& upstream() const {
    static const std::string none;
    return tried.empty() ? none : tried.back();
  }
};
std::vector<RoutedCall> ParseAccessLog(const std::string& text);

inline constexpr char kClusterAdminKey[] = "sk_admin_cluster_0123456789abcdef";

// A child process: argv[0] is exec'd with `env` added to this process's
// environment; its stderr is collected. Killed (SIGKILL) when destroyed if
// it still runs.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      std::vector<std::string> argv, std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);
  // The wait status, or nullopt if it has not exited within `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout);
  bool exited() const { return exited_; }
  std::string Stderr();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  bool exited_ = false;
  std::thread reader_;
  absl::Mutex mu_;
  std::string stderr_ ABSL_GUARDED_BY(mu_);
};

struct ClusterOptions {
  int nodes = 3;
  // --lease_ttl_ms of every node: how long a dead node's workspaces wait.
  absl::Duration lease_ttl = absl::Seconds(2);
  // More flags for every node.
  std::vector<std::string> node_flags;
  // Also one segments-server with the default store (SQLite in its data
  // directory, --synchronous=NORMAL as the test PostgreSQL is not durable
  // either), not behind nginx: for benchmarks beside it.
  bool sqlite_node = false;
};

class Cluster {
 public:
  // Starts PostgreSQL, the nodes, then nginx. FAILED_PRECONDITION when
  // PostgreSQL's or nginx's binaries are not installed (the message says
  // so and names scripts/install-deps.sh); other errors carry the failing
  // process's output.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int nodes() const { return static_cast<int>(nodes_.size()); }
  // "127.0.0.1:<port>".
  std::string proxy_address() const;
  std::string node_address(int node) const;
  // The SQLite node's (ClusterOptions::sqlite_node), "" without one.
  std::string sqlite_address() const;
  std::shared_ptr<grpc::Channel> SqliteChannel() const;
  const std::string& node_id(int node) const { return nodes_[node].id; }
  // The node listening on `address` ("127.0.0.1:<port>", as nginx logs
  // $upstream_addr), or -1.
  int NodeAt(const std::string& address) const;

  // Channels with the documented service config (deploy/grpc/
  // service_config.json: retries on UNAVAILABLE), each with a connection of
  // its own. Retries off with `retries` false, to see every refusal.
  std::shared_ptr<grpc::Channel> ProxyChannel(bool retries = true) const;
  std::shared_ptr<grpc::Channel> NodeChannel(int node,
                                             bool retries = true) const;

  // SIGKILL, SIGSTOP, SIGCONT of one node.
  void Kill(int node);
  void Pause(int node);
  void Resume(int node);
  // Starts a killed node again, on its port and data directory.
  absl::Status Restart(int node);
  // SIGTERM; the exit status, or nullopt if it has not exited within
  // `timeout`.
  std::optional<int> Terminate(int node, absl::Duration timeout);
  std::string NodeStderr(int node);

  // nginx's access log (deploy/nginx/segments.conf's segments_routing
  // format), one line per call.
  std::string AccessLog() const;
  // The calls in the access log, once it holds at least `at_least` (nginx
  // writes a line just after the answer, so a client that has its answer
  // may not see the line yet; waits up to 5 s).
  std::vector<RoutedCall> RoutedCalls(size_t at_least = 0) const;
  // The node nginx sent the last call of `workspace` to, or -1; waits as
  // RoutedCalls(at_least) does.
  int LastNodeOf(uint64_t workspace, size_t at_least = 0) const;
  std::string NginxErrorLog() const;
  PostgresServer& postgres() { return *postgres_; }
  const std::string& store_uri() const { return store_uri_; }

 private:
  struct Node {
    std::string id;
    std::string data_dir;
    int port = 0;
    std::unique_ptr<ChildProcess> process;
  };
  Cluster() = default;
  // A node of the cluster, or with `clustered` false one over SQLite.
  absl::Status StartNode(Node& node, int port, bool clustered = true);
  absl::Status StartNginx();
  std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                         bool retries) const;

  ClusterOptions options_;
  std::string dir_;
  std::string service_config_;
  std::unique_ptr<PostgresServer> postgres_;
  std::string store_uri_;
  std::vector<Node> nodes_;
  std::optional<Node> sqlite_;
  int proxy_port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
};

// The service config of deploy/grpc/service_config.json, as text.
absl::StatusOr<std::string> ReadServiceConfig();

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_CLUSTER_CLUSTER_H_
