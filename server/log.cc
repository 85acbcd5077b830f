#include "server/log.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace segments {

void LogEvent(std::string_view message) {
  // One fputs per line: stdio locks the stream, so lines never interleave.
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
      " segments-server: ", absl::string_view(message.data(), message.size()),
      "\n");
  std::fputs(line.c_str(), stderr);
}

}  // namespace segments
