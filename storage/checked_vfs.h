// A SQLite VFS over the default one that counts I/O failures, so that an
// error SQLite reports after one can be told from real damage. A dying disk
// often returns part of a page (a short read): SQLite then zero-fills the
// rest, as the VFS contract says, and reports the page as "database disk
// image is malformed" or "file is not a database" although the file is
// intact. SqliteDb opens every connection through this VFS and reports such
// an error as UNAVAILABLE when an I/O failure happened during the call.
//
// Counted: a read, write, truncate or sync that fails, and a short read of a
// range that lies inside the file (a read past its end is normal). Every
// other call passes straight through.
//
// Thread-safety: thread-safe (one atomic counter for the process).
#ifndef SEGMENTS_STORAGE_CHECKED_VFS_H_
#define SEGMENTS_STORAGE_CHECKED_VFS_H_

#include <cstdint>

namespace segments {

// The name to pass to sqlite3_open_v2. The first call registers the VFS over
// the default VFS of that moment (never as the default itself).
const char* CheckedVfsName();

// The number of I/O failures counted so far, in every connection.
uint64_t IoFailureCount();

}  // namespace segments

#endif  // SEGMENTS_STORAGE_CHECKED_VFS_H_
