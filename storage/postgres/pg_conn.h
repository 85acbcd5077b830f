// A thin layer over libpq for the PostgreSQL store: connections, typed
// statement parameters, results in binary format, transactions and a pool.
//
// Every statement is sent with PQexecParams and asks for binary results, so
// integers come back as 8-byte big-endian values and bytea as its raw
// bytes (no text escaping either way). The schema uses bigint and bytea
// columns only (plus one boolean), which is all PgResult decodes.
//
// Errors: a lost connection, or PostgreSQL refusing for resources or an
// operator's intervention (SQLSTATE classes 08, 53, 57), is UNAVAILABLE
// (StorageFailure::kUnavailable); a serialization failure or deadlock
// (class 40) or a lock timeout (55P03) is ABORTED (kBusy); a constraint
// violation (class 23) is INTERNAL; anything else INTERNAL (kOther).
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_CONN_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_CONN_H_

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace segments {

// A one-dimensional bigint[] or bytea[] in PostgreSQL's binary array
// format, for statements that take a whole batch as arrays (INSERT ...
// SELECT FROM unnest(...)): one parameter per column, however many rows.
class PgArray {
 public:
  enum class Type { kInt8, kBytea };
  explicit PgArray(Type type) : type_(type) {}
  void Int(int64_t v);
  void Bytes(std::string_view v);
  void Null();
  size_t size() const { return count_; }
  Type type() const { return type_; }
  // The encoded array (header and elements).
  std::string Encode() const;

 private:
  Type type_;
  size_t count_ = 0;
  bool has_null_ = false;
  std::string elements_;
};

// The parameters of one statement. Text and bytes are not copied: what they
// point at must outlive the call that sends them.
class PgParams {
 public:
  void Int(int64_t v);
  void NullInt();
  // bytea.
  void Bytes(std::string_view v);
  void NullBytes();
  // A bigint[] in PostgreSQL's text form, e.g. "{1,2,3}" (copied).
  void IntArray(const std::vector<int64_t>& v);
  void Bool(bool v);
  // The array, encoded (copied).
  void Array(const PgArray& a);
  size_t size() const { return values_.size(); }
  void clear();

 private:
  friend class PgConn;
  std::vector<unsigned int> types_;  // Oid
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  // Stable storage for the encoded integers and arrays.
  std::deque<std::array<char, 8>> ints_;
  std::deque<std::string> strings_;
};

// A result in binary format. Move-only.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const {
    return PQgetisnull(r_.get(), row, col) != 0;
  }
  // bigint (0 when NULL).
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  // bytea or text, as stored ("" when NULL).
  std::string_view Bytes(int row, int col) const;
  // The number of rows a DELETE/UPDATE/INSERT touched.
  int64_t affected() const;
  PGresult* raw() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_{nullptr, &PQclear};
};

class PgConn {
 public:
  // UNAVAILABLE when the server cannot be reached or refuses the login.
  // `settings` are libpq connection keywords that override the conninfo's
  // (e.g. connect_timeout).
  static absl::StatusOr<std::unique_ptr<PgConn>> Connect(
      const std::string& conninfo,
      const std::vector<std::pair<std::string, std::string>>& settings = {});
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // One or more statements without parameters (the simple protocol).
  absl::Status Exec(const std::string& sql);
  absl::StatusOr<PgResult> Query(const std::string& sql,
                                 const PgParams& params = PgParams());
  // The same, answered within `timeout` by this process's clock, whatever
  // the server or the network does (a lock wait, a stopped server, a
  // partition): past it UNAVAILABLE, and the connection is broken (closed
  // at the next Reset or destruction; the statement may still complete on
  // the server).
  absl::StatusOr<PgResult> QueryWithin(const std::string& sql,
                                       const PgParams& params,
                                       absl::Duration timeout);
  // False once the connection is broken (the pool then reconnects).
  bool healthy() const;
  // Re-establishes a broken connection.
  absl::Status Reset();

 private:
  explicit PgConn(PGconn* c) : c_(c) {}
  absl::Status ResultStatus(PGresult* r, absl::string_view what);
  PGconn* const c_;
  // Set when libpq reported an error of its own (the connection died).
  bool broken_ = false;
};

// BEGIN on construction-time Begin, ROLLBACK on destruction unless
// committed (errors of the rollback are ignored: a broken connection
// rolls back by itself).
class PgTransaction {
 public:
  explicit PgTransaction(PgConn* conn) : conn_(conn) {}
  ~PgTransaction();
  // `mode` follows BEGIN, e.g. "ISOLATION LEVEL REPEATABLE READ READ ONLY".
  absl::Status Begin(absl::string_view mode = "");
  absl::Status Commit();

 private:
  PgConn* const conn_;
  bool open_ = false;
};

// Up to `size` connections to one database, made on demand and shared by a
// catalog and all of its workspace stores. Thread-safe.
class PgPool {
 public:
  PgPool(std::string conninfo, int size);
  ~PgPool();

  // A connection for the holder's exclusive use until it goes out of scope.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConn> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept = default;
    ~Lease();
    PgConn* operator->() const { return conn_.get(); }
    PgConn* get() const { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConn> conn_;
  };
  // Waits for a free connection; reconnects a broken one. UNAVAILABLE when
  // none can be made.
  absl::StatusOr<Lease> Acquire();
  const std::string& conninfo() const { return conninfo_; }

 private:
  void Release(std::unique_ptr<PgConn> conn);

  const std::string conninfo_;
  const int size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle and leased
};

// `s` as a PostgreSQL string literal ('...' with quotes doubled), for the
// few statements that cannot take parameters (CREATE DATABASE).
std::string PgQuoteLiteral(std::string_view s);
std::string PgQuoteIdentifier(std::string_view s);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_CONN_H_
