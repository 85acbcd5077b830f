// Running out of file descriptors (issue 11, item 4): a flood of idle
// connections beyond the descriptor limit must not stop the server from
// accepting once the flood ends. gRPC 1.51's own listener stops for good
// after one accept() fails with EMFILE.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/process_setup.h"
#include "tests/server/server_process.h"

namespace segments::testing {
namespace {

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

grpc::Status HealthCheck(const std::string& address) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response);
}

TEST(FdLimitTest, AcceptsAgainAfterAFloodOfIdleConnections) {
  constexpr int kLimit = 128;
  constexpr int kFlood = 300;
  ServerProcess server(
      {.flags = {}, .descriptor_limit = kLimit, .data_dir = {}});
  ASSERT_TRUE(server.listening());
  ASSERT_TRUE(HealthCheck(server.address()).ok());

  std::vector<int> flood;
  for (int i = 0; i < kFlood; ++i) {
    int fd = Connect(server.port());  // the kernel's backlog accepts them
    if (fd >= 0) flood.push_back(fd);
  }
  EXPECT_GT(flood.size(), size_t{kLimit});
  // Give the server time to accept (and run out).
  absl::SleepFor(absl::Milliseconds(500));
  for (int fd : flood) close(fd);

  grpc::Status status = HealthCheck(server.address());
  EXPECT_TRUE(status.ok()) << status.error_code() << ": "
                           << status.error_message() << "\n"
                           << server.Stderr();
  EXPECT_NE(server.Stderr().find("out of file descriptors"), std::string::npos)
      << server.Stderr();
}

TEST(FdLimitTest, SoftDescriptorLimitIsRaisedToTheHardLimit) {
  pid_t child = fork();
  if (child == 0) {
    rlimit limit{.rlim_cur = 100, .rlim_max = 200};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(2);
    RaiseDescriptorLimit();
    getrlimit(RLIMIT_NOFILE, &limit);
    _exit(limit.rlim_cur == 200 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace segments::testing
