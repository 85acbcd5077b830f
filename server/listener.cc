#include "server/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"

namespace segments {
namespace {

constexpr int kBacklog = 1024;

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
}

// The soft descriptor limit, or a large number when unlimited.
int64_t DescriptorLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return int64_t{1} << 30;
  return static_cast<int64_t>(limit.rlim_cur);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::Open(
    const std::string& address, int fd_headroom) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address ", address, " is not host:port"));
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(),
                       &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", address, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<Listener> l(new Listener());
  l->fd_headroom_ = fd_headroom;
  absl::Status error =
      absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  // One socket. No host: every interface, IPv6 first (one dual-stack socket
  // serves IPv4 too). A name with both (localhost): its IPv4 address first,
  // which clients fall back to.
  const int first = host.empty() ? AF_INET6 : AF_INET;
  std::vector<addrinfo*> candidates;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == first) candidates.push_back(a);
  }
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family != first) candidates.push_back(a);
  }
  for (addrinfo* a : candidates) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    a->ai_protocol);
    if (fd < 0) {
      error = Errno("socket");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->ai_family == AF_INET6) {
      int zero = 0;  // "[::]" serves IPv4 too
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
      error = Errno(absl::StrCat("cannot listen on ", address));
      close(fd);
      continue;
    }
    l->fd_ = fd;
    break;
  }
  freeaddrinfo(found);
  if (l->fd_ < 0) return error;
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(l->fd_, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return Errno("getsockname");
  }
  l->port_ = bound.ss_family == AF_INET6
                 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                 : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (pipe2(l->wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Errno("pipe2");
  l->reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return l;
}

Listener::~Listener() {
  Stop();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
  if (reserve_fd_ >= 0) close(reserve_fd_);
}

void Listener::Start(grpc::experimental::ExternalConnectionAcceptor* acceptor) {
  acceptor_ = acceptor;
  thread_ = std::thread([this] { Loop(); });
}

void Listener::Stop() {
  if (thread_.joinable()) {
    char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

void Listener::Loop() {
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogEvent(absl::StrCat("listener stopped: poll: ", strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0 && !AcceptPending()) return;
  }
}

bool Listener::AcceptPending() {
  while (true) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
          continue;
        case EAGAIN:
          return true;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          // No descriptor for it: take the reserve one to accept the
          // connection and close it, so it does not stay pending (and poll
          // does not spin on it).
          if (reserve_fd_ >= 0) {
            close(reserve_fd_);
            reserve_fd_ = -1;
            int pending = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (pending >= 0) Refuse(pending);
            reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
            continue;
          }
          // Not even the reserve: wait a little for descriptors to free up.
          Refuse(-1);
          absl::SleepFor(absl::Milliseconds(10));
          return true;
        default:
          LogEvent(absl::StrCat("listener stopped: accept: ", strerror(errno)));
          return false;
      }
    }
    // Descriptors are allocated lowest first: a number this high means
    // nearly all below it are in use.
    if (fd >= DescriptorLimit() - fd_headroom_) {
      Refuse(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = fd_;
    p.fd = fd;
    acceptor_->HandleNewConnection(&p);
  }
}

void Listener::Refuse(int fd) {
  if (fd >= 0) close(fd);
  uint64_t refused = refused_.fetch_add(1) + 1;
  // At most one line a minute.
  int64_t now = absl::GetCurrentTimeNanos();
  if (now - last_warning_ns_ >= absl::ToInt64Nanoseconds(absl::Minutes(1))) {
    last_warning_ns_ = now;
    LogEvent(absl::StrCat(
        "warning: out of file descriptors; closing new connections (", refused,
        " so far); raise the descriptor limit or bound connections "
        "in a proxy"));
  }
}

}  // namespace segments
