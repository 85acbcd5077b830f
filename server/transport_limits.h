// What one connection, one stream and the whole server may hold (SPEC §10,
// issue 11): the gRPC transport settings the server is built with. Limits
// gRPC 1.51 cannot enforce are left to a proxy in front (README.md, "Running
// it in production").
#ifndef SEGMENTS_SERVER_TRANSPORT_LIMITS_H_
#define SEGMENTS_SERVER_TRANSPORT_LIMITS_H_

#include <grpcpp/server_builder.h>

#include <cstddef>

#include "absl/time/time.h"

namespace segments {

struct TransportLimits {
  // Memory gRPC may allocate for connections, streams and their buffers
  // (grpc::ResourceQuota); under pressure gRPC reclaims buffers and cancels
  // streams. Header bytes received before the client acknowledges SETTINGS
  // are not counted (gRPC 1.51): a proxy must bound those.
  size_t memory_bytes = size_t{1} << 30;
  // Threads gRPC may start for synchronous handlers, all connections
  // together; a call finding none free fails with RESOURCE_EXHAUSTED.
  int max_threads = 256;
  // Streams (calls) open at once on one connection, and the sum of a call's
  // header (metadata) sizes. gRPC 1.51 enforces both only once the client
  // has acknowledged the server's SETTINGS.
  int max_concurrent_streams = 100;
  int max_metadata_bytes = 8 * 1024;
  // A connection with no call for this long is closed (GOAWAY).
  absl::Duration max_connection_idle = absl::Minutes(2);
  // A connection is closed after this long, then after `grace` more its
  // remaining calls are cancelled; clients reconnect.
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Minutes(1);
  // A connection that has not finished its TLS / HTTP/2 handshake within
  // this time is closed.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // The server pings an idle connection this often and closes it when the
  // ping is not answered within the timeout (dead peers).
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Client pings more often than this without data are strikes; two strikes
  // close the connection.
  absl::Duration min_client_ping_interval = absl::Seconds(30);
  // New connections are closed at once while fewer than this many file
  // descriptors are free (server/listener.h).
  int fd_headroom = 64;
};

// Applies `limits` to `builder`: the resource quota and channel arguments.
void ApplyTransportLimits(const TransportLimits& limits,
                          grpc::ServerBuilder& builder);

}  // namespace segments

#endif  // SEGMENTS_SERVER_TRANSPORT_LIMITS_H_
