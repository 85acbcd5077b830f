#include "core/analytics/breakdown.h"

#include <algorithm>
#include <optional>
#include <queue>
#include <string_view>

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

// Answers "is id a member" for many ids: a dense bit array once the
// segment is big (one load per id instead of a container search), else
// the bitmap itself.
class MemberTest {
 public:
  explicit MemberTest(const Roaring& members) : members_(members) {
    if (members.cardinality() < kDenseMembers) return;
    bits_.assign(members.maximum() / 64 + 1, 0);
    std::vector<uint32_t> ids(members.cardinality());
    members.toUint32Array(ids.data());
    for (uint32_t id : ids) bits_[id / 64] |= uint64_t{1} << (id % 64);
  }
  bool operator()(uint32_t id) const {
    if (bits_.empty()) return members_.contains(id);
    return id / 64 < bits_.size() && (bits_[id / 64] >> (id % 64)) & 1;
  }

 private:
  const Roaring& members_;
  std::vector<uint64_t> bits_;
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
void OfferBiggestFirst(std::vector<Sized>& sized, const Roaring& members,
                       TopValues* top) {
  std::sort(sized.begin(), sized.end(), [](const Sized& a, const Sized& b) {
    return a.size != b.size ? a.size > b.size : a.value < b.value;
  });
  for (const Sized& s : sized) {
    if (s.size < top->Floor()) break;  // no later one can enter
    top->Offer(s.value, s.bitmap->and_cardinality(members));
  }
}

DimensionBreakdown EnumBreakdown(Field f, const Roaring& members,
                                 const AttributeIndex& index, uint64_t total) {
  DimensionBreakdown d;
  d.field = f;
  const absl::Span<const Roaring> postings = index.EnumPostings(f);
  const FieldInfo& info = GetFieldInfo(f);
  for (size_t wire = 1; wire < postings.size(); ++wire) {
    const uint64_t n = postings[wire].and_cardinality(members);
    d.values.push_back(
        {std::string(info.enum_values[wire - 1]), n, ShareOf(n, total)});
  }
  if (info.optional) {
    d.unset_count = postings[0].and_cardinality(members);
    d.values.push_back({"", d.unset_count, ShareOf(d.unset_count, total)});
  }
  return d;
}

// Values held as bitmaps are read biggest first (most are skipped once N
// are found); small arrays (at most Postings::kMaxSmall ids) only while
// their size can still reach the N-th count.
void OfferStringValues(const ValueDictionary& dict, const Roaring& members,
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
  OfferBiggestFirst(bitmaps, members, top);
  std::optional<MemberTest> is_member;
  for (const Sized& s : arrays) {
    if (s.size < top->Floor()) continue;
    if (!is_member.has_value()) is_member.emplace(members);
    uint64_t n = 0;
    for (uint32_t id : *s.ids) n += (*is_member)(id) ? 1 : 0;
    top->Offer(s.value, n);
  }
}

DimensionBreakdown TopBreakdown(Field f, const Roaring& members,
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
    OfferBiggestFirst(tags, members, &top);
  } else {
    OfferStringValues(index.StringValues(f), members, &top);
  }
  d.values = top.Take(total);
  d.unset_count = total - index.ContactsWithValue(f).and_cardinality(members);
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
  for (Field f : fields) {
    const FieldType type = GetFieldInfo(f).type;
    if (type == FieldType::kEnum || type == FieldType::kOrderedEnum) {
      out.dimensions.push_back(
          EnumBreakdown(f, members, index, out.member_count));
    } else {
      out.dimensions.push_back(
          TopBreakdown(f, members, index, out.member_count, top_n));
    }
  }
  return out;
}

}  // namespace segments::analytics
