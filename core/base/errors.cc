#include "core/base/errors.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace segments {
namespace {

// The payloads are the protobuf wire encoding of google.rpc.BadRequest and
// google.rpc.ErrorInfo, written by hand because the core does not link
// protobuf. Being the real encoding under the real type URLs, the server can
// copy them verbatim into google.rpc.Status.details.
constexpr absl::string_view kBadRequestUrl =
    "type.googleapis.com/google.rpc.BadRequest";
constexpr absl::string_view kErrorInfoUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";
// Never sent to clients: ToGrpcStatus copies only the two payloads above.
constexpr absl::string_view kStorageFailureUrl =
    "segments.internal/StorageFailure";

// Never sent as it is: ToGrpcStatus makes a google.rpc.RetryInfo of it.
constexpr absl::string_view kRetryDelayUrl = "segments.internal/RetryDelayMs";

constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireBytes = 2;
constexpr uint32_t kWireFixed32 = 5;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A length-delimited field (string or nested message).
void PutBytes(uint32_t field_number, absl::string_view bytes,
              std::string* out) {
  PutVarint((field_number << 3) | kWireBytes, out);
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// Reads protobuf wire format; every read fails cleanly at the end of input,
// so garbage payloads yield "no details", never a crash.
class WireReader {
 public:
  explicit WireReader(absl::string_view data) : data_(data) {}

  bool done() const { return data_.empty(); }

  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data_.empty()) return false;
      const auto byte = static_cast<uint8_t>(data_.front());
      data_.remove_prefix(1);
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  // Reads the next field. For length-delimited fields `*bytes` is its
  // content; other wire types are skipped (and reported with empty bytes).
  bool ReadField(uint32_t* field_number, uint32_t* wire_type,
                 absl::string_view* bytes) {
    uint64_t tag;
    if (!ReadVarint(&tag) || tag > UINT32_MAX) return false;
    *field_number = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    *bytes = absl::string_view();
    uint64_t v;
    switch (*wire_type) {
      case kWireVarint:
        return ReadVarint(&v);
      case kWireFixed64:
        return Skip(8);
      case kWireFixed32:
        return Skip(4);
      case kWireBytes:
        if (!ReadVarint(&v) || v > data_.size()) return false;
        *bytes = data_.substr(0, static_cast<size_t>(v));
        data_.remove_prefix(static_cast<size_t>(v));
        return true;
      default:
        return false;
    }
  }

 private:
  bool Skip(size_t n) {
    if (data_.size() < n) return false;
    data_.remove_prefix(n);
    return true;
  }

  absl::string_view data_;
};

// Parses a message made of string fields 1 and 2 (FieldViolation, and a
// map entry of ErrorInfo.metadata).
bool ParsePair(absl::string_view bytes, std::string* first,
               std::string* second) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t field, wire;
    absl::string_view value;
    if (!r.ReadField(&field, &wire, &value)) return false;
    if (wire != kWireBytes) continue;
    if (field == 1) *first = std::string(value);
    if (field == 2) *second = std::string(value);
  }
  return true;
}

