// UTF-8 validity (Abseil 20220623 has no public check). Every string the
// service stores or matches must be valid UTF-8 (SPEC §3), because protobuf
// refuses to serialize invalid UTF-8 in `string` fields.
#ifndef SEGMENTS_CORE_BASE_UTF8_H_
#define SEGMENTS_CORE_BASE_UTF8_H_

#include <string_view>

namespace segments {

// True when `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
// The empty string is valid.
bool IsValidUtf8(std::string_view s);

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_UTF8_H_
