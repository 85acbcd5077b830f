#include "tests/server/server_process.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace segments::testing {

ServerProcess::ServerProcess(Options options) : data_dir_("server_process") {
  std::vector<std::string> args = {
      SEGMENTS_SERVER_BINARY, "--listen=127.0.0.1:0",
      "--data_dir=" +
          (options.data_dir.empty() ? data_dir_.path() : options.data_dir)};
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (options.descriptor_limit.has_value()) {
      rlimit limit;
      limit.rlim_cur = limit.rlim_max =
          static_cast<rlim_t>(*options.descriptor_limit);
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];
  reader_ = std::thread([this] {
    char buffer[4096];
    while (true) {
      ssize_t n = read(stderr_fd_, buffer, sizeof(buffer));
      if (n <= 0) break;
      absl::MutexLock lock(&mu_);
      stderr_.append(buffer, static_cast<size_t>(n));
    }
  });
  // "listening on 127.0.0.1:<port> (plaintext)".
  const std::string marker = "listening on 127.0.0.1:";
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    std::string text = Stderr();
    size_t at = text.find(marker);
    if (at != std::string::npos) {
      size_t begin = at + marker.size();
      size_t end = text.find(' ', begin);
      if (end != std::string::npos &&
          absl::SimpleAtoi(text.substr(begin, end - begin), &port_)) {
        return;
      }
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ADD_FAILURE() << "the server did not start: " << Stderr();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

std::string ServerProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void ServerProcess::Signal(int signal_number) { kill(pid_, signal_number); }

std::optional<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      return status;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string ServerProcess::Stderr() {
  absl::MutexLock lock(&mu_);
  return stderr_;
}

}  // namespace segments::testing
