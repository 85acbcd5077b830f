// The few file-system operations storage needs, as absl::Status marked as
// storage failures (core/base/errors.h): errno ENOSPC/EDQUOT/EIO ->
// UNAVAILABLE (kUnavailable), anything else (missing permissions, a file
// where a directory should be) -> FAILED_PRECONDITION (kOther), with the
// path and strerror in the message (for the server log).
#ifndef SEGMENTS_STORAGE_FILE_UTIL_H_
#define SEGMENTS_STORAGE_FILE_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segments {

// Creates `dir` and any missing parents.
absl::Status MakeDirs(const std::string& dir);
// MakeDirs, then restricts `dir` to its owner (clears the group and other
// bits: mode 0700 for a directory created here).
absl::Status MakePrivateDir(const std::string& dir);
// Creates the empty file `path` with mode 0600; ALREADY_EXISTS when
// something is at `path`. SQLite opens such a file as an empty database and
// creates its -wal and -shm files with the same mode.
absl::Status CreatePrivateFile(const std::string& path);
// Clears the group and other bits of the file at `path` (0644 -> 0600);
// OK when nothing is there.
absl::Status RestrictToOwner(const std::string& path);
// The size in bytes of the file at `path`; NOT_FOUND when nothing is there.
absl::StatusOr<uint64_t> FileSize(const std::string& path);
// The names of the entries of directory `dir` (not "." and "..").
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);
// fsyncs directory `dir`, so that files created or removed in it stay so
// after a power loss.
absl::Status SyncDir(const std::string& dir);
// Removes file `path`; OK when it does not exist.
absl::Status RemoveFileIfExists(const std::string& path);
bool FileExists(const std::string& path);

// Identifies a file (not a path): device and inode.
struct FileId {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileId& o) const {
    return device == o.device && inode == o.inode;
  }
};
// NOT_FOUND when nothing is at `path`.
absl::StatusOr<FileId> GetFileId(const std::string& path);

// An exclusive advisory lock (flock) on a file, held while the object lives.
// It keeps two servers (or two stores in one process) from using the same
// data directory at once.
class FileLock {
 public:
  // FAILED_PRECONDITION when another holder has the lock.
  static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(
      const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_FILE_UTIL_H_
