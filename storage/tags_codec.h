// How a contact's tags are stored: a JSON array of strings, e.g.
// ["beta","vip"]. Readable in the sqlite3 shell and usable from SQL through
// json_each() (benchmarks compare against plain SQL over the same rows), and
// exact for any byte string: '"', '\' and bytes below 0x20 are escaped,
// every other byte is copied as is.
#ifndef SEGMENTS_STORAGE_TAGS_CODEC_H_
#define SEGMENTS_STORAGE_TAGS_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

namespace segments {

// Replaces `*out` with the encoding of `tags` (reusing its buffer).
void EncodeTags(const std::vector<std::string>& tags, std::string* out);

// Replaces `*tags` with the decoded array. False (and `*tags` unspecified)
// when `json` is not a JSON array of strings without whitespace, the form
// EncodeTags writes (standard escapes, \uXXXX included, are accepted).
bool DecodeTags(std::string_view json, std::vector<std::string>* tags);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_TAGS_CODEC_H_
