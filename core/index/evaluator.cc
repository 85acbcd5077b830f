#include "core/index/evaluator.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segments {
namespace {

// Hot path: a contact update evaluates up to ~1000 conditions, so nothing
// here allocates. Condition strings are already ASCII-lowercase (the filter
// validator made them so); contact values keep their case, so only the
// contact side is folded, eight bytes at a time where that pays.

inline unsigned char Fold(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'A' && u <= 'Z') ? static_cast<unsigned char>(u + ('a' - 'A'))
                                : u;
}

// ASCII-lowercases the eight bytes of `w` at once (SWAR): a byte gets 0x20
// added when it is below 0x80 and within 'A'..'Z'. The additions work on
// the low seven bits only, so they never carry into the next byte.
inline uint64_t FoldWord(uint64_t w) {
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const uint64_t low7 = w & ~kHigh;
  const uint64_t above_z = low7 + 0x2525252525252525ull;   // >= 'Z' + 1
  const uint64_t from_a = low7 + 0x3F3F3F3F3F3F3F3Full;    // >= 'A'
  const uint64_t upper = (above_z ^ from_a) & ~w & kHigh;  // ASCII only
  return w | (upper >> 2);
}

inline uint64_t Load(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// `text` in any case equals `lower` (already lowercase), ASCII-folded.
bool EqualsFolded(std::string_view text, std::string_view lower) {
  const size_t n = text.size();
  if (n != lower.size()) return false;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (FoldWord(Load(text.data() + i)) != Load(lower.data() + i)) {
      return false;
    }
  }
  for (; i < n; ++i) {
    if (Fold(text[i]) != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

bool StartsWithFolded(std::string_view text, std::string_view lower) {
  return text.size() >= lower.size() &&
         EqualsFolded(text.substr(0, lower.size()), lower);
}

bool EndsWithFolded(std::string_view text, std::string_view lower) {
  return text.size() >= lower.size() &&
         EqualsFolded(text.substr(text.size() - lower.size()), lower);
}

// Contact strings are at most 256 bytes (SPEC §3); longer ones (never
// produced by normalization) are searched without the buffer.
constexpr size_t kFoldBufferBytes = 256;

// Abseil 20220623 has no case-insensitive substring search
// (StrContainsIgnoreCase came later): fold `text` into a stack buffer, then
// an ordinary (memchr-driven) find.
bool ContainsFolded(std::string_view text, std::string_view lower) {
  const size_t n = text.size();
  if (lower.size() > n) return false;
  if (n > kFoldBufferBytes) {
    for (size_t i = 0; i + lower.size() <= n; ++i) {
      if (EqualsFolded(text.substr(i, lower.size()), lower)) return true;
    }
    return false;
  }
  char buf[kFoldBufferBytes];
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t w = FoldWord(Load(text.data() + i));
    std::memcpy(buf + i, &w, sizeof(w));
  }
  for (; i < n; ++i) buf[i] = static_cast<char>(Fold(text[i]));
  return std::string_view(buf, n).find(lower) != std::string_view::npos;
}

// Three-way compare of folded `text` against `lower`, in the unsigned byte
// order std::string uses (so it agrees with the validator's sort). Lists
// mostly differ in the first byte or two, so bytes beat words here.
int CompareFolded(std::string_view text, std::string_view lower) {
  const size_t n = std::min(text.size(), lower.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char a = Fold(text[i]);
    const auto b = static_cast<unsigned char>(lower[i]);
    if (a != b) return a < b ? -1 : 1;
  }
  if (text.size() == lower.size()) return 0;
  return text.size() < lower.size() ? -1 : 1;
}

// Binary search of `sorted` by a three-way comparison of the probe against
// an element (negative: the probe sorts before it).
template <typename Compare>
bool InSortedBy(const std::vector<std::string>& sorted, Compare compare) {
  size_t lo = 0, hi = sorted.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const int cmp = compare(sorted[mid]);
    if (cmp == 0) return true;
    if (cmp < 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return false;
}

bool InSortedFolded(std::string_view text,
                    const std::vector<std::string>& sorted) {
  return InSortedBy(sorted, [text](const std::string& element) {
    return CompareFolded(text, element);
  });
}

inline std::string_view FirstString(const Condition& c) {
  return c.strings.empty() ? std::string_view()
                           : std::string_view(c.strings[0]);
}

// The i-th number; a malformed condition (never produced by ValidateFilter)
// reads 0 rather than out of bounds.
inline int64_t Num(const Condition& c, size_t i) {
  return i < c.numbers.size() ? c.numbers[i] : 0;
}

// Each Positive* handles only positive operators (negatives are mapped to
// their twin by ConditionMatches) and is false on an unset value, except
// IS_SET, which is exactly "is set".

bool PositiveString(Operator op, const Condition& c, std::string_view v) {
  if (v.empty()) return false;  // unset; also answers IS_SET
  switch (op) {
    case Operator::kIsSet:
      return true;
    case Operator::kEquals:
      return EqualsFolded(v, FirstString(c));
    case Operator::kIn:
      return InSortedFolded(v, c.strings);
    case Operator::kContains:
      return ContainsFolded(v, FirstString(c));
    case Operator::kStartsWith:
      return StartsWithFolded(v, FirstString(c));
    case Operator::kEndsWith:
      return EndsWithFolded(v, FirstString(c));
    default:
      return false;
  }
}

// Byte-wise three-way compare (unsigned, like std::string), inlined: tags
// are short and mostly differ early, where a memcmp call costs more.
inline int CompareBytes(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

bool InSorted(std::string_view s, const std::vector<std::string>& sorted) {
  return InSortedBy(sorted, [s](const std::string& element) {
    return CompareBytes(s, element);
  });
}

bool PositiveTags(Operator op, const Condition& c,
                  const std::vector<std::string>& tags) {
  if (tags.empty()) return false;
  switch (op) {
    case Operator::kIsSet:
      return true;
    case Operator::kHasAny: {
      // Both sides are sorted and unique: probe the larger with the smaller.
      const bool tags_smaller = tags.size() <= c.strings.size();
      const auto& small = tags_smaller ? tags : c.strings;
      const auto& large = tags_smaller ? c.strings : tags;
      for (const std::string& s : small) {
        if (InSorted(s, large)) return true;
      }
      return false;
    }
    case Operator::kHasAll:
      if (c.strings.empty() || c.strings.size() > tags.size()) return false;
      for (const std::string& s : c.strings) {
        if (!InSorted(s, tags)) return false;
      }
      return true;
    default:
      return false;
  }
}

// Enums and numbers; `set` is false for an unset optional enum.
bool PositiveOrdered(Operator op, const Condition& c, int64_t v, bool set) {
  if (!set) return false;
  switch (op) {
    case Operator::kIsSet:
      return true;
    case Operator::kEquals:
      return v == Num(c, 0);
    case Operator::kIn:
      return std::binary_search(c.numbers.begin(), c.numbers.end(), v);
    case Operator::kGreaterThan:
      return v > Num(c, 0);
    case Operator::kGreaterOrEqual:
      return v >= Num(c, 0);
    case Operator::kLessThan:
      return v < Num(c, 0);
    case Operator::kLessOrEqual:
      return v <= Num(c, 0);
    case Operator::kBetween:
      return v >= Num(c, 0) && v <= Num(c, 1);
    default:
      return false;
  }
}

constexpr int64_t kSecondsPerDay = 86400;

bool PositiveTimestamp(Operator op, const Condition& c,
                       std::optional<UnixSeconds> t, UnixSeconds now) {
  if (!t.has_value()) return false;
  switch (op) {
    case Operator::kIsSet:
      return true;
    case Operator::kBefore:
      return *t < Num(c, 0);
    case Operator::kAfter:
      return *t > Num(c, 0);
    case Operator::kBetween:
      return *t >= Num(c, 0) && *t <= Num(c, 1);
    case Operator::kWithinLastDays:
      return *t >= now - Num(c, 0) * kSecondsPerDay;
    case Operator::kMoreThanDaysAgo:
      return *t < now - Num(c, 0) * kSecondsPerDay;
    default:
      return false;
  }
}

}  // namespace

bool ConditionMatches(const Condition& condition, const Contact& contact,
                      UnixSeconds now, const ReferenceAnswers* refs) {
  if (condition.is_group()) {
    return FilterMatches(*condition.group, contact, now, refs);
  }
  // A negative operator is the exact complement of its positive twin, which
  // is what makes it match unset values.
  const std::optional<Operator> twin = PositiveTwin(condition.op);
  const bool negate = twin.has_value();
  const Operator op = twin.value_or(condition.op);

  bool positive = false;
  if (op == Operator::kInSegment) {
    positive = refs != nullptr && refs->IsMember(condition.segment_id);
    return positive != negate;
  }
  switch (condition.field) {
    case Field::kEmail:
    case Field::kCompany:
    case Field::kJobTitle:
    case Field::kCountry:
    case Field::kCity:
    case Field::kSource:
      positive = PositiveString(op, condition,
                                StringFieldOf(contact, condition.field));
      break;
    case Field::kTags:
      positive = PositiveTags(op, condition, contact.tags);
      break;
    case Field::kLifecycleStage: {
      const int v = static_cast<int>(contact.lifecycle_stage);
      positive = PositiveOrdered(op, condition, v, v != 0);
      break;
    }
    case Field::kLeadScore:
      positive = PositiveOrdered(op, condition, contact.lead_score, true);
      break;
    case Field::kEngagementScore:
      positive = PositiveOrdered(op, condition, contact.engagement_score, true);
      break;
    case Field::kEngagementTrend: {
      const int v = static_cast<int>(contact.engagement_trend);
      positive = PositiveOrdered(op, condition, v, v != 0);
      break;
    }
    case Field::kConversionLikelihood: {
      const int v = static_cast<int>(contact.conversion_likelihood);
      positive = PositiveOrdered(op, condition, v, v != 0);
      break;
    }
    case Field::kCreatedAt:
      positive = PositiveTimestamp(op, condition, contact.created_at, now);
      break;
    case Field::kLastEngagedAt:
      positive = PositiveTimestamp(op, condition, contact.last_engaged_at, now);
      break;
  }
  return positive != negate;
}

bool FilterMatches(const Filter& filter, const Contact& contact,
                   UnixSeconds now, const ReferenceAnswers* refs) {
  if (filter.match == Match::kAny) {
    for (const Condition& c : filter.conditions) {
      if (ConditionMatches(c, contact, now, refs)) return true;
    }
    return false;
  }
  for (const Condition& c : filter.conditions) {
    if (!ConditionMatches(c, contact, now, refs)) return false;
  }
  return true;
}

}  // namespace segments
