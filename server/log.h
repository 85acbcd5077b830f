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

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace segments {

void LogEvent(std::string_view message);

// LogEvent, at most `burst` lines per `window` (further lines are counted,
// and the next line logged says how many were left out), for events that a
// client can cause again and again, such as a failing disk's errors.
// Thread-safe.
class RateLimitedLog {
 public:
  RateLimitedLog(int burst, absl::Duration window)
      : burst_(burst), window_(window) {}
  void Log(std::string_view message);

 private:
  const int burst_;
  const absl::Duration window_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int logged_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

// `s` with backslash, double quote, control characters (C0, DEL, C1), line
// and paragraph separators, bidirectional controls and bytes that are not
// valid UTF-8 escaped C-style (\\, \", \n, \r, \t, \xNN for a byte,
// \u{XXXX} for a character); everything else, other UTF-8 included, as it is.
std::string LogEscape(std::string_view s);

}  // namespace segments

#endif  // SEGMENTS_SERVER_LOG_H_
