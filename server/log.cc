#include "server/log.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace segments {
namespace {

// The length of the well-formed UTF-8 sequence (2..4 bytes) at the start of
// `s`, and its code point; 0 when the bytes there are not one.
size_t DecodeUtf8(std::string_view s, uint32_t* code_point) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t n;
  uint32_t cp;
  uint32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

// Characters that are valid but would break or disguise a log line.
bool IsUnsafeCharacter(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls
         cp == 0x2028 || cp == 0x2029 ||    // line, paragraph separator
         cp == 0x200E || cp == 0x200F ||    // LRM, RLM
         (cp >= 0x202A && cp <= 0x202E) ||  // embeddings, overrides
         (cp >= 0x2066 && cp <= 0x2069) ||  // isolates
         cp == 0xFEFF;                      // BOM
}

}  // namespace

std::string LogEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '\\':
          out += "\\\\";
          break;
        case '"':
          out += "\\\"";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (b < 0x20 || b == 0x7F) {
            absl::StrAppendFormat(&out, "\\x%02x", b);
          } else {
            out.push_back(static_cast<char>(b));
          }
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(s.substr(i), &cp);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", b);
      ++i;
    } else if (IsUnsafeCharacter(cp)) {
      absl::StrAppendFormat(&out, "\\u{%04X}", cp);
      i += n;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

void LogEvent(std::string_view message) {
  // One fwrite per line: stdio locks the stream, so lines never interleave.
  // fwrite, not fputs: a NUL in the message must not cut the line short.
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
      " segments-server: ", absl::string_view(message.data(), message.size()),
      "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void RateLimitedLog::Log(std::string_view message) {
  int64_t suppressed = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - window_start_ >= window_) {
      window_start_ = now;
      logged_ = 0;
    }
    if (logged_ >= burst_) {
      ++suppressed_;
      return;
    }
    ++logged_;
    suppressed = suppressed_;
    suppressed_ = 0;
  }
  if (suppressed == 0) {
    LogEvent(message);
  } else {
    LogEvent(absl::StrCat(absl::string_view(message.data(), message.size()),
                          " (", suppressed,
                          " similar lines were left out before this one)"));
  }
}

}  // namespace segments
