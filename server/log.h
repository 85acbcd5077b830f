// One line per notable event (start, stop, demo seeded, ...) on stderr, with
// a UTC timestamp. No per-request logging goes through here. Thread-safe.
#ifndef SEGMENTS_SERVER_LOG_H_
#define SEGMENTS_SERVER_LOG_H_

#include <string_view>

namespace segments {

void LogEvent(std::string_view message);

}  // namespace segments

#endif  // SEGMENTS_SERVER_LOG_H_
