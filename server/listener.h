// The server's own listening socket, handing accepted connections to gRPC
// (ServerBuilder's external connection acceptor).
//
// Why not gRPC's listener: in gRPC 1.51 an accept() failing with EMFILE or
// ENFILE (out of file descriptors) stops that listener for good; the server
// never accepts again, even after the connections close (issue 11). This
// one survives it: it keeps a reserve descriptor to accept and at once close
// a connection it has no room for, refuses connections that would leave
// fewer than `fd_headroom` descriptors free (SQLite, gRPC's own files), and
// goes on accepting when descriptors are free again.
//
// Thread-safety: Start and Stop from one thread; one accept thread inside.
#ifndef SEGMENTS_SERVER_LISTENER_H_
#define SEGMENTS_SERVER_LISTENER_H_

#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace segments {

class Listener {
 public:
  // Binds and listens on `address` ("host:port", "[v6]:port"; port 0 picks
  // a free port).
  static absl::StatusOr<std::unique_ptr<Listener>> Open(
      const std::string& address, int fd_headroom);
  ~Listener();  // Stops.
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }
  // Starts the accept thread; connections go to `acceptor` (not owned; it
  // must outlive Stop).
  void Start(grpc::experimental::ExternalConnectionAcceptor* acceptor);
  // Closes the socket: new connections are refused. Idempotent.
  void Stop();

  // Connections closed at once because descriptors ran short, since start.
  uint64_t refused() const { return refused_.load(); }

 private:
  Listener() = default;
  void Loop();
  // Accepts every pending connection; false when the socket failed.
  bool AcceptPending();
  void Refuse(int fd);

  int fd_ = -1;
  int wake_[2] = {-1, -1};
  int reserve_fd_ = -1;
  int port_ = 0;
  int fd_headroom_ = 0;
  grpc::experimental::ExternalConnectionAcceptor* acceptor_ = nullptr;
  std::thread thread_;
  std::atomic<uint64_t> refused_{0};
  int64_t last_warning_ns_ = 0;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_LISTENER_H_
