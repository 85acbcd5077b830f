#include "server/status_util.h"

#include <google/protobuf/io/coded_stream.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/log.h"

namespace segments {
namespace {

using google::protobuf::io::CodedOutputStream;

// The first `max_bytes` of `s`, cut at a UTF-8 character boundary, with
// "..." appended when anything was cut.
std::string Truncated(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t end = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to a character start.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(absl::string_view(s.data(), end), "...");
}

// The bytes of a length-delimited field holding `size` bytes.
size_t FieldBytes(size_t size) {
  return 1 + CodedOutputStream::VarintSize64(size) + size;
}

size_t Base64Bytes(size_t size) { return (size + 2) / 3 * 4; }

constexpr size_t kBadRequestUrl =
    sizeof("type.googleapis.com/google.rpc.BadRequest") - 1;
constexpr size_t kErrorInfoUrl =
    sizeof("type.googleapis.com/google.rpc.ErrorInfo") - 1;

// What a client is told of a failure inside the server, by kind; the
// status's own message (paths, SQL, SQLite's text) goes to the log.
struct ServerFailure {
  const char* reason;   // ErrorInfo.reason
  const char* message;  // what to do
};
ServerFailure ServerFailureFor(grpc::StatusCode code, StorageFailure kind) {
  switch (kind) {
    case StorageFailure::kUnavailable:
      return {kReasonStorageUnavailable,
              "storage unavailable (I/O error or disk full): the call did not "
              "complete; retry with backoff"};
    case StorageFailure::kBusy:
      return {kReasonStorageBusy,
              "storage busy: the call did not complete; retry with backoff"};
    case StorageFailure::kCorrupt:
      return {kReasonDataCorrupt,
              "stored data is damaged: an operator must restore this "
              "workspace; retrying will not help"};
    case StorageFailure::kOther:
      if (code == grpc::StatusCode::FAILED_PRECONDITION) {
        return {kReasonStorageFailedPrecondition,
                "the workspace's storage cannot be used (deleted, replaced or "
                "written by a newer version)"};
      }
      break;
    case StorageFailure::kNone:
      if (code == grpc::StatusCode::UNAVAILABLE) {
        return {kReasonStorageUnavailable,
                "service unavailable: retry with backoff"};
      }
      if (code == grpc::StatusCode::DATA_LOSS) {
        return {kReasonDataCorrupt,
                "stored data is damaged: an operator must restore this "
                "workspace; retrying will not help"};
      }
      break;
  }
  return {kReasonInternal, "internal error"};
}

// Failures inside the server: the client gets a fixed text, the log the
// details (rate-limited: a failing disk fails every call).
bool IsServerFailure(grpc::StatusCode code, StorageFailure kind) {
  return kind != StorageFailure::kNone || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DATA_LOSS;
}

// google.rpc.RetryInfo from the status's retry delay (core/base/errors.h),
// when it has one: the hint generated clients' retry policies and people
// read (docs/api.md).
void AddRetryInfo(const absl::Status& status, google::rpc::Status* details) {
  const std::optional<absl::Duration> delay = GetRetryDelay(status);
  if (!delay.has_value()) return;
  google::rpc::RetryInfo retry;
  const int64_t ms = absl::ToInt64Milliseconds(*delay);
  retry.mutable_retry_delay()->set_seconds(ms / 1000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) *
                                         1000000);
  details->add_details()->PackFrom(retry);
}

std::atomic<uint64_t> g_error_ids{0};

RateLimitedLog& ServerFailureLog() {
  static RateLimitedLog* const log =
      new RateLimitedLog(/*burst=*/20, absl::Minutes(1));
  return *log;
}

}  // namespace

size_t GrpcMessageWireBytes(std::string_view message) {
  // gRPC percent-encodes grpc-message: every byte outside 0x20..0x7E, and
  // '%' itself, becomes "%XX".
  size_t n = 0;
  for (char c : message) {
    const auto b = static_cast<unsigned char>(c);
    n += (b < 0x20 || b > 0x7E || b == '%') ? 3 : 1;
  }
  return n;
}

