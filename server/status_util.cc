#include "server/status_util.h"

#include <google/protobuf/io/coded_stream.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

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
  const std::string message = Truncated(
      std::string_view(status.message().data(), status.message().size()),
      kMaxErrorMessageBytes);

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
  if (details.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace segments
