#include "core/time/flip_finder.h"

namespace segments {

std::map<UnixSeconds, FlipsByWindow> FindFlips(
    const AttributeIndex& index, const ContactLookup& contacts,
    absl::Span<const TimeWindow> windows, UnixSeconds after,
    UnixSeconds until) {
  std::map<UnixSeconds, FlipsByWindow> flips;
  if (until <= after) return flips;
  for (const TimeWindow& w : windows) {
    const Roaring due = index.ContactsWithTimestampIn(
        w.field, w.FlipsFrom(after), w.FlipsTo(until), contacts);
    for (ContactId id : due) {
      const UnixSeconds at = w.FlipMoment(TimestampOf(w.field, id, contacts));
      flips[at][w].add(id);
    }
  }
  return flips;
}

std::optional<UnixSeconds> NextFlip(const AttributeIndex& index,
                                    const ContactLookup& contacts,
                                    absl::Span<const TimeWindow> windows,
                                    UnixSeconds after) {
  std::optional<UnixSeconds> next;
  for (const TimeWindow& w : windows) {
    // The first timestamp t whose flip moment is later than `after`.
    const std::optional<UnixSeconds> t =
        index.NextTimestampAfter(w.field, w.FlipsTo(after), contacts);
    if (!t.has_value()) continue;
    const UnixSeconds at = w.FlipMoment(*t);
    if (!next.has_value() || at < *next) next = at;
  }
  return next;
}

}  // namespace segments