size_t ErrorMetadataWireBytes(const grpc::Status& status) {
  // grpc-status-details-bin travels base64-encoded.
  return GrpcMessageWireBytes(status.error_message()) +
         Base64Bytes(status.error_details().size());
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode values are the canonical gRPC codes (0..16). Anything
  // else would be a bug; report it as INTERNAL rather than UNKNOWN.
  int raw = static_cast<int>(status.code());
  grpc::StatusCode code = raw > 0 && raw <= grpc::StatusCode::UNAUTHENTICATED
                              ? static_cast<grpc::StatusCode>(raw)
                              : grpc::StatusCode::INTERNAL;
  const std::string_view original(status.message().data(),
                                  status.message().size());
  const StorageFailure kind = GetStorageFailure(status);
  // A status the core wrote for clients carries its own ErrorInfo reason
  // (e.g. WORKSPACE_NOT_SERVING) and is passed on as it is.
  if (IsServerFailure(code, kind) &&
      (kind != StorageFailure::kNone || GetErrorInfo(status).reason.empty())) {
    const uint64_t id = g_error_ids.fetch_add(1) + 1;
    const ServerFailure failure = ServerFailureFor(code, kind);
    ServerFailureLog().Log(absl::StrCat(
        "error ", id, " (", absl::StatusCodeToString(status.code()), ", ",
        failure.reason, "): ", LogEscape(original)));
    const std::string message =
        absl::StrCat(failure.message, " (server log: error ", id, ")");
    google::rpc::ErrorInfo error_info;
    error_info.set_reason(failure.reason);
    error_info.set_domain(std::string(kErrorDomain));
    (*error_info.mutable_metadata())["error_id"] = absl::StrCat(id);
    google::rpc::Status details;
    details.set_code(code);
    details.set_message(message);
    details.add_details()->PackFrom(error_info);
    AddRetryInfo(status, &details);
    return grpc::Status(code, message, details.SerializeAsString());
  }
  const std::string message = Truncated(original, kMaxErrorMessageBytes);

  google::rpc::Status details;
  details.set_code(code);
  details.set_message(message);
  ErrorInfo info = GetErrorInfo(status);
  google::rpc::ErrorInfo error_info;
  if (!info.reason.empty()) {
    error_info.set_reason(Truncated(info.reason, kMaxDetailFieldBytes));
    error_info.set_domain(std::string(kErrorDomain));
    for (const auto& [key, value] : info.metadata) {
      (*error_info.mutable_metadata())[Truncated(key, kMaxDetailFieldBytes)] =
          Truncated(value, kMaxDetailFieldBytes);
    }
  }

  std::vector<FieldViolation> violations = GetFieldViolations(status);
  if (!violations.empty()) {
    // The details travel in a header whose client-side limit is 8 KiB by
    // default: as many violations as fit in kMaxErrorMetadataBytes (message
    // and base64 included), then one saying how many were left out.
    const size_t message_wire = GrpcMessageWireBytes(message);
    const size_t fixed =
        details.ByteSizeLong() +
        (info.reason.empty()
             ? 0
             : FieldBytes(FieldBytes(kErrorInfoUrl) +
                          FieldBytes(error_info.ByteSizeLong())));
    constexpr size_t kTailReserve = 160;  // the "N more" violation
    auto fits = [&](size_t bad_request_bytes) {
      const size_t total = fixed + FieldBytes(FieldBytes(kBadRequestUrl) +
                                              FieldBytes(bad_request_bytes));
      return message_wire + Base64Bytes(total) <= kMaxErrorMetadataBytes;
    };
    google::rpc::BadRequest bad_request;
    size_t bad_request_bytes = 0;
    size_t listed = 0;
    for (const FieldViolation& v : violations) {
      google::rpc::BadRequest::FieldViolation out;
      out.set_field(Truncated(v.field, kMaxDetailFieldBytes));
      out.set_description(Truncated(v.description, kMaxDetailFieldBytes));
      const size_t bytes = FieldBytes(out.ByteSizeLong());
      const bool last = listed + 1 == violations.size();
      if (!fits(bad_request_bytes + bytes + (last ? 0 : kTailReserve))) break;
      bad_request_bytes += bytes;
      *bad_request.add_field_violations() = std::move(out);
      ++listed;
    }
    if (listed < violations.size()) {
      google::rpc::BadRequest::FieldViolation* tail =
          bad_request.add_field_violations();
      tail->set_field("");
      tail->set_description(absl::StrCat(
          "and ", violations.size() - listed,
          " more violations not listed (error details are limited to ",
          kMaxErrorMetadataBytes, " bytes); ", violations.size(), " in all"));
    }
    details.add_details()->PackFrom(bad_request);
  }
  if (!info.reason.empty()) details.add_details()->PackFrom(error_info);
  AddRetryInfo(status, &details);
  if (details.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace segments
