#include "core/attribute_index.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"

namespace segments {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t DayOf(int64_t t) {
  int64_t q = t / kSecondsPerDay;
  if (t % kSecondsPerDay < 0) --q;
  return q;
}

Roaring Union(const std::vector<const Roaring*>& parts) {
  if (parts.empty()) return Roaring();
  if (parts.size() == 1) return *parts[0];
  return Roaring::fastunion(parts.size(),
                            const_cast<const Roaring**>(parts.data()));
}

Roaring FromIds(std::vector<uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  Roaring r;
  r.addMany(ids.size(), ids.data());
  return r;
}

// Whether a lowercased dictionary value satisfies a substring operator.
bool SubstringMatches(Operator op, std::string_view value,
                      std::string_view needle) {
  switch (op) {
    case Operator::kContains:
      return value.find(needle) != std::string_view::npos;
    case Operator::kStartsWith:
      return value.substr(0, needle.size()) == needle;
    case Operator::kEndsWith:
      return value.size() >= needle.size() &&
             value.substr(value.size() - needle.size()) == needle;
    default:
      return false;
  }
}

bool IsSubstringOperator(Operator op) {
  return op == Operator::kContains || op == Operator::kStartsWith ||
         op == Operator::kEndsWith;
}

// The [lo, hi] second range (inclusive) a timestamp operator selects.
std::pair<int64_t, int64_t> TimeRange(const Condition& c, UnixSeconds now) {
  switch (c.op) {
    case Operator::kBefore:
      return {kMin, c.numbers[0] - 1};
    case Operator::kAfter:
      return {c.numbers[0] + 1, kMax};
    case Operator::kBetween:
      return {c.numbers[0], c.numbers[1]};
    case Operator::kWithinLastDays:
      return {now - c.numbers[0] * kSecondsPerDay, kMax};
    case Operator::kMoreThanDaysAgo:
      return {kMin, now - c.numbers[0] * kSecondsPerDay - 1};
    default:
      return {1, 0};  // empty
  }
}

}  // namespace

AttributeIndex::StringIndex& AttributeIndex::StringField(Field f) {
  return strings_[static_cast<int>(f) - static_cast<int>(Field::kCompany)];
}
const AttributeIndex::StringIndex& AttributeIndex::StringField(Field f) const {
  return strings_[static_cast<int>(f) - static_cast<int>(Field::kCompany)];
}

void AttributeIndex::Add(const Contact& c) {
  const ContactId id = c.id;
  all_.add(id);
  for (Field f : {Field::kCompany, Field::kJobTitle, Field::kCountry,
                  Field::kCity, Field::kSource}) {
    const std::string& v = StringFieldOf(c, f);
    if (v.empty()) continue;
    StringIndex& index = StringField(f);
    index.by_value[absl::AsciiStrToLower(v)].add(id);
    index.set.add(id);
  }
  for (const std::string& tag : c.tags) tags_[tag].add(id);
  if (!c.tags.empty()) tagged_.add(id);
  lifecycle_[static_cast<int>(c.lifecycle_stage)].add(id);
  trend_[static_cast<int>(c.engagement_trend)].add(id);
  likelihood_[static_cast<int>(c.conversion_likelihood)].add(id);
  lead_score_.by_key[c.lead_score].add(id);
  engagement_score_.by_key[c.engagement_score].add(id);
  created_day_.by_key[DayOf(c.created_at)].add(id);
  if (c.last_engaged_at.has_value()) {
    last_engaged_day_.by_key[DayOf(*c.last_engaged_at)].add(id);
    last_engaged_day_.set.add(id);
  }
}

