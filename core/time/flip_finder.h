// Finding which contacts' relative date rules change their answer as time
// moves, from the ordered timestamp index: the contacts that flip under a
// window (f, n) between two moments are a range of f's values, so the work
// follows the flips, not contacts times rules, and nothing is kept per
// contact beyond the index itself.
#ifndef SEGMENTS_CORE_TIME_FLIP_FINDER_H_
#define SEGMENTS_CORE_TIME_FLIP_FINDER_H_

#include <map>
#include <optional>

#include "absl/types/span.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_lookup.h"
#include "core/time/time_window.h"
#include "roaring/roaring.hh"

namespace segments {

// The contacts that flip at one moment, by the window they flip under.
using FlipsByWindow = std::map<TimeWindow, Roaring>;

// Every flip under `windows` that falls due in (after, until], by the second
// it falls due (ascending). Reads only the contacts that flip.
std::map<UnixSeconds, FlipsByWindow> FindFlips(
    const AttributeIndex& index, const ContactLookup& contacts,
    absl::Span<const TimeWindow> windows, UnixSeconds after, UnixSeconds until);

// The first moment after `after` at which a contact flips under one of
// `windows`, if any contact ever will.
std::optional<UnixSeconds> NextFlip(const AttributeIndex& index,
                                    const ContactLookup& contacts,
                                    absl::Span<const TimeWindow> windows,
                                    UnixSeconds after);

}  // namespace segments

#endif  // SEGMENTS_CORE_TIME_FLIP_FINDER_H_
