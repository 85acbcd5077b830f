// The Prometheus endpoint (server/metrics.h) of a real server: off unless
// asked for, served over HTTP while the server runs, counting calls, and
// gone once it has shut down. The exposition's format and every metric are
// checked end to end by tests/e2e/metrics_test.py (with promtool).
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;

// The body of GET /metrics on 127.0.0.1:`port`; nullopt when nothing
// accepts the connection.
std::optional<std::string> Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd);
    return std::nullopt;
  }
  const std::string request =
      "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

TEST(MetricsBindAddress, APortAloneBindsLocalhost) {
  EXPECT_THAT(MetricsBindAddress("9464"), IsOkAndHolds("127.0.0.1:9464"));
  EXPECT_THAT(MetricsBindAddress("0"), IsOkAndHolds("127.0.0.1:0"));
  EXPECT_THAT(MetricsBindAddress("0.0.0.0:9464"), IsOkAndHolds("0.0.0.0:9464"));
  EXPECT_THAT(MetricsBindAddress("[::1]:9464"), IsOkAndHolds("[::1]:9464"));
}

TEST(MetricsBindAddress, RefusesWhatIsNoAddress) {
  for (const char* bad : {"", "localhost", ":9464", "host:", "host:http",
                          "host:70000", "70000"}) {
    EXPECT_THAT(MetricsBindAddress(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(MetricsServerTest, OffByDefault) {
  TestServer server;
  EXPECT_EQ(server.metrics_port(), 0);
}

TEST(MetricsServerTest, ServesWhileRunningAndStopsWithTheServer) {
  TestServer server([](ServerOptions& o) { o.metrics_listen = "127.0.0.1:0"; });
  const int port = server.metrics_port();
  ASSERT_GT(port, 0);
  auto ws = server.CreateWorkspace("acme", v1::GROWTH);
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  ASSERT_THAT(
      server.segments().ListSegments(Ctx(ws.api_key).get(), request, &response),
      GrpcOk());

  std::optional<std::string> scraped = Scrape(port);
  ASSERT_TRUE(scraped.has_value());
  EXPECT_THAT(*scraped, HasSubstr("200 OK"));
  EXPECT_THAT(*scraped,
              HasSubstr("grpc_server_handled_total{grpc_code=\"OK\","
                        "grpc_method=\"ListSegments\",grpc_service="
                        "\"segments.v1.SegmentService\",grpc_type=\"unary\"} "
                        "1"));
  EXPECT_THAT(*scraped, HasSubstr("\nsegments_workspaces_open 1\n"));

  server.Stop();
  EXPECT_EQ(Scrape(port), std::nullopt);
}

TEST(MetricsServerTest, AnAddressInUseFailsTheStart) {
  TestServer first([](ServerOptions& o) { o.metrics_listen = "127.0.0.1:0"; });
  const std::string taken = "127.0.0.1:" + std::to_string(first.metrics_port());
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = first.data_dir() + "/second";
  options.metrics_listen = taken;
  EXPECT_THAT(SegmentsServer::Start(options).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace segments::testing