void AttributeIndex::Remove(const Contact& c) {
  const ContactId id = c.id;
  // Empty bitmaps are dropped so dictionaries hold only live values.
  auto remove_from = [id](auto& map, const auto& key) {
    auto it = map.find(key);
    if (it == map.end()) return;
    it->second.remove(id);
    if (it->second.isEmpty()) map.erase(it);
  };
  all_.remove(id);
  for (Field f : {Field::kCompany, Field::kJobTitle, Field::kCountry,
                  Field::kCity, Field::kSource}) {
    const std::string& v = StringFieldOf(c, f);
    if (v.empty()) continue;
    StringIndex& index = StringField(f);
    remove_from(index.by_value, absl::AsciiStrToLower(v));
    index.set.remove(id);
  }
  for (const std::string& tag : c.tags) remove_from(tags_, tag);
  tagged_.remove(id);
  lifecycle_[static_cast<int>(c.lifecycle_stage)].remove(id);
  trend_[static_cast<int>(c.engagement_trend)].remove(id);
  likelihood_[static_cast<int>(c.conversion_likelihood)].remove(id);
  remove_from(lead_score_.by_key, int64_t{c.lead_score});
  remove_from(engagement_score_.by_key, int64_t{c.engagement_score});
  remove_from(created_day_.by_key, DayOf(c.created_at));
  if (c.last_engaged_at.has_value()) {
    remove_from(last_engaged_day_.by_key, DayOf(*c.last_engaged_at));
    last_engaged_day_.set.remove(id);
  }
}

Roaring AttributeIndex::Evaluate(const Filter& filter, UnixSeconds now,
                                 const ContactTable& contacts) const {
  if (filter.conditions.empty()) return Roaring();
  Roaring result = EvaluateCondition(filter.conditions[0], now, contacts);
  for (size_t i = 1; i < filter.conditions.size(); ++i) {
    if (filter.match == Match::kAny) {
      result |= EvaluateCondition(filter.conditions[i], now, contacts);
    } else {
      if (result.isEmpty()) break;
      result &= EvaluateCondition(filter.conditions[i], now, contacts);
    }
  }
  result.runOptimize();
  return result;
}

Roaring AttributeIndex::EvaluateCondition(const Condition& c, UnixSeconds now,
                                          const ContactTable& contacts) const {
  // A negative operator is the exact complement of its positive twin.
  if (std::optional<Operator> twin = PositiveTwin(c.op); twin.has_value()) {
    Condition positive = c;
    positive.op = *twin;
    return all_ - EvaluateCondition(positive, now, contacts);
  }
  switch (GetFieldInfo(c.field).type) {
    case FieldType::kString:
      return c.field == Field::kEmail ? EvaluateEmail(c, contacts)
                                      : EvaluateString(c);
    case FieldType::kTags:
      return EvaluateTags(c);
    case FieldType::kOrderedEnum:
    case FieldType::kEnum:
      return EvaluateEnum(c);
    case FieldType::kNumber:
      return EvaluateNumber(c);
    case FieldType::kTimestamp:
      return EvaluateTimestamp(c, now, contacts);
  }
  return Roaring();
}

Roaring AttributeIndex::EvaluateString(const Condition& c) const {
  const StringIndex& index = StringField(c.field);
  std::vector<const Roaring*> parts;
  if (c.op == Operator::kIsSet) return index.set;
  if (IsSubstringOperator(c.op)) {
    // Scans the dictionary of distinct values, not the contacts.
    for (const auto& [value, bitmap] : index.by_value) {
      if (SubstringMatches(c.op, value, c.strings[0])) parts.push_back(&bitmap);
    }
  } else {  // EQUALS, IN
    for (const std::string& s : c.strings) {
      auto it = index.by_value.find(s);
      if (it != index.by_value.end()) parts.push_back(&it->second);
    }
  }
  return Union(parts);
}

Roaring AttributeIndex::EvaluateEmail(const Condition& c,
                                      const ContactTable& contacts) const {
  std::vector<uint32_t> ids;
  if (IsSubstringOperator(c.op)) {
    contacts.ForEachEmail([&](const std::string& email, ContactId id) {
      if (SubstringMatches(c.op, email, c.strings[0])) ids.push_back(id);
    });
  } else if (c.op == Operator::kIsSet) {
    return all_;
  } else {  // EQUALS, IN
    for (const std::string& s : c.strings) {
      if (ContactId id = contacts.FindEmail(s); id != 0) ids.push_back(id);
    }
  }
  return FromIds(std::move(ids));
}

Roaring AttributeIndex::EvaluateTags(const Condition& c) const {
  if (c.op == Operator::kIsSet) return tagged_;
  if (c.op == Operator::kHasAll) {
    Roaring result = all_;
    for (const std::string& tag : c.strings) {
      auto it = tags_.find(tag);
      if (it == tags_.end()) return Roaring();
      result &= it->second;
    }
    return result;
  }
  std::vector<const Roaring*> parts;  // HAS_ANY
  for (const std::string& tag : c.strings) {
    auto it = tags_.find(tag);
    if (it != tags_.end()) parts.push_back(&it->second);
  }
  return Union(parts);
}

