// The real segments-server binary in a child process, for tests of what only
// a whole process shows: descriptor limits, signals, its stderr. Listens on
// 127.0.0.1 port 0 over a fresh temporary data directory, or over the one
// given (so that a test can start it again where a killed one left off).
#ifndef SEGMENTS_TESTS_SERVER_SERVER_PROCESS_H_
#define SEGMENTS_TESTS_SERVER_SERVER_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/testing/temp_dir.h"

namespace segments::testing {

class ServerProcess {
 public:
  struct Options {
    std::vector<std::string> flags;
    // Soft and hard RLIMIT_NOFILE of the child, if set.
    std::optional<int> descriptor_limit;
    // The data directory (not removed afterwards); empty: a fresh
    // temporary one, removed with this object.
    std::string data_dir;
  };
  // Starts the binary and waits (up to 20 s) until it listens.
  explicit ServerProcess(Options options);
  // Kills the child if it still runs.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool listening() const { return port_ != 0; }
  int port() const { return port_; }
  std::string address() const;
  pid_t pid() const { return pid_; }

  void Signal(int signal_number);
  // The exit status (as from waitpid), or nullopt if it has not exited
  // within `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout);
  // Everything it wrote to stderr so far.
  std::string Stderr();

 private:
  TempDir data_dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int stderr_fd_ = -1;
  std::thread reader_;
  absl::Mutex mu_;
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  bool exited_ = false;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_SERVER_SERVER_PROCESS_H_
