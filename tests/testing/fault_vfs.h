// A SQLite VFS for fault injection: it wraps the default VFS and makes
// chosen xRead, xWrite, xSync or xTruncate calls fail with a chosen result
// code (SQLITE_IOERR_WRITE, SQLITE_FULL, ...), as a dying or full disk would,
// while the file itself stays intact. In the spirit of leveldb's
// db/fault_injection_test.cc.
//
// Install() registers it once per process under the name "fault"; with
// `make_default` it becomes the default VFS too, so code that opens databases
// without naming a VFS (all of storage/) goes through it. Rules are matched
// against the name a file was opened with (e.g. "/workspaces/1.db-wal").
//
// Thread-safety: thread-safe; rules may change while connections use it.
#ifndef SEGMENTS_TESTS_TESTING_FAULT_VFS_H_
#define SEGMENTS_TESTS_TESTING_FAULT_VFS_H_

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace segments::testing {

class FaultVfs {
 public:
  static constexpr char kName[] = "fault";
  enum class Op { kRead, kWrite, kSync, kTruncate };

  // Registers the VFS (once) and returns it.
  static FaultVfs& Install(bool make_default);

  // From now on, calls `op` on files whose name contains `file_substring`
  // ("" for every file) fail with `rc`: after `skip` matching calls have
  // passed, the next `count` ones (-1: all).
  void Fail(Op op, int rc, std::string file_substring = "", int count = -1,
            int skip = 0);
  // Removes every rule: all calls pass again.
  void Clear();
  // How many calls have been failed so far.
  int injected() const;

  // Used by the VFS's methods: the result code for this call (SQLITE_OK:
  // let it through).
  int Decide(Op op, const std::string& file_name);

 private:
  struct Rule {
    Op op;
    int rc;
    std::string file_substring;
    int count;
    int skip;
  };
  mutable absl::Mutex mu_;
  std::vector<Rule> rules_ ABSL_GUARDED_BY(mu_);
  int injected_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_FAULT_VFS_H_
