#include "core/base/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace segments {

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      // ASCII eight bytes at a time: nearly every stored field is ASCII,
      // and a restart checks every field of every contact (issue 18).
      while (n - i >= sizeof(uint64_t)) {
        uint64_t word;
        std::memcpy(&word, p + i, sizeof(word));
        if ((word & 0x8080808080808080u) != 0) break;
        i += sizeof(word);
      }
      continue;
    }
    // The table of well-formed byte sequences, RFC 3629 §4 / Unicode Table
    // 3-7: the second byte's range depends on the first byte, which is what
    // excludes overlong forms, surrogates and code points above U+10FFFF.
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3;
      lo = 0xA0;
    } else if (c >= 0xE1 && c <= 0xEC) {
      len = 3;
    } else if (c == 0xED) {
      len = 3;
      hi = 0x9F;
    } else if (c >= 0xEE && c <= 0xEF) {
      len = 3;
    } else if (c == 0xF0) {
      len = 4;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4;
      hi = 0x8F;
    } else {
      return false;  // 0x80..0xC1 (continuation or overlong lead), 0xF5..0xFF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace segments
