#include "core/time/time_window.h"

#include <algorithm>

namespace segments {

std::vector<TimeWindow> WindowsOf(const Filter& filter) {
  std::vector<TimeWindow> windows;
  ForEachFieldRule(filter, [&windows](const Condition& c) {
    if (c.op == Operator::kWithinLastDays ||
        c.op == Operator::kMoreThanDaysAgo) {
      windows.push_back({c.field, c.numbers[0]});
    }
  });
  std::sort(windows.begin(), windows.end());
  windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
  return windows;
}

}  // namespace segments
