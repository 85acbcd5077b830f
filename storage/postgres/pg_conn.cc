#include "storage/postgres/pg_conn.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/base/errors.h"

namespace segments {
namespace {

// Type oids (catalog/pg_type_d.h, stable across versions).
constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kByteaOid = 17;
constexpr unsigned int kBoolOid = 16;
constexpr unsigned int kInt8ArrayOid = 1016;
constexpr unsigned int kByteaArrayOid = 1001;

void PutBigEndian(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

absl::Status ClassifiedError(std::string_view sqlstate, std::string message) {
  const std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57") {
    return WithStorageFailure(absl::UnavailableError(std::move(message)),
                              StorageFailure::kUnavailable);
  }
  if (cls == "40" || sqlstate == "55P03") {
    return WithStorageFailure(absl::AbortedError(std::move(message)),
                              StorageFailure::kBusy);
  }
  return WithStorageFailure(absl::InternalError(std::move(message)),
                            StorageFailure::kOther);
}

}  // namespace

void PgParams::Int(int64_t v) {
  std::array<char, 8>& buf = ints_.emplace_back();
  PutBigEndian(static_cast<uint64_t>(v), buf.data());
  types_.push_back(kInt8Oid);
  values_.push_back(buf.data());
  lengths_.push_back(8);
  formats_.push_back(1);
}

void PgParams::NullInt() {
  types_.push_back(kInt8Oid);
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(1);
}

void PgParams::Bytes(std::string_view v) {
  types_.push_back(kByteaOid);
  // A non-null pointer even for "": NULL would mean SQL NULL.
  values_.push_back(v.data() != nullptr ? v.data() : "");
  lengths_.push_back(static_cast<int>(v.size()));
  formats_.push_back(1);
}

void PgParams::NullBytes() {
  types_.push_back(kByteaOid);
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(1);
}

void PgParams::IntArray(const std::vector<int64_t>& v) {
  std::string& s =
      strings_.emplace_back(absl::StrCat("{", absl::StrJoin(v, ","), "}"));
  types_.push_back(kInt8ArrayOid);
  values_.push_back(s.c_str());
  lengths_.push_back(0);
  formats_.push_back(0);
}

namespace {

void PutInt32(int32_t v, std::string* out) {
  const uint32_t u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((u >> shift) & 0xff));
  }
}

}  // namespace

void PgArray::Int(int64_t v) {
  PutInt32(8, &elements_);
  char buf[8];
  PutBigEndian(static_cast<uint64_t>(v), buf);
  elements_.append(buf, 8);
  ++count_;
}

void PgArray::Bytes(std::string_view v) {
  PutInt32(static_cast<int32_t>(v.size()), &elements_);
  elements_.append(v.data(), v.size());
  ++count_;
}

void PgArray::Null() {
  PutInt32(-1, &elements_);
  has_null_ = true;
  ++count_;
}

std::string PgArray::Encode() const {
  // array_send: ndim, has-nulls flag, element type; per dimension its size
  // and lower bound; then each element as length (-1: NULL) and bytes.
  std::string out;
  out.reserve(20 + elements_.size());
  PutInt32(1, &out);
  PutInt32(has_null_ ? 1 : 0, &out);
  PutInt32(static_cast<int32_t>(type_ == Type::kInt8 ? kInt8Oid : kByteaOid),
           &out);
  PutInt32(static_cast<int32_t>(count_), &out);
  PutInt32(1, &out);
  out += elements_;
  return out;
}

void PgParams::Array(const PgArray& a) {
  std::string& s = strings_.emplace_back(a.Encode());
  types_.push_back(a.type() == PgArray::Type::kInt8 ? kInt8ArrayOid
                                                    : kByteaArrayOid);
  values_.push_back(s.data());
  lengths_.push_back(static_cast<int>(s.size()));
  formats_.push_back(1);
}

void PgParams::Bool(bool v) {
  std::array<char, 8>& buf = ints_.emplace_back();
  buf[0] = v ? 1 : 0;
  types_.push_back(kBoolOid);
  values_.push_back(buf.data());
  lengths_.push_back(1);
  formats_.push_back(1);
}

void PgParams::clear() {
  types_.clear();
  values_.clear();
  lengths_.clear();
  formats_.clear();
  ints_.clear();
  strings_.clear();
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col) || PQgetlength(r_.get(), row, col) != 8) return 0;
  const auto* p =
      reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

bool PgResult::Bool(int row, int col) const {
  return !IsNull(row, col) && PQgetlength(r_.get(), row, col) == 1 &&
         PQgetvalue(r_.get(), row, col)[0] != 0;
}

