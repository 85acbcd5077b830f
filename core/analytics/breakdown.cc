#include "core/analytics/breakdown.h"

#include <algorithm>
#include <optional>
#include <queue>
#include <string_view>

#include "core/analytics/and_count.h"
#include "core/analytics/dense_set.h"
#include "core/index/value_dictionary.h"

namespace segments::analytics {
namespace {

constexpr Field kBreakdownFields[] = {Field::kLifecycleStage,
                                      Field::kEngagementTrend,
                                      Field::kConversionLikelihood,
                                      Field::kCountry,
                                      Field::kCity,
                                      Field::kSource,
                                      Field::kCompany,
                                      Field::kJobTitle,
                                      Field::kTags};

// Below this many members a contains() per id is cheaper than a bit array
// of every id.
constexpr uint64_t kDenseMembers = 16384;

double ShareOf(uint64_t n, uint64_t total) {
  return total == 0 ? 0 : static_cast<double>(n) / static_cast<double>(total);
}

// Counts members among postings: against a bit array of the members once
// the segment is big (one load per id or word instead of a container
// search or merge), else against the bitmap itself.
class MemberCounter {
 public:
  explicit MemberCounter(const Roaring& members) : members_(members) {
    if (members.cardinality() >= kDenseMembers) dense_.emplace(members);
  }
  uint64_t Count(const Roaring& postings) const {
    return dense_.has_value() ? dense_->AndCardinality(postings)
                              : AndCardinality(postings, members_);
  }
  uint64_t Count(const std::vector<uint32_t>& sorted_ids) const {
    uint64_t n = 0;
    if (dense_.has_value()) {
      for (uint32_t id : sorted_ids) n += dense_->contains(id) ? 1 : 0;
    } else {
      for (uint32_t id : sorted_ids) n += members_.contains(id) ? 1 : 0;
    }
    return n;
  }

 private:
  const Roaring& members_;
  std::optional<DenseSet> dense_;
};

struct Counted {
  std::string_view value;
  uint64_t count = 0;
};
// a ranks before b: more members, then the smaller value.
bool RanksBefore(const Counted& a, const Counted& b) {
  return a.count != b.count ? a.count > b.count : a.value < b.value;
}

// The best `n` values offered. The worst kept is on top, so a posting
// smaller than its count cannot enter and need not be read.
class TopValues {
 public:
  explicit TopValues(size_t n) : n_(n) {}
  // The size a posting needs to possibly enter.
  uint64_t Floor() const { return kept_.size() < n_ ? 1 : kept_.top().count; }
  void Offer(std::string_view value, uint64_t count) {
    if (count == 0) return;
    const Counted c{value, count};
    if (kept_.size() < n_) {
      kept_.push(c);
    } else if (RanksBefore(c, kept_.top())) {
      kept_.pop();
      kept_.push(c);
    }
  }
  std::vector<ValueCount> Take(uint64_t total) {
    std::vector<ValueCount> out(kept_.size());
    for (size_t i = out.size(); i-- > 0;) {
      out[i] = {std::string(kept_.top().value), kept_.top().count,
                ShareOf(kept_.top().count, total)};
      kept_.pop();
    }
    return out;
  }

 private:
  size_t n_;
  std::priority_queue<Counted, std::vector<Counted>, decltype(&RanksBefore)>
      kept_{&RanksBefore};
};

// A value's contacts, by size, for reading the biggest first.
struct Sized {
  std::string_view value;
  uint64_t size;
  const Roaring* bitmap;             // set for bitmaps
  const std::vector<uint32_t>* ids;  // else the sorted array
};

// Offers every value of `sized` that can still enter, biggest first.
void OfferBiggestFirst(std::vector<Sized>& sized, const MemberCounter& count,
                       TopValues* top) {
  std::sort(sized.begin(), sized.end(), [](const Sized& a, const Sized& b) {
    return a.size != b.size ? a.size > b.size : a.value < b.value;
  });
  for (const Sized& s : sized) {
    if (s.size < top->Floor()) break;  // no later one can enter
    top->Offer(s.value, count.Count(*s.bitmap));
  }
}

DimensionBreakdown EnumBreakdown(Field f, const MemberCounter& count,
                                 const AttributeIndex& index, uint64_t total) {
  DimensionBreakdown d;
  d.field = f;
  const absl::Span<const Roaring> postings = index.EnumPostings(f);
  const FieldInfo& info = GetFieldInfo(f);
  for (size_t wire = 1; wire < postings.size(); ++wire) {
    const uint64_t n = count.Count(postings[wire]);
    d.values.push_back(
        {std::string(info.enum_values[wire - 1]), n, ShareOf(n, total)});
  }
  if (info.optional) {
    d.unset_count = count.Count(postings[0]);
    d.values.push_back({"", d.unset_count, ShareOf(d.unset_count, total)});
  }
  return d;
}

// Values held as bitmaps are read biggest first (most are skipped once N
// are found); small arrays (at most Postings::kMaxSmall ids) only while
// their size can still reach the N-th count.
void OfferStringValues(const ValueDictionary& dict, const MemberCounter& count,
                       TopValues* top) {
  std::vector<Sized> bitmaps;
  std::vector<Sized> arrays;
  dict.ForEach([&](std::string_view value, const Postings& p) {
    if (const Roaring* b = p.bitmap()) {
      bitmaps.push_back({value, b->cardinality(), b, nullptr});
    } else {
      arrays.push_back({value, p.size(), nullptr, &p.small_ids()});
    }
  });
  OfferBiggestFirst(bitmaps, count, top);
  for (const Sized& s : arrays) {
    if (s.size < top->Floor()) continue;
    top->Offer(s.value, count.Count(*s.ids));
  }
}

DimensionBreakdown TopBreakdown(Field f, const MemberCounter& count,
                                const AttributeIndex& index, uint64_t total,
                                size_t top_n) {
  DimensionBreakdown d;
  d.field = f;
  TopValues top(top_n);
  if (f == Field::kTags) {
    std::vector<Sized> tags;
    tags.reserve(index.TagPostings().size());
    for (const auto& [tag, contacts] : index.TagPostings()) {
      tags.push_back({tag, contacts.cardinality(), &contacts, nullptr});
    }
    OfferBiggestFirst(tags, count, &top);
  } else {
    OfferStringValues(index.StringValues(f), count, &top);
  }
  d.values = top.Take(total);
  d.unset_count = total - count.Count(index.ContactsWithValue(f));
  return d;
}

}  // namespace

absl::Span<const Field> BreakdownFields() { return kBreakdownFields; }

bool IsBreakdownField(Field f) {
  return std::find(std::begin(kBreakdownFields), std::end(kBreakdownFields),
                   f) != std::end(kBreakdownFields);
}

Breakdown BreakdownOf(const Roaring& members, const AttributeIndex& index,
                      absl::Span<const Field> fields, size_t top_n) {
  Breakdown out;
  out.member_count = members.cardinality();
  const MemberCounter count(members);
  for (Field f : fields) {
    const FieldType type = GetFieldInfo(f).type;
    if (type == FieldType::kEnum || type == FieldType::kOrderedEnum) {
      out.dimensions.push_back(
          EnumBreakdown(f, count, index, out.member_count));
    } else {
      out.dimensions.push_back(
          TopBreakdown(f, count, index, out.member_count, top_n));
    }
  }
  return out;
}

}  // namespace segments::analytics
