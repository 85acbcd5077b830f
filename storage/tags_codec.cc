#include "storage/tags_codec.h"

#include <cstdint>

namespace segments {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendEscaped(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Parses one JSON string starting at json[*pos] == '"' into `*out`; on
// success *pos is just past the closing quote.
bool ParseString(std::string_view json, size_t* pos, std::string* out) {
  size_t i = *pos;
  if (i >= json.size() || json[i] != '"') return false;
  ++i;
  out->clear();
  while (i < json.size()) {
    // The bytes up to the next quote, backslash or control character at
    // once: most tags have no escapes, and a restart decodes every
    // contact's tags (issue 18).
    const size_t plain = i;
    while (i < json.size() && json[i] != '"' && json[i] != '\\' &&
           static_cast<unsigned char>(json[i]) >= 0x20) {
      ++i;
    }
    out->append(json.data() + plain, i - plain);
    if (i >= json.size()) return false;
    const char c = json[i++];
    if (c == '"') {
      *pos = i;
      return true;
    }
    if (c != '\\') return false;  // a control character
    if (i >= json.size()) return false;
    const char e = json[i++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        if (json.size() - i < 4) return false;
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          const int h = HexValue(json[i++]);
          if (h < 0) return false;
          cp = cp << 4 | static_cast<uint32_t>(h);
        }
        // Surrogates are never written; a lone one cannot be UTF-8.
        if (cp >= 0xd800 && cp <= 0xdfff) return false;
        AppendUtf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

}  // namespace

void EncodeTags(const std::vector<std::string>& tags, std::string* out) {
  out->clear();
  out->push_back('[');
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendEscaped(tags[i], out);
  }
  out->push_back(']');
}

bool DecodeTags(std::string_view json, std::vector<std::string>* tags) {
  tags->clear();
  if (json.size() < 2 || json.front() != '[' || json.back() != ']')
    return false;
  size_t pos = 1;
  const size_t end = json.size() - 1;
  if (pos == end) return true;
  while (true) {
    tags->emplace_back();
    if (!ParseString(json, &pos, &tags->back())) return false;
    if (pos == end) return true;
    if (pos > end || json[pos] != ',') return false;
    ++pos;
  }
}

}  // namespace segments
