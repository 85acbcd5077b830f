// Page tokens and page sizes (core/model/paging.h) as a caller may send them.
//
// Input (fuzz_input.h): scope, other scope, id (varint), requested page size
// (signed), max page size (varint), then the rest is the token.
//
// Properties:
// - a token that decodes for `scope` holds exactly the bytes EncodePageToken
//   encodes for that scope and id (its base64 spelling may differ: absl's
//   decoder is lenient), and a failure is INVALID_ARGUMENT naming the field;
// - EncodePageToken(scope, id) decodes to id for that scope and is refused
//   for every other scope;
// - ResolvePageSize gives the default (at most max) for 0, the request when
//   1..max, and INVALID_ARGUMENT otherwise.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "core/base/errors.h"
#include "core/model/paging.h"
#include "tests/fuzz/fuzz_input.h"

namespace segments {
namespace {

void CheckInvalid(const absl::Status& status, const char* path) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  const std::vector<FieldViolation> v = GetFieldViolations(status);
  FUZZ_CHECK(v.size() == 1 && v[0].field == path);
}

void Check(fuzz::FuzzInput in) {
  const std::string scope = in.Bytes();
  const std::string other = in.Bytes();
  const uint64_t id = in.Varint();
  const int64_t requested = in.Signed();
  const size_t max = static_cast<size_t>(in.Varint());
  const std::string token = in.Rest();

  absl::StatusOr<uint64_t> decoded =
      DecodePageToken(token, scope, "page_token");
  if (decoded.ok()) {
    if (token.empty()) {
      FUZZ_CHECK(*decoded == 0);
    } else {
      // What the token holds is exactly what EncodePageToken writes for
      // this scope and id. Its spelling may differ (found by this target):
      // absl's base64 decoder skips whitespace, takes '=' padding and
      // ignores the unused low bits of the last character.
      std::string plain;
      FUZZ_CHECK(absl::WebSafeBase64Unescape(token, &plain));
      FUZZ_CHECK(absl::WebSafeBase64Escape(plain) ==
                 EncodePageToken(scope, *decoded));
    }
  } else {
    CheckInvalid(decoded.status(), "page_token");
  }

  const std::string encoded = EncodePageToken(scope, id);
  absl::StatusOr<uint64_t> back = DecodePageToken(encoded, scope, "page_token");
  FUZZ_CHECK(back.ok() && *back == id);
  if (other != scope) {
    absl::StatusOr<uint64_t> foreign =
        DecodePageToken(encoded, other, "page_token");
    FUZZ_CHECK(!foreign.ok());
    CheckInvalid(foreign.status(), "page_token");
  }

  absl::StatusOr<size_t> size = ResolvePageSize(requested, max, "page_size");
  if (requested == 0) {
    FUZZ_CHECK(size.ok());
    FUZZ_CHECK(*size == (kDefaultPageSize < max ? kDefaultPageSize : max));
  } else if (requested > 0 && static_cast<uint64_t>(requested) <= max) {
    FUZZ_CHECK(size.ok() && *size == static_cast<size_t>(requested));
  } else {
    FUZZ_CHECK(!size.ok());
    CheckInvalid(size.status(), "page_size");
  }
}

}  // namespace
}  // namespace segments

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  segments::Check(segments::fuzz::FuzzInput(data, size));
  return 0;
}
