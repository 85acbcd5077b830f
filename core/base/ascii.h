// Small string helpers the core shares: ASCII trimming and lower-casing (the
// SPEC's normalization is ASCII-only), and the bridge to Abseil's own
// string_view (Debian's Abseil does not alias std::string_view).
#ifndef SEGMENTS_CORE_BASE_ASCII_H_
#define SEGMENTS_CORE_BASE_ASCII_H_

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace segments {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

inline std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// In place: no allocation when the string is consumed anyway.
inline void TrimAsciiInPlace(std::string* s) {
  const std::string_view kept = TrimAscii(*s);
  const size_t start = static_cast<size_t>(kept.data() - s->data());
  s->erase(start + kept.size());
  s->erase(0, start);
}

// `s` as printable ASCII, for a log line or a message shown to an operator:
// every byte outside 0x20..0x7e becomes \xHH, a backslash \\.
inline std::string EscapeNonPrintable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u >= 0x20 && u <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

inline void LowerAsciiInPlace(std::string* s) {
  for (char& c : *s) c = absl::ascii_tolower(static_cast<unsigned char>(c));
}

inline std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_ASCII_H_
