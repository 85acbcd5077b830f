// One line per notable event (start, stop, demo seeded, ...) on stderr, with
// a UTC timestamp. No per-request logging goes through here. Thread-safe.
//
// Every string that comes from outside the server (segment names, request
// paths, storage error texts that may quote a file name or a value) goes
// through LogEscape before it is part of a log line, so it cannot start a
// line of its own, hide text (NUL, terminal escapes, bidirectional
// overrides) or be mistaken for the text around it.
#ifndef SEGMENTS_SERVER_LOG_H_
#define SEGMENTS_SERVER_LOG_H_

#include <string>
#include <string_view>

namespace segments {

void LogEvent(std::string_view message);

// `s` with backslash, double quote, control characters (C0, DEL, C1), line
// and paragraph separators, bidirectional controls and bytes that are not
// valid UTF-8 escaped C-style (\\, \", \n, \r, \t, \xNN for a byte,
// \u{XXXX} for a character); everything else, other UTF-8 included, as it is.
std::string LogEscape(std::string_view s);

}  // namespace segments

#endif  // SEGMENTS_SERVER_LOG_H_