Roaring AttributeIndex::EvaluateEnum(const Condition& c) const {
  const Roaring* slots;
  int count;
  switch (c.field) {
    case Field::kLifecycleStage:
      slots = lifecycle_.data();
      count = static_cast<int>(lifecycle_.size());
      break;
    case Field::kEngagementTrend:
      slots = trend_.data();
      count = static_cast<int>(trend_.size());
      break;
    default:
      slots = likelihood_.data();
      count = static_cast<int>(likelihood_.size());
      break;
  }
  // Slot 0 holds the contacts whose value is unset; no comparison selects it.
  auto in_range = [&](int64_t lo, int64_t hi) {
    std::vector<const Roaring*> parts;
    for (int64_t v = std::max<int64_t>(lo, 1);
         v <= std::min<int64_t>(hi, count - 1); ++v) {
      parts.push_back(&slots[v]);
    }
    return Union(parts);
  };
  const int64_t v = c.numbers.empty() ? 0 : c.numbers[0];
  switch (c.op) {
    case Operator::kIsSet:
      return all_ - slots[0];
    case Operator::kEquals:
      return in_range(v, v);
    case Operator::kIn: {
      std::vector<const Roaring*> parts;
      for (int64_t n : c.numbers) {
        if (n >= 1 && n < count) parts.push_back(&slots[n]);
      }
      return Union(parts);
    }
    case Operator::kGreaterThan:
      return in_range(v + 1, count);
    case Operator::kGreaterOrEqual:
      return in_range(v, count);
    case Operator::kLessThan:
      return in_range(1, v - 1);
    case Operator::kLessOrEqual:
      return in_range(1, v);
    default:
      return Roaring();
  }
}

Roaring AttributeIndex::EvaluateNumber(const Condition& c) const {
  const OrderedIndex& index =
      c.field == Field::kLeadScore ? lead_score_ : engagement_score_;
  const int64_t v = c.numbers[0];
  switch (c.op) {
    case Operator::kEquals:
      return Range(index, v, v);
    case Operator::kGreaterThan:
      return v == kMax ? Roaring() : Range(index, v + 1, kMax);
    case Operator::kGreaterOrEqual:
      return Range(index, v, kMax);
    case Operator::kLessThan:
      return v == kMin ? Roaring() : Range(index, kMin, v - 1);
    case Operator::kLessOrEqual:
      return Range(index, kMin, v);
    case Operator::kBetween:
      return Range(index, c.numbers[0], c.numbers[1]);
    default:
      return Roaring();
  }
}

Roaring AttributeIndex::EvaluateTimestamp(const Condition& c, UnixSeconds now,
                                          const ContactTable& contacts) const {
  const bool created = c.field == Field::kCreatedAt;
  const OrderedIndex& index = created ? created_day_ : last_engaged_day_;
  if (c.op == Operator::kIsSet) return created ? all_ : index.set;
  const auto [lo, hi] = TimeRange(c, now);
  if (lo > hi) return Roaring();
  const int64_t first_day = DayOf(lo);
  const int64_t last_day = DayOf(hi);
  // Whole days strictly inside the range match without looking further.
  Roaring result = last_day - first_day >= 2
                       ? Range(index, first_day + 1, last_day - 1)
                       : Roaring();
  // The boundary days are checked contact by contact.
  std::vector<uint32_t> ids;
  for (int64_t day : {first_day, last_day}) {
    auto it = index.by_key.find(day);
    if (it == index.by_key.end()) continue;
    for (uint32_t id : it->second) {
      const int64_t t =
          created ? contacts.created_at(id) : *contacts.last_engaged_at(id);
      if (t >= lo && t <= hi) ids.push_back(id);
    }
    if (first_day == last_day) break;
  }
  result |= FromIds(std::move(ids));
  return result;
}

Roaring AttributeIndex::Range(const OrderedIndex& index, int64_t lo,
                              int64_t hi) {
  if (lo > hi) return Roaring();
  std::vector<const Roaring*> parts;
  for (auto it = index.by_key.lower_bound(lo);
       it != index.by_key.end() && it->first <= hi; ++it) {
    parts.push_back(&it->second);
  }
  return Union(parts);
}

}  // namespace segments