std::string_view PgResult::Bytes(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string_view(PQgetvalue(r_.get(), row, col),
                          static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

absl::StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(
    const std::string& conninfo,
    const std::vector<std::pair<std::string, std::string>>& settings) {
  // dbname with expand_dbname: the conninfo (a URI or key=value pairs) is
  // read as if given first, and the settings after it override it.
  std::vector<const char*> keywords = {"dbname"};
  std::vector<const char*> values = {conninfo.c_str()};
  for (const auto& [keyword, value] : settings) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keywords.data(), values.data(),
                                /*expand_dbname=*/1);
  if (c == nullptr) {
    return WithStorageFailure(
        absl::UnavailableError("PostgreSQL: out of memory for a connection"),
        StorageFailure::kUnavailable);
  }
  if (PQstatus(c) != CONNECTION_OK) {
    std::string message =
        absl::StrCat("cannot connect to PostgreSQL: ", PQerrorMessage(c));
    PQfinish(c);
    return WithStorageFailure(absl::UnavailableError(std::move(message)),
                              StorageFailure::kUnavailable);
  }
  std::unique_ptr<PgConn> conn(new PgConn(c));
  // Quiet NOTICEs (e.g. of IF NOT EXISTS) instead of printing to stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return conn;
}

PgConn::~PgConn() { PQfinish(c_); }

bool PgConn::healthy() const {
  return !broken_ && PQstatus(c_) == CONNECTION_OK;
}

absl::Status PgConn::Reset() {
  PQreset(c_);
  broken_ = false;
  if (!healthy()) {
    return WithStorageFailure(
        absl::UnavailableError(absl::StrCat("cannot reconnect to PostgreSQL: ",
                                            PQerrorMessage(c_))),
        StorageFailure::kUnavailable);
  }
  return absl::OkStatus();
}

absl::Status PgConn::ResultStatus(PGresult* r, absl::string_view what) {
  const ExecStatusType s = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return absl::OkStatus();
  if (!healthy()) {
    return WithStorageFailure(
        absl::UnavailableError(
            absl::StrCat("PostgreSQL connection lost: ", PQerrorMessage(c_))),
        StorageFailure::kUnavailable);
  }
  const char* state =
      r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (state == nullptr) {
    // An error from libpq itself, not the server: the connection is gone
    // (libpq may notice only at the next call).
    broken_ = true;
    return WithStorageFailure(
        absl::UnavailableError(
            absl::StrCat("PostgreSQL connection lost: ", PQerrorMessage(c_))),
        StorageFailure::kUnavailable);
  }
  std::string message =
      absl::StrCat("PostgreSQL: ",
                   r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c_),
                   " (in ", what.substr(0, 120), ")");
  return ClassifiedError(state, std::move(message));
}

absl::Status PgConn::Exec(const std::string& sql) {
  PgResult r(PQexec(c_, sql.c_str()));
  return ResultStatus(r.raw(), sql);
}

absl::StatusOr<PgResult> PgConn::Query(const std::string& sql,
                                       const PgParams& p) {
  PgResult r(PQexecParams(c_, sql.c_str(), static_cast<int>(p.size()),
                          p.types_.data(), p.values_.data(), p.lengths_.data(),
                          p.formats_.data(), /*resultFormat=*/1));
  absl::Status status = ResultStatus(r.raw(), sql);
  if (!status.ok()) return status;
  return r;
}

absl::StatusOr<PgResult> PgConn::QueryWithin(const std::string& sql,
                                             const PgParams& p,
                                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (PQsendQueryParams(c_, sql.c_str(), static_cast<int>(p.size()),
                        p.types_.data(), p.values_.data(), p.lengths_.data(),
                        p.formats_.data(), /*resultFormat=*/1) == 0) {
    return ResultStatus(nullptr, sql);
  }
  while (PQisBusy(c_) != 0) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd fd{PQsocket(c_), POLLIN, 0};
    if (ms <= 0 || (poll(&fd, 1, static_cast<int>(ms)) < 0 && errno != EINTR)) {
      // The answer can no longer be told from the next statement's.
      broken_ = true;
      return WithStorageFailure(
          absl::UnavailableError(
              absl::StrCat("PostgreSQL did not answer within ",
                           absl::FormatDuration(timeout), " (in ",
                           absl::string_view(sql).substr(0, 120), ")")),
          StorageFailure::kUnavailable);
    }
    if (PQconsumeInput(c_) == 0) return ResultStatus(nullptr, sql);
  }
  PgResult r(PQgetResult(c_));
  // One statement: its result, then the end of the results.
  while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  absl::Status status = ResultStatus(r.raw(), sql);
  if (!status.ok()) return status;
  return r;
}

PgTransaction::~PgTransaction() {
  if (open_) conn_->Exec("ROLLBACK").IgnoreError();
}

absl::Status PgTransaction::Begin(absl::string_view mode) {
  absl::Status s = conn_->Exec(absl::StrCat("BEGIN ", mode));
  open_ = s.ok();
  return s;
}

absl::Status PgTransaction::Commit() {
  open_ = false;
  return conn_->Exec("COMMIT");
}

PgPool::PgPool(std::string conninfo, int size)
    : conninfo_(std::move(conninfo)), size_(size < 1 ? 1 : size) {}

PgPool::~PgPool() = default;

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  std::unique_ptr<PgConn> conn;
  {
    absl::MutexLock l(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < size_;
    };
    mu_.Await(absl::Condition(&available));
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserved; connected below, outside the lock
    }
  }
  if (conn == nullptr) {
    absl::StatusOr<std::unique_ptr<PgConn>> made = PgConn::Connect(conninfo_);
    if (!made.ok()) {
      absl::MutexLock l(&mu_);
      --open_;
      return made.status();
    }
    conn = *std::move(made);
  } else if (!conn->healthy()) {
    absl::Status reset = conn->Reset();
    if (!reset.ok()) {
      absl::MutexLock l(&mu_);
      --open_;
      return reset;
    }
  }
  return Lease(this, std::move(conn));
}

void PgPool::Release(std::unique_ptr<PgConn> conn) {
  absl::MutexLock l(&mu_);
  idle_.push_back(std::move(conn));
}

std::string PgQuoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string PgQuoteIdentifier(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace segments
