#include "core/model/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"

namespace segments {
namespace {

// A token is the web-safe base64 (unpadded) of "p1:<scope>:<after_id>". It is
// opaque to callers, not secret: it only holds what they could see anyway.
// The version prefix lets a later format be told apart.
constexpr absl::string_view kPrefix = "p1:";

// Strict decimal: digits only, no sign, no leading zeros, no overflow.
bool ParseId(absl::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<size_t> ResolvePageSize(int64_t requested, size_t max,
                                       std::string_view path) {
  if (requested < 0) {
    return InvalidFieldError(std::string(path), "must not be negative");
  }
  if (requested == 0) return kDefaultPageSize < max ? kDefaultPageSize : max;
  if (static_cast<uint64_t>(requested) > max) {
    return InvalidFieldError(
        std::string(path),
        absl::StrCat("must be at most ", max, " (got ", requested, ")"));
  }
  return static_cast<size_t>(requested);
}

std::string EncodePageToken(std::string_view scope, uint64_t after_id) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kPrefix, AbslView(scope), ":", after_id));
}

absl::StatusOr<uint64_t> DecodePageToken(std::string_view token,
                                         std::string_view scope,
                                         std::string_view path) {
  if (token.empty()) return 0;
  std::string plain;
  uint64_t id = 0;
  // Only the spelling EncodePageToken gives: absl's decoder also takes
  // whitespace, padding and stray low bits in the last character, and one
  // token should not have many spellings (caches and logs compare them).
  if (!absl::WebSafeBase64Unescape(AbslView(token), &plain) ||
      absl::WebSafeBase64Escape(plain) != AbslView(token) ||
      !absl::StartsWith(plain, kPrefix)) {
    return InvalidFieldError(std::string(path), "is not a valid page token");
  }
  const absl::string_view body =
      absl::string_view(plain).substr(kPrefix.size());
  // The id is after the last ':', so scopes may themselves contain ':'.
  const size_t colon = body.rfind(':');
  if (colon == absl::string_view::npos ||
      !ParseId(body.substr(colon + 1), &id)) {
    return InvalidFieldError(std::string(path), "is not a valid page token");
  }
  if (body.substr(0, colon) != AbslView(scope)) {
    return InvalidFieldError(
        std::string(path),
        "belongs to a different listing; pass the next_page_token of this "
        "listing's previous page");
  }
  return id;
}

}  // namespace segments
