#include "tests/cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "server/auth.h"

extern char** environ;

namespace segments::testing {
namespace {

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port on 127.0.0.1 that was free a moment ago (nginx binds it next; a
// start that loses the race is retried with another).
absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback port");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string FindNginx() {
  for (const char* path : {"/usr/sbin/nginx", "/usr/local/sbin/nginx",
                           "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Replaces the one occurrence of `from` in *text; an error naming it when
// it is missing, so a change of deploy/nginx/segments.conf that the
// harness no longer fills in fails loudly.
absl::Status ReplaceOnce(std::string* text, const std::string& from,
                         const std::string& to) {
  const size_t at = text->find(from);
  if (at == std::string::npos ||
      text->find(from, at + 1) != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        "deploy/nginx/segments.conf: expected \"", from, "\" exactly once"));
  }
  text->replace(at, from.size(), to);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadServiceConfig() {
  const std::string path =
      std::string(SEGMENTS_SOURCE_DIR) + "/deploy/grpc/service_config.json";
  std::string text = ReadWhole(path);
  if (text.empty()) return absl::NotFoundError("cannot read " + path);
  return text;
}

std::vector<RoutedCall> ParseAccessLog(const std::string& text) {
  std::vector<RoutedCall> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    RoutedCall r;
    bool in_upstream = false;
    // "upstream=a, b" when nginx tried two nodes: the addresses follow
    // until the next key=value field.
    for (absl::string_view field : absl::StrSplit(line, ' ')) {
      const bool keyed = absl::StrContains(field, '=');
      if (keyed) in_upstream = false;
      if (absl::ConsumePrefix(&field, "ws=")) r.workspace = std::string(field);
      if (absl::ConsumePrefix(&field, "upstream=")) in_upstream = true;
      if (in_upstream) {
        absl::ConsumeSuffix(&field, ",");
        if (!field.empty() && field != "-") r.tried.emplace_back(field);
      }
      // "grpc=<in headers>/<in trailers>", "-" for the one absent.
      if (absl::ConsumePrefix(&field, "grpc=")) {
        for (absl::string_view part : absl::StrSplit(field, '/')) {
          if (part != "-") r.grpc_status = std::string(part);
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// ChildProcess.

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    std::vector<std::string> argv, std::vector<std::string> env) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe failed");
  }
  child->pid_ = fork();
  if (child->pid_ < 0) return absl::InternalError("fork failed");
  if (child->pid_ == 0) {
    // Only async-signal-safe calls until exec. The child gets a process
    // group of its own: a ^C of the test does not reach it first, and the
    // destructor still kills it.
    setpgid(0, 0);
    dup2(pipe_fds[1], 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  child->stderr_fd_ = pipe_fds[0];
  ChildProcess* c = child.get();
  child->reader_ = std::thread([c] {
    char buffer[4096];
    while (true) {
      const ssize_t n = read(c->stderr_fd_, buffer, sizeof(buffer));
      if (n <= 0) break;
      absl::MutexLock lock(&c->mu_);
      c->stderr_.append(buffer, static_cast<size_t>(n));
    }
  });
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exited_) {
    // Its whole process group (the child made one of its own): nginx's
    // workers outlive a master killed alone, holding the port and the
    // test's stdout.
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0 && !exited_) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return status;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string ChildProcess::Stderr() {
  absl::MutexLock lock(&mu_);
  return stderr_;
}

// Cluster.

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(
    ClusterOptions options) {
  std::unique_ptr<Cluster> c(new Cluster());
  c->options_ = options;
  ASSIGN_OR_RETURN(c->service_config_, ReadServiceConfig());
  if (FindNginx().empty()) {
    return absl::FailedPreconditionError(
        "nginx is not installed (no /usr/sbin/nginx): run "
        "scripts/install-deps.sh (Debian package nginx)");
  }
  std::string tmpl = "/tmp/segments_cluster_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError("cannot create a temporary directory");
  }
  c->dir_ = tmpl;
  // nginx's workers (nobody, when root) open its temp paths in here.
  chmod(c->dir_.c_str(), 0755);
  ASSIGN_OR_RETURN(c->postgres_, PostgresServer::Start());
  ASSIGN_OR_RETURN(c->store_uri_, c->postgres_->FreshUri());
  c->nodes_.resize(options.nodes);
  for (int i = 0; i < options.nodes; ++i) {
    Node& node = c->nodes_[i];
    node.id = absl::StrCat("node", i);
    node.data_dir = absl::StrCat(c->dir_, "/", node.id);
    std::filesystem::create_directories(node.data_dir);
    RETURN_IF_ERROR(c->StartNode(node, /*port=*/0));
  }
  if (options.sqlite_node) {
    c->sqlite_ = Node();
    c->sqlite_->id = "sqlite";
    c->sqlite_->data_dir = c->dir_ + "/sqlite";
    std::filesystem::create_directories(c->sqlite_->data_dir);
    RETURN_IF_ERROR(c->StartNode(*c->sqlite_, 0, /*clustered=*/false));
  }
  RETURN_IF_ERROR(c->StartNginx());
  return c;
}

Cluster::~Cluster() {
  nginx_.reset();
  nodes_.clear();
  sqlite_.reset();
  postgres_.reset();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

absl::Status Cluster::StartNode(Node& node, int port, bool clustered) {
  std::vector<std::string> argv = {
      SEGMENTS_SERVER_BINARY,
      absl::StrCat("--listen=127.0.0.1:", port),
      "--data_dir=" + node.data_dir,
      // Quick drains in tests; the default grace is for production.
      "--shutdown_grace=2s",
  };
  if (!clustered) {
    // PostgreSQL here runs with fsync and synchronous_commit off
    // (postgres_server.h): SQLite's like of it is NORMAL.
    argv.push_back("--synchronous=NORMAL");
  } else {
    argv.push_back("--store=" + store_uri_);
    argv.push_back("--node_id=" + node.id);
    argv.push_back(absl::StrCat("--lease_ttl_ms=",
                                absl::ToInt64Milliseconds(options_.lease_ttl)));
  }
  argv.insert(argv.end(), options_.node_flags.begin(),
              options_.node_flags.end());
  ASSIGN_OR_RETURN(
      node.process,
      ChildProcess::Start(
          argv, {absl::StrCat("SEGMENTS_ADMIN_KEY=", kClusterAdminKey)}));
  // "listening on 127.0.0.1:<port> (plaintext)".
  const std::string marker = "listening on 127.0.0.1:";
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    const std::string text = node.process->Stderr();
    const size_t at = text.find(marker);
    if (at != std::string::npos) {
      const size_t begin = at + marker.size();
      const size_t end = text.find(' ', begin);
      if (end != std::string::npos &&
          absl::SimpleAtoi(text.substr(begin, end - begin), &node.port)) {
        return absl::OkStatus();
      }
    }
    if (node.process->WaitForExit(absl::ZeroDuration()).has_value()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::InternalError(
      absl::StrCat(node.id, " did not start: ", node.process->Stderr()));
}

absl::Status Cluster::StartNginx() {
  std::string site = ReadWhole(std::string(SEGMENTS_SOURCE_DIR) +
                               "/deploy/nginx/segments.conf");
  if (site.empty()) {
    return absl::NotFoundError("cannot read deploy/nginx/segments.conf");
  }
  std::string servers;
  for (const Node& node : nodes_) {
    absl::StrAppend(&servers, "    server 127.0.0.1:", node.port,
                    " max_fails=1 fail_timeout=2s;\n");
  }
  for (const char* line :
       {"    server 10.0.0.1:50051 max_fails=1 fail_timeout=2s;\n",
        "    server 10.0.0.2:50051 max_fails=1 fail_timeout=2s;\n"}) {
    RETURN_IF_ERROR(ReplaceOnce(&site, line, ""));
  }
  RETURN_IF_ERROR(ReplaceOnce(
      &site, "    server 10.0.0.3:50051 max_fails=1 fail_timeout=2s;\n",
      servers));
  RETURN_IF_ERROR(
      ReplaceOnce(&site, "/var/log/nginx/segments.log", dir_ + "/access.log"));
  const std::string site_template = site;
  // Run as root, the master hands the workers to nobody (the `user`
  // directive is ignored, with a warning, otherwise).
  const std::string user = geteuid() == 0 && getpwnam("nobody") != nullptr
                               ? "user nobody nogroup;\n"
                               : "";
  absl::Status last = absl::OkStatus();
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(proxy_port_, FreeLoopbackPort());
    site = site_template;
    RETURN_IF_ERROR(
        ReplaceOnce(&site, "listen 50050 http2;",
                    absl::StrCat("listen 127.0.0.1:", proxy_port_, " http2;")));
    const std::string conf = absl::StrCat(
        user, "daemon off;\nmaster_process on;\nworker_processes 1;\n", "pid ",
        dir_, "/nginx.pid;\nerror_log ", dir_,
        "/error.log warn;\nevents { worker_connections 1024; }\nhttp {\n",
        "  client_body_temp_path ", dir_, "/client_body;\n",
        "  proxy_temp_path ", dir_, "/proxy;\n", "  fastcgi_temp_path ", dir_,
        "/fastcgi;\n", "  uwsgi_temp_path ", dir_, "/uwsgi;\n",
        "  scgi_temp_path ", dir_, "/scgi;\n", site, "}\n");
    std::ofstream(dir_ + "/nginx.conf") << conf;
    ASSIGN_OR_RETURN(nginx_, ChildProcess::Start({FindNginx(), "-p", dir_ + "/",
                                                  "-e", dir_ + "/error.log",
                                                  "-c", dir_ + "/nginx.conf"}));
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline && !Accepts(proxy_port_) &&
           !nginx_->WaitForExit(absl::ZeroDuration()).has_value()) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (!nginx_->exited() && Accepts(proxy_port_)) return absl::OkStatus();
    last = absl::InternalError(absl::StrCat(
        "nginx did not start: ", nginx_->Stderr(), NginxErrorLog()));
    nginx_.reset();
  }
  return last;
}

std::string Cluster::proxy_address() const {
  return absl::StrCat("127.0.0.1:", proxy_port_);
}

std::string Cluster::node_address(int node) const {
  return absl::StrCat("127.0.0.1:", nodes_[node].port);
}

std::string Cluster::sqlite_address() const {
  return sqlite_.has_value() ? absl::StrCat("127.0.0.1:", sqlite_->port) : "";
}

std::shared_ptr<grpc::Channel> Cluster::SqliteChannel() const {
  return Channel(sqlite_address(), /*retries=*/true);
}

int Cluster::NodeAt(const std::string& address) const {
  for (int i = 0; i < nodes(); ++i) {
    if (node_address(i) == address) return i;
  }
  return -1;
}

std::shared_ptr<grpc::Channel> Cluster::Channel(const std::string& address,
                                                bool retries) const {
  grpc::ChannelArguments args;
  if (retries) {
    args.SetServiceConfigJSON(service_config_);
  } else {
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  }
  // A connection of its own per channel (no subchannel sharing), so that
  // concurrent clients do not queue behind one connection's streams.
  static std::atomic<int> salt{0};
  args.SetInt("segments.cluster.channel", salt.fetch_add(1));
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

std::shared_ptr<grpc::Channel> Cluster::ProxyChannel(bool retries) const {
  return Channel(proxy_address(), retries);
}

std::shared_ptr<grpc::Channel> Cluster::NodeChannel(int node,
                                                    bool retries) const {
  return Channel(node_address(node), retries);
}

void Cluster::Kill(int node) {
  nodes_[node].process->Signal(SIGKILL);
  nodes_[node].process->WaitForExit(absl::Seconds(10));
}

void Cluster::Pause(int node) { nodes_[node].process->Signal(SIGSTOP); }

void Cluster::Resume(int node) { nodes_[node].process->Signal(SIGCONT); }

absl::Status Cluster::Restart(int node) {
  Node& n = nodes_[node];
  if (!n.process->exited()) {
    return absl::FailedPreconditionError(n.id + " still runs");
  }
  return StartNode(n, n.port);
}

std::optional<int> Cluster::Terminate(int node, absl::Duration timeout) {
  nodes_[node].process->Signal(SIGTERM);
  return nodes_[node].process->WaitForExit(timeout);
}

std::string Cluster::NodeStderr(int node) {
  return nodes_[node].process->Stderr();
}

std::string Cluster::AccessLog() const {
  return ReadWhole(dir_ + "/access.log");
}

std::vector<RoutedCall> Cluster::RoutedCalls(size_t at_least) const {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::vector<RoutedCall> calls = ParseAccessLog(AccessLog());
  while (calls.size() < at_least && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
    calls = ParseAccessLog(AccessLog());
  }
  return calls;
}

int Cluster::LastNodeOf(uint64_t workspace, size_t at_least) const {
  int node = -1;
  const std::string routing_id = WorkspaceRoutingId(workspace);
  for (const RoutedCall& r : RoutedCalls(at_least)) {
    if (r.workspace == routing_id) node = NodeAt(r.upstream());
  }
  return node;
}

std::string Cluster::NginxErrorLog() const {
  return ReadWhole(dir_ + "/error.log");
}

}  // namespace segments::testing