std::optional<std::string> PayloadBytes(const absl::Status& status,
                                        absl::string_view url) {
  absl::optional<absl::Cord> payload = status.GetPayload(url);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace

absl::Status Violations::ToStatus() const {
  if (list_.empty()) return absl::OkStatus();
  return InvalidArgumentError(list_);
}

absl::Status InvalidArgumentError(
    const std::vector<FieldViolation>& violations) {
  if (violations.empty()) {
    return absl::InvalidArgumentError("invalid argument");
  }
  const FieldViolation& first = violations.front();
  std::string message =
      first.field.empty() ? first.description
                          : absl::StrCat(first.field, ": ", first.description);
  if (violations.size() > 1) {
    absl::StrAppend(&message, " (and ", violations.size() - 1, " more)");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  std::string bad_request;
  for (const FieldViolation& v : violations) {
    std::string entry;
    PutBytes(1, v.field, &entry);
    PutBytes(2, v.description, &entry);
    PutBytes(1, entry, &bad_request);
  }
  status.SetPayload(kBadRequestUrl, absl::Cord(std::move(bad_request)));
  return status;
}

absl::Status InvalidFieldError(std::string field, std::string description) {
  return InvalidArgumentError({{std::move(field), std::move(description)}});
}

std::vector<FieldViolation> GetFieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> result;
  std::optional<std::string> bytes = PayloadBytes(status, kBadRequestUrl);
  if (!bytes.has_value()) return result;
  WireReader r(*bytes);
  while (!r.done()) {
    uint32_t field, wire;
    absl::string_view value;
    if (!r.ReadField(&field, &wire, &value)) return {};
    if (field != 1 || wire != kWireBytes) continue;
    FieldViolation v;
    if (!ParsePair(value, &v.field, &v.description)) return {};
    result.push_back(std::move(v));
  }
  return result;
}

absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info) {
  std::string bytes;
  PutBytes(1, info.reason, &bytes);
  PutBytes(2, absl::string_view(kErrorDomain.data(), kErrorDomain.size()),
           &bytes);
  for (const auto& [key, value] : info.metadata) {
    std::string entry;
    PutBytes(1, key, &entry);
    PutBytes(2, value, &entry);
    PutBytes(3, entry, &bytes);
  }
  // An OK status carries no payloads (SetPayload is a no-op on it).
  status.SetPayload(kErrorInfoUrl, absl::Cord(std::move(bytes)));
  return status;
}

ErrorInfo GetErrorInfo(const absl::Status& status) {
  ErrorInfo info;
  std::optional<std::string> bytes = PayloadBytes(status, kErrorInfoUrl);
  if (!bytes.has_value()) return info;
  WireReader r(*bytes);
  while (!r.done()) {
    uint32_t field, wire;
    absl::string_view value;
    if (!r.ReadField(&field, &wire, &value)) return ErrorInfo();
    if (wire != kWireBytes) continue;
    if (field == 1) {
      info.reason = std::string(value);
    } else if (field == 3) {
      std::string key, val;
      if (!ParsePair(value, &key, &val)) return ErrorInfo();
      info.metadata[std::move(key)] = std::move(val);
    }
  }
  return info;
}

absl::Status WithStorageFailure(absl::Status status, StorageFailure kind) {
  status.SetPayload(kStorageFailureUrl,
                    absl::Cord(absl::StrCat(static_cast<int>(kind))));
  return status;
}

StorageFailure GetStorageFailure(const absl::Status& status) {
  std::optional<std::string> bytes = PayloadBytes(status, kStorageFailureUrl);
  if (!bytes.has_value() || bytes->size() != 1) return StorageFailure::kNone;
  const int kind = (*bytes)[0] - '0';
  if (kind < 0 || kind > static_cast<int>(StorageFailure::kOther)) {
    return StorageFailure::kOther;
  }
  return static_cast<StorageFailure>(kind);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  status.SetPayload(kRetryDelayUrl, absl::Cord(absl::StrCat(std::max<int64_t>(
                                        0, absl::ToInt64Milliseconds(delay)))));
  return status;
}

std::optional<absl::Duration> GetRetryDelay(const absl::Status& status) {
  std::optional<std::string> bytes = PayloadBytes(status, kRetryDelayUrl);
  int64_t ms = 0;
  if (!bytes.has_value() || !absl::SimpleAtoi(*bytes, &ms) || ms < 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

absl::Status WorkspaceNotOwnedError(uint64_t id, std::string_view why,
                                    absl::Duration retry_delay) {
  return WithRetryDelay(
      WithErrorInfo(
          absl::UnavailableError(absl::StrCat(
              "workspace ", id, " ", absl::string_view(why.data(), why.size()),
              "; retry (another node may serve it then)")),
          {kReasonWorkspaceNotOwned, {{"workspace_id", absl::StrCat(id)}}}),
      retry_delay);
}

}  // namespace segments
