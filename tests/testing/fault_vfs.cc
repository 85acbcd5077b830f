#include "tests/testing/fault_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <new>
#include <string>
#include <utility>

namespace segments::testing {
namespace {

// A file of the fault VFS: our header, then the real file's storage.
struct FaultFile {
  sqlite3_file base;   // pMethods: kMethods
  sqlite3_file* real;  // right after this struct, in the same allocation
  std::string* name;   // owned
};

sqlite3_vfs* g_real = nullptr;
FaultVfs* g_faults = nullptr;

sqlite3_file* Real(sqlite3_file* f) {
  return reinterpret_cast<FaultFile*>(f)->real;
}
const std::string& NameOf(sqlite3_file* f) {
  return *reinterpret_cast<FaultFile*>(f)->name;
}

int Close(sqlite3_file* f) {
  auto* file = reinterpret_cast<FaultFile*>(f);
  int rc = SQLITE_OK;
  if (file->real->pMethods != nullptr) {
    rc = file->real->pMethods->xClose(file->real);
  }
  delete file->name;
  file->name = nullptr;
  return rc;
}
int Read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  const int rc = g_faults->Decide(FaultVfs::Op::kRead, NameOf(f));
  // A short read must zero what it did not read (the VFS contract); this
  // one reads nothing, as a bad sector at the start of the range would.
  if (rc == SQLITE_IOERR_SHORT_READ)
    std::memset(buffer, 0, static_cast<size_t>(amount));
  if (rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xRead(Real(f), buffer, amount, offset);
}
int Write(sqlite3_file* f, const void* buffer, int amount,
          sqlite3_int64 offset) {
  const int rc = g_faults->Decide(FaultVfs::Op::kWrite, NameOf(f));
  if (rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xWrite(Real(f), buffer, amount, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  const int rc = g_faults->Decide(FaultVfs::Op::kTruncate, NameOf(f));
  if (rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  const int rc = g_faults->Decide(FaultVfs::Op::kSync, NameOf(f));
  if (rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  // No memory-mapped reads: every read goes through Read.
  (void)f, (void)offset, (void)amount;
  *out = nullptr;
  return SQLITE_OK;
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  (void)f, (void)offset, (void)p;
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {3,
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

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags,
         int* out_flags) {
  (void)vfs;
  auto* file = reinterpret_cast<FaultFile*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  std::memset(file->real, 0, static_cast<size_t>(g_real->szOsFile));
  file->name = new std::string(name != nullptr ? name : "");
  const int rc = g_real->xOpen(g_real, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK || file->real->pMethods == nullptr) {
    // SQLite calls xClose only when pMethods is set.
    if (file->real->pMethods != nullptr) {
      file->real->pMethods->xClose(file->real);
    }
    delete file->name;
    file->name = nullptr;
    file->base.pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return g_real->xDlOpen(g_real, name);
}
void DlError(sqlite3_vfs*, int n, char* out) {
  g_real->xDlError(g_real, n, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) {
  return g_real->xRandomness(g_real, n, out);
}
int Sleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int CurrentTime(sqlite3_vfs*, double* out) {
  return g_real->xCurrentTime(g_real, out);
}
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return g_real->xGetLastError(g_real, n, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

}  // namespace

FaultVfs& FaultVfs::Install(bool make_default) {
  static FaultVfs* const faults = new FaultVfs();
  static sqlite3_vfs* const vfs = [] {
    sqlite3_initialize();
    g_real = sqlite3_vfs_find(nullptr);
    g_faults = faults;
    auto* v = new sqlite3_vfs();
    v->iVersion = 2;
    v->szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
    v->mxPathname = g_real->mxPathname;
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
    sqlite3_vfs_register(v, 0);
    return v;
  }();
  if (make_default) sqlite3_vfs_register(vfs, 1);
  return *faults;
}

void FaultVfs::Fail(Op op, int rc, std::string file_substring, int count,
                    int skip) {
  absl::MutexLock lock(&mu_);
  rules_.push_back({op, rc, std::move(file_substring), count, skip});
}

void FaultVfs::Clear() {
  absl::MutexLock lock(&mu_);
  rules_.clear();
}

int FaultVfs::injected() const {
  absl::MutexLock lock(&mu_);
  return injected_;
}

int FaultVfs::Decide(Op op, const std::string& file_name) {
  absl::MutexLock lock(&mu_);
  for (Rule& rule : rules_) {
    if (rule.op != op || rule.count == 0) continue;
    if (file_name.find(rule.file_substring) == std::string::npos) continue;
    if (rule.skip > 0) {
      --rule.skip;
      continue;
    }
    if (rule.count > 0) --rule.count;
    ++injected_;
    return rule.rc;
  }
  return SQLITE_OK;
}

}  // namespace segments::testing
