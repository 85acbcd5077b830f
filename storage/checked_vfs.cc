#include "storage/checked_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace segments {
namespace {

std::atomic<uint64_t> g_failures{0};
sqlite3_vfs* g_base = nullptr;  // set once, before any file is opened

// Our header, then the base VFS's file in the same allocation.
struct CheckedFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* f) {
  return reinterpret_cast<CheckedFile*>(f)->real;
}
const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }

int Count(int rc) {
  if (rc != SQLITE_OK) g_failures.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

int Close(sqlite3_file* f) { return M(f)->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  const int rc = M(f)->xRead(Real(f), buffer, amount, offset);
  if (rc == SQLITE_IOERR_SHORT_READ) {
    // Normal past the end of the file; a failure inside it.
    sqlite3_int64 size = 0;
    if (M(f)->xFileSize(Real(f), &size) != SQLITE_OK ||
        offset + amount <= size) {
      g_failures.fetch_add(1, std::memory_order_relaxed);
    }
    return rc;
  }
  return Count(rc);
}
int Write(sqlite3_file* f, const void* buffer, int amount,
          sqlite3_int64 offset) {
  return Count(M(f)->xWrite(Real(f), buffer, amount, offset));
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Count(M(f)->xTruncate(Real(f), size));
}
int Sync(sqlite3_file* f, int flags) {
  return Count(M(f)->xSync(Real(f), flags));
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return M(f)->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return M(f)->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return M(f)->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return M(f)->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return M(f)->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return M(f)->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
  return M(f)->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return M(f)->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { M(f)->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return M(f)->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  if (M(f)->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return M(f)->xFetch(Real(f), offset, amount, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  if (M(f)->iVersion < 3) return SQLITE_OK;
  return M(f)->xUnfetch(Real(f), offset, p);
}

// For files whose real methods are version 1 (no shared memory, no
// mmap): SQLite learns what a file supports from iVersion.
const sqlite3_io_methods kMethods3 = {3,
                                      Close,
                                      Read,
                                      Write,
                                      Truncate,
                                      Sync,
                                      FileSize,
                                      Lock,
                                      Unlock,
                                      CheckReservedLock,
                                      FileControl,
                                      SectorSize,
                                      DeviceCharacteristics,
                                      ShmMap,
                                      ShmLock,
                                      ShmBarrier,
                                      ShmUnmap,
                                      Fetch,
                                      Unfetch};
const sqlite3_io_methods kMethods1 = {1,
                                      Close,
                                      Read,
                                      Write,
                                      Truncate,
                                      Sync,
                                      FileSize,
                                      Lock,
                                      Unlock,
                                      CheckReservedLock,
                                      FileControl,
                                      SectorSize,
                                      DeviceCharacteristics,
                                      nullptr,
                                      nullptr,
                                      nullptr,
                                      nullptr,
                                      nullptr,
                                      nullptr};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags,
         int* out_flags) {
  auto* file = reinterpret_cast<CheckedFile*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  std::memset(file->real, 0, static_cast<size_t>(g_base->szOsFile));
  const int rc = g_base->xOpen(g_base, name, file->real, flags, out_flags);
  if (file->real->pMethods == nullptr) {
    file->base.pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  // From here SQLite calls our xClose even if the open failed.
  file->base.pMethods =
      file->real->pMethods->iVersion >= 2 ? &kMethods3 : &kMethods1;
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return g_base->xDlOpen(g_base, name);
}
void DlError(sqlite3_vfs*, int n, char* out) {
  g_base->xDlError(g_base, n, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_base->xDlSym(g_base, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) {
  return g_base->xRandomness(g_base, n, out);
}
int Sleep(sqlite3_vfs*, int micros) { return g_base->xSleep(g_base, micros); }
int CurrentTime(sqlite3_vfs*, double* out) {
  return g_base->xCurrentTime(g_base, out);
}
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError(g_base, n, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

}  // namespace

const char* CheckedVfsName() {
  static constexpr char kName[] = "segments-checked";
  static const bool registered = [] {
    sqlite3_initialize();
    g_base = sqlite3_vfs_find(nullptr);
    auto* v = new sqlite3_vfs();  // lives as long as the process
    v->iVersion = 2;
    v->szOsFile = static_cast<int>(sizeof(CheckedFile)) + g_base->szOsFile;
    v->mxPathname = g_base->mxPathname;
    v->zName = kName;
    v->xOpen = Open;
    v->xDelete = Delete;
    v->xAccess = Access;
    v->xFullPathname = FullPathname;
    v->xDlOpen = DlOpen;
    v->xDlError = DlError;
    v->xDlSym = DlSym;
    v->xDlClose = DlClose;
    v->xRandomness = Randomness;
    v->xSleep = Sleep;
    v->xCurrentTime = CurrentTime;
    v->xGetLastError = GetLastError;
    v->xCurrentTimeInt64 = CurrentTimeInt64;
    return sqlite3_vfs_register(v, /*makeDflt=*/0) == SQLITE_OK;
  }();
  return registered ? kName : nullptr;
}

uint64_t IoFailureCount() { return g_failures.load(std::memory_order_relaxed); }

}  // namespace segments
