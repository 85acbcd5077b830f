#include "core/index/attribute_index.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/base/ascii.h"
#include "core/base/parallel.h"

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

// Adds `contacts` (consumed) to the bitmap of `key`.
template <typename Map, typename Key>
void MergeInto(Map& map, const Key& key, Roaring& contacts) {
  auto [it, inserted] = map.try_emplace(key);
  if (inserted) {
    it->second = std::move(contacts);
  } else {
    it->second |= contacts;
  }
}

template <size_t N>
void MergeEach(std::array<Roaring, N>& to, const std::array<Roaring, N>& from) {
  for (size_t i = 0; i < N; ++i) to[i] |= from[i];
}

// Removes `id` from the bitmap of `key`; empty bitmaps are dropped so the
// maps hold only live keys.
template <typename Map, typename Key>
void RemoveFrom(Map& map, const Key& key, ContactId id) {
  auto it = map.find(key);
  if (it == map.end()) return;
  it->second.remove(id);
  if (it->second.isEmpty()) map.erase(it);
}

// The domain of a normalized email: the part after its one '@'.
std::string_view DomainOf(std::string_view email) {
  const size_t at = email.find('@');
  return at == std::string_view::npos ? std::string_view()
                                      : email.substr(at + 1);
}

// Lowercases `*s` from offset `from` on.
void LowerAsciiInPlace(std::string* s, size_t from) {
  for (size_t i = from; i < s->size(); ++i) {
    (*s)[i] = absl::ascii_tolower(static_cast<unsigned char>((*s)[i]));
  }
}

// `v` lowercased, in `buffer` (kMaxStringFieldBytes long: values are at
// most that, and this runs for every field of every contact on a restart)
// or, for a longer value, in `*heap`.
std::string_view Lowered(const std::string& v, char* buffer,
                         std::string* heap) {
  if (v.size() <= kMaxStringFieldBytes) {
    for (size_t i = 0; i < v.size(); ++i) {
      buffer[i] = absl::ascii_tolower(static_cast<unsigned char>(v[i]));
    }
    return std::string_view(buffer, v.size());
  }
  *heap = LowerAscii(v);
  return *heap;
}

// Whether re-indexing `f` can change anything: its indexed form (the
// lowercased string, the email's domain, the day of a timestamp) differs.
bool IndexedValueDiffers(ContactField f, const Contact& a, const Contact& b) {
  switch (f) {
    case ContactField::kEmail:
      return DomainOf(a.email) != DomainOf(b.email);
    case ContactField::kCompany:
    case ContactField::kJobTitle:
    case ContactField::kCountry:
    case ContactField::kCity:
    case ContactField::kSource:
      return !absl::EqualsIgnoreCase(StringFieldOf(a, f), StringFieldOf(b, f));
    case ContactField::kTags:
      return a.tags != b.tags;
    case ContactField::kLifecycleStage:
      return a.lifecycle_stage != b.lifecycle_stage;
    case ContactField::kLeadScore:
      return a.lead_score != b.lead_score;
    case ContactField::kEngagementScore:
      return a.engagement_score != b.engagement_score;
    case ContactField::kEngagementTrend:
      return a.engagement_trend != b.engagement_trend;
    case ContactField::kConversionLikelihood:
      return a.conversion_likelihood != b.conversion_likelihood;
    case ContactField::kCreatedAt:
      return DayOf(a.created_at) != DayOf(b.created_at);
    case ContactField::kLastEngagedAt:
      if (a.last_engaged_at.has_value() != b.last_engaged_at.has_value()) {
        return true;
      }
      return a.last_engaged_at.has_value() &&
             DayOf(*a.last_engaged_at) != DayOf(*b.last_engaged_at);
  }
  return true;
}

// The members of `candidates` whose email satisfies `keep`, reading only
// their emails: a ContactLookup offers emails by a walk in id order, so the
// walk skips every other contact without touching its email.
template <typename Keep>
Roaring FilterByEmail(const ContactLookup& contacts, const Roaring& candidates,
                      Keep keep) {
  std::vector<uint32_t> wanted(candidates.cardinality());
  candidates.toUint32Array(wanted.data());
  std::vector<uint32_t> ids;
  size_t next = 0;
  contacts.ForEachEmail([&](const std::string& email, ContactId id) {
    while (next < wanted.size() && wanted[next] < id) ++next;
    if (next == wanted.size() || wanted[next] != id) return;
    if (keep(std::string_view(email))) ids.push_back(id);
  });
  Roaring result;
  result.addMany(ids.size(), ids.data());
  return result;
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

// The key of number or timestamp field `f` in its ordered index; false
// when `c` has none (an unset last_engaged_at is in no entry, as in
// IndexField).
bool OrderedKey(ContactField f, const Contact& c, int64_t* key) {
  switch (f) {
    case ContactField::kLeadScore:
      *key = c.lead_score;
      return true;
    case ContactField::kEngagementScore:
      *key = c.engagement_score;
      return true;
    case ContactField::kCreatedAt:
      *key = DayOf(c.created_at);
      return true;
    default:
      if (!c.last_engaged_at.has_value()) return false;
      *key = DayOf(*c.last_engaged_at);
      return true;
  }
}

// The batch's (key, id) pairs grouped by key: `keys` ascending and distinct,
// group g's ids at ids[begin[g] .. begin[g + 1]), in batch order.
struct KeyGroups {
  std::vector<int64_t> keys;
  std::vector<uint32_t> begin;
  std::vector<ContactId> ids;
};

// Groups `keyed` by key. A counting sort when the keys span a range not much
// wider than the batch (scores 0..100; the days of a few years): no
// comparison sort of the pairs, which was half of the ordered indexes' time
// at a restart (issue 18); a comparison sort otherwise.
void GroupByKey(std::vector<std::pair<int64_t, ContactId>>& keyed,
                KeyGroups* out) {
  out->keys.clear();
  out->begin.clear();
  out->ids.clear();
  if (keyed.empty()) {
    out->begin.push_back(0);
    return;
  }
  int64_t lo = keyed[0].first, hi = keyed[0].first;
  for (const auto& [key, id] : keyed) {
    lo = std::min(lo, key);
    hi = std::max(hi, key);
  }
  out->ids.resize(keyed.size());
  // hi - lo as unsigned: no overflow whatever the keys.
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span < 4 * keyed.size() + 1024) {
    std::vector<uint32_t> count(span + 2, 0);
    for (const auto& [key, id] : keyed) {
      ++count[static_cast<uint64_t>(key) - static_cast<uint64_t>(lo) + 1];
    }
    // count[k] becomes the first position of key lo + k.
    for (size_t k = 1; k < count.size(); ++k) {
      if (count[k] != 0) {
        out->keys.push_back(lo + static_cast<int64_t>(k - 1));
        out->begin.push_back(count[k - 1]);
      }
      count[k] += count[k - 1];
    }
    for (const auto& [key, id] : keyed) {
      out->ids[count[static_cast<uint64_t>(key) -
                     static_cast<uint64_t>(lo)]++] = id;
    }
  } else {
    std::stable_sort(
        keyed.begin(), keyed.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < keyed.size(); ++i) {
      if (i == 0 || keyed[i].first != keyed[i - 1].first) {
        out->keys.push_back(keyed[i].first);
        out->begin.push_back(static_cast<uint32_t>(i));
      }
      out->ids[i] = keyed[i].second;
    }
  }
  out->begin.push_back(static_cast<uint32_t>(keyed.size()));
}

// Adds the batch's values of number or timestamp field `f` to its ordered
// index (`by_key`, and `set` for last_engaged_at), grouped by key: one
// addMany per distinct key, the keys visited in order along the map (a
// step to the next node, not a walk from the root per key). As IndexField:
// an unset last_engaged_at is in no entry.
void AddOrdered(ContactField f, absl::Span<const Contact* const> batch,
                std::map<int64_t, Roaring>* by_key, Roaring* set) {
  std::vector<std::pair<int64_t, ContactId>> keyed;
  keyed.reserve(batch.size());
  for (const Contact* c : batch) {
    int64_t key;
    if (OrderedKey(f, *c, &key)) keyed.emplace_back(key, c->id);
  }
  if (f == ContactField::kLastEngagedAt && !keyed.empty()) {
    std::vector<ContactId> ids;
    ids.reserve(keyed.size());
    for (const auto& [key, id] : keyed) ids.push_back(id);
    set->addMany(ids.size(), ids.data());
  }
  KeyGroups groups;
  GroupByKey(keyed, &groups);
  auto it = by_key->begin();
  for (size_t g = 0; g < groups.keys.size(); ++g) {
    const int64_t key = groups.keys[g];
    // Keys ascending: the entry is at or after `it`. A few steps along the
    // map when the keys are dense, else a lookup.
    for (int steps = 0; it != by_key->end() && it->first < key; ++steps) {
      if (steps == 4) {
        it = by_key->lower_bound(key);
        break;
      }
      ++it;
    }
    if (it == by_key->end() || it->first != key) {
      it = by_key->emplace_hint(it, key, Roaring());
    }
    it->second.addMany(groups.begin[g + 1] - groups.begin[g],
                       groups.ids.data() + groups.begin[g]);
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
  const Contact* const one[] = {&c};
  AddBatch(absl::MakeConstSpan(one));
}

void AttributeIndex::AddBatch(absl::Span<const Contact> batch) {
  std::vector<const Contact*> pointers;
  pointers.reserve(batch.size());
  for (const Contact& c : batch) pointers.push_back(&c);
  AddBatch(absl::MakeConstSpan(pointers));
}

void AttributeIndex::AddBatch(absl::Span<const Contact* const> batch) {
  AddBatchFields(batch, kAllContactFields);
}

void AttributeIndex::AddBatchConcurrently(
    absl::Span<const Contact* const> batch) {
  // The text fields (email, which brings all_, to source) on one thread,
  // tags and the scalars on the other: about even, and each field's index
  // is its own.
  constexpr int kFirstOfSecondHalf = static_cast<int>(ContactField::kTags);
  RunConcurrently(
      [&] { AddFields(batch, 0, kFirstOfSecondHalf); },
      [&] { AddFields(batch, kFirstOfSecondHalf, kContactFieldCount); });
}

void AttributeIndex::Merge(AttributeIndex&& other) {
  for (size_t i = 0; i < strings_.size(); ++i) {
    strings_[i].by_value.Merge(std::move(other.strings_[i].by_value));
    strings_[i].set |= other.strings_[i].set;
  }
  domains_.Merge(std::move(other.domains_));
  for (auto& [tag, contacts] : other.tags_) MergeInto(tags_, tag, contacts);
  tagged_ |= other.tagged_;
  MergeEach(lifecycle_, other.lifecycle_);
  MergeEach(trend_, other.trend_);
  MergeEach(likelihood_, other.likelihood_);
  for (auto [mine, theirs] :
       {std::pair{&lead_score_, &other.lead_score_},
        std::pair{&engagement_score_, &other.engagement_score_},
        std::pair{&created_day_, &other.created_day_},
        std::pair{&last_engaged_day_, &other.last_engaged_day_}}) {
    for (auto& [key, contacts] : theirs->by_key) {
      MergeInto(mine->by_key, key, contacts);
    }
    mine->set |= theirs->set;
  }
  all_ |= other.all_;
}

void AttributeIndex::AddFields(absl::Span<const Contact* const> batch,
                               int first, int end) {
  ContactFieldSet fields = 0;
  for (int f = first; f < end; ++f) {
    fields |= FieldBit(static_cast<ContactField>(f));
  }
  AddBatchFields(batch, fields);
}

void AttributeIndex::AddBatchFields(absl::Span<const Contact* const> batch,
                                    ContactFieldSet fields) {
  if (fields & FieldBit(ContactField::kEmail)) AddIds(batch, &all_);
  for (int f = 0; f < kContactFieldCount; ++f) {
    const auto field = static_cast<ContactField>(f);
    if (fields & FieldBit(field)) AddField(field, batch);
  }
}

void AttributeIndex::AddIds(absl::Span<const Contact* const> batch,
                            Roaring* bitmap) {
  std::vector<ContactId> ids;
  ids.reserve(batch.size());
  for (const Contact* c : batch) ids.push_back(c->id);
  bitmap->addMany(ids.size(), ids.data());
}

void AttributeIndex::AddField(ContactField field,
                              absl::Span<const Contact* const> batch) {
  // Bitmaps a whole batch goes into (an enum value's, a field's "set") take
  // its ids in one addMany, not an add (a search for the container) each.
  std::vector<ContactId> ids;
  ids.reserve(batch.size());
  auto add_enum = [&](auto& bitmaps, auto value_of) {
    std::vector<ContactId>
        by_value[std::tuple_size_v<std::remove_reference_t<decltype(bitmaps)>>];
    for (const Contact* c : batch) {
      by_value[static_cast<int>(value_of(*c))].push_back(c->id);
    }
    for (size_t v = 0; v < bitmaps.size(); ++v) {
      if (!by_value[v].empty()) {
        bitmaps[v].addMany(by_value[v].size(), by_value[v].data());
      }
    }
  };
  switch (field) {
    case ContactField::kEmail: {
      std::vector<std::string_view> domains;
      domains.reserve(batch.size());
      for (const Contact* c : batch) {
        domains.push_back(DomainOf(c->email));
        ids.push_back(c->id);
      }
      domains_.AddAll(domains, ids);
      return;
    }
    case ContactField::kCompany:
    case ContactField::kJobTitle:
    case ContactField::kCountry:
    case ContactField::kCity:
    case ContactField::kSource: {
      // The batch's lowercased values back to back, then a view of each.
      std::string lowered;
      lowered.reserve(batch.size() * 16);
      std::vector<uint32_t> ends;
      ends.reserve(batch.size());
      for (const Contact* c : batch) {
        const std::string& v = StringFieldOf(*c, field);
        if (v.empty()) continue;
        const size_t at = lowered.size();
        lowered.append(v);
        LowerAsciiInPlace(&lowered, at);
        ends.push_back(static_cast<uint32_t>(lowered.size()));
        ids.push_back(c->id);
      }
      std::vector<std::string_view> values;
      values.reserve(ends.size());
      for (size_t i = 0; i < ends.size(); ++i) {
        const uint32_t begin = i == 0 ? 0 : ends[i - 1];
        values.emplace_back(lowered.data() + begin, ends[i] - begin);
      }
      StringIndex& index = StringField(field);
      index.by_value.AddAll(values, ids);
      index.set.addMany(ids.size(), ids.data());
      return;
    }
    case ContactField::kTags:
      for (const Contact* c : batch) {
        if (c->tags.empty()) continue;
        for (const std::string& tag : c->tags) tags_[tag].add(c->id);
        ids.push_back(c->id);
      }
      tagged_.addMany(ids.size(), ids.data());
      return;
    case ContactField::kLifecycleStage:
      add_enum(lifecycle_, [](const Contact& c) { return c.lifecycle_stage; });
      return;
    case ContactField::kEngagementTrend:
      add_enum(trend_, [](const Contact& c) { return c.engagement_trend; });
      return;
    case ContactField::kConversionLikelihood:
      add_enum(likelihood_,
               [](const Contact& c) { return c.conversion_likelihood; });
      return;
    case ContactField::kLeadScore:
      AddOrdered(field, batch, &lead_score_.by_key, &lead_score_.set);
      return;
    case ContactField::kEngagementScore:
      AddOrdered(field, batch, &engagement_score_.by_key,
                 &engagement_score_.set);
      return;
    case ContactField::kCreatedAt:
      AddOrdered(field, batch, &created_day_.by_key, &created_day_.set);
      return;
    case ContactField::kLastEngagedAt:
      AddOrdered(field, batch, &last_engaged_day_.by_key,
                 &last_engaged_day_.set);
      return;
  }
}

void AttributeIndex::Remove(const Contact& c) {
  for (int f = 0; f < kContactFieldCount; ++f) {
    IndexField(static_cast<ContactField>(f), c, /*add=*/false);
  }
  all_.remove(c.id);
}

void AttributeIndex::Update(const Contact& before, const Contact& after,
                            ContactFieldSet changed) {
  const ContactId id = after.id;
  for (int i = 0; i < kContactFieldCount; ++i) {
    const auto f = static_cast<ContactField>(i);
    if ((changed & FieldBit(f)) == 0 ||
        !IndexedValueDiffers(f, before, after)) {
      continue;
    }
    if (f != ContactField::kTags) {
      IndexField(f, before, /*add=*/false);
      IndexField(f, after, /*add=*/true);
      continue;
    }
    // Only the tags that come or go (both lists are sorted and unique).
    const std::vector<std::string>& old_tags = before.tags;
    const std::vector<std::string>& new_tags = after.tags;
    size_t a = 0, b = 0;
    while (a < old_tags.size() || b < new_tags.size()) {
      if (b == new_tags.size() ||
          (a < old_tags.size() && old_tags[a] < new_tags[b])) {
        RemoveFrom(tags_, old_tags[a++], id);
      } else if (a == old_tags.size() || new_tags[b] < old_tags[a]) {
        tags_[new_tags[b++]].add(id);
      } else {
        ++a;
        ++b;
      }
    }
    if (new_tags.empty()) {
      tagged_.remove(id);
    } else {
      tagged_.add(id);
    }
  }
}

void AttributeIndex::IndexField(ContactField f, const Contact& c, bool add) {
  const ContactId id = c.id;
  // An ordered index entry, or a bitmap slot, gains or loses `id`.
  auto ordered = [&](OrderedIndex& index, int64_t key) {
    if (add) {
      index.by_key[key].add(id);
    } else {
      RemoveFrom(index.by_key, key, id);
    }
  };
  auto slot = [&](Roaring& bitmap) {
    if (add) {
      bitmap.add(id);
    } else {
      bitmap.remove(id);
    }
  };
  switch (f) {
    case ContactField::kEmail: {
      const std::string_view domain = DomainOf(c.email);
      if (add) {
        domains_.Add(domain, id);
      } else {
        domains_.Remove(domain, id);
      }
      return;
    }
    case ContactField::kCompany:
    case ContactField::kJobTitle:
    case ContactField::kCountry:
    case ContactField::kCity:
    case ContactField::kSource: {
      const std::string& v = StringFieldOf(c, f);
      if (v.empty()) return;
      StringIndex& index = StringField(f);
      char buffer[kMaxStringFieldBytes];
      std::string heap;
      const std::string_view lowered = Lowered(v, buffer, &heap);
      if (add) {
        index.by_value.Add(lowered, id);
      } else {
        index.by_value.Remove(lowered, id);
      }
      slot(index.set);
      return;
    }
    case ContactField::kTags:
      for (const std::string& tag : c.tags) {
        if (add) {
          tags_[tag].add(id);
        } else {
          RemoveFrom(tags_, tag, id);
        }
      }
      if (!c.tags.empty()) slot(tagged_);
      return;
    case ContactField::kLifecycleStage:
      slot(lifecycle_[static_cast<int>(c.lifecycle_stage)]);
      return;
    case ContactField::kEngagementTrend:
      slot(trend_[static_cast<int>(c.engagement_trend)]);
      return;
    case ContactField::kConversionLikelihood:
      slot(likelihood_[static_cast<int>(c.conversion_likelihood)]);
      return;
    case ContactField::kLeadScore:
      ordered(lead_score_, c.lead_score);
      return;
    case ContactField::kEngagementScore:
      ordered(engagement_score_, c.engagement_score);
      return;
    case ContactField::kCreatedAt:
      ordered(created_day_, DayOf(c.created_at));
      return;
    case ContactField::kLastEngagedAt:
      if (!c.last_engaged_at.has_value()) return;
      ordered(last_engaged_day_, DayOf(*c.last_engaged_at));
      slot(last_engaged_day_.set);
      return;
  }
}

Roaring AttributeIndex::Evaluate(const Filter& filter, UnixSeconds now,
                                 const ContactLookup& contacts,
                                 const ReferenceBitmaps* refs) const {
  if (filter.conditions.empty()) return Roaring();
  Roaring result = EvaluateCondition(filter.conditions[0], now, contacts, refs);
  for (size_t i = 1; i < filter.conditions.size(); ++i) {
    if (filter.match == Match::kAny) {
      result |= EvaluateCondition(filter.conditions[i], now, contacts, refs);
    } else {
      if (result.isEmpty()) break;
      result &= EvaluateCondition(filter.conditions[i], now, contacts, refs);
    }
  }
  // Not run-optimized here: the callers that keep the bitmap (a segment's
  // install and load, core/engine) optimize it once; a preview or a batch's
  // matching would pay the scan for nothing (issue 18).
  return result;
}

Roaring AttributeIndex::EvaluateCondition(const Condition& c, UnixSeconds now,
                                          const ContactLookup& contacts,
                                          const ReferenceBitmaps* refs) const {
  if (c.is_group()) return Evaluate(*c.group, now, contacts, refs);
  if (c.is_reference()) {
    // A reference reads the segment's bitmap, never its rules.
    const Roaring in =
        refs == nullptr ? Roaring() : refs->Members(c.segment_id) & all_;
    return c.op == Operator::kInSegment ? in : all_ - in;
  }
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
  if (c.op == Operator::kIsSet) return index.set;
  if (c.op == Operator::kEquals) {
    const Postings* p = index.by_value.Find(c.strings[0]);
    return p == nullptr ? Roaring() : p->ToRoaring();
  }
  UnionBuilder matches(all_.maximum());
  if (IsSubstringOperator(c.op)) {
    // Scans the dictionary of distinct values, not the contacts.
    index.by_value.CollectMatches(c.op, c.strings[0], &matches);
  } else {  // EQUALS, IN
    for (const std::string& s : c.strings) {
      if (const Postings* p = index.by_value.Find(s)) p->AddTo(&matches);
    }
  }
  return matches.Build();
}

Roaring AttributeIndex::EvaluateEmail(const Condition& c,
                                      const ContactLookup& contacts) const {
  if (IsSubstringOperator(c.op)) {
    return EmailSubstring(c.op, c.strings[0], contacts);
  }
  if (c.op == Operator::kIsSet) return all_;
  std::vector<uint32_t> ids;  // EQUALS, IN
  for (const std::string& s : c.strings) {
    if (ContactId id = contacts.FindEmail(s); id != 0) ids.push_back(id);
  }
  return FromIds(std::move(ids));
}

// A normalized email is `local@domain`, with exactly one '@' and a non-empty
// local part, so a needle splits the same way and most operators reduce to
// the domain dictionary:
// - no '@': ENDS_WITH is a suffix of the domain (dictionary scan); CONTAINS
//   and STARTS_WITH may lie in the local part: a walk over every email;
// - more than one '@': nothing matches;
// - `l@d`: ENDS_WITH: domain == d (one lookup), then, if l is not empty,
//   the emails of that domain ending with the needle; STARTS_WITH: local
//   == l and domain starts with d: one email lookup per such domain;
//   CONTAINS: local ends with l and domain starts with d: the domains
//   starting with d, then, if l is not empty, their emails containing it.
// Needles are lowercase (the validator made them so), as emails are.
Roaring AttributeIndex::EmailSubstring(Operator op, std::string_view needle,
                                       const ContactLookup& contacts) const {
  const size_t at = needle.find('@');
  if (at == std::string_view::npos) {
    if (op == Operator::kEndsWith) {
      UnionBuilder matches(all_.maximum());
      domains_.CollectMatches(Operator::kEndsWith, needle, &matches);
      return matches.Build();
    }
    std::vector<uint32_t> ids;
    contacts.ForEachEmail([&](const std::string& email, ContactId id) {
      if (SubstringMatches(op, email, needle)) ids.push_back(id);
    });
    return FromIds(std::move(ids));
  }
  if (needle.find('@', at + 1) != std::string_view::npos) return Roaring();
  const std::string_view local = needle.substr(0, at);
  const std::string_view domain = needle.substr(at + 1);
  switch (op) {
    case Operator::kEndsWith: {
      const Postings* of_domain = domains_.Find(domain);
      if (of_domain == nullptr) return Roaring();
      Roaring candidates = of_domain->ToRoaring();
      if (local.empty()) return candidates;
      return FilterByEmail(contacts, candidates, [&](std::string_view email) {
        return SubstringMatches(op, email, needle);
      });
    }
    case Operator::kStartsWith: {
      std::vector<uint32_t> ids;
      std::string email(local);
      email.push_back('@');
      domains_.ForEach([&](std::string_view d, const Postings&) {
        if (d.substr(0, domain.size()) != domain) return;
        email.resize(local.size() + 1);
        email.append(d.data(), d.size());
        if (ContactId id = contacts.FindEmail(email); id != 0) {
          ids.push_back(id);
        }
      });
      return FromIds(std::move(ids));
    }
    default: {                              // CONTAINS
      if (needle.size() == 1) return all_;  // "@": every email
      UnionBuilder matches(all_.maximum());
      domains_.CollectMatches(Operator::kStartsWith, domain, &matches);
      Roaring candidates = matches.Build();
      if (local.empty()) return candidates;
      return FilterByEmail(contacts, candidates, [&](std::string_view email) {
        return SubstringMatches(op, email, needle);
      });
    }
  }
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
                                          const ContactLookup& contacts) const {
  if (c.op == Operator::kIsSet) {
    return c.field == Field::kCreatedAt ? all_ : last_engaged_day_.set;
  }
  const auto [lo, hi] = TimeRange(c, now);
  return ContactsWithTimestampIn(c.field, lo, hi, contacts);
}

const AttributeIndex::OrderedIndex& AttributeIndex::TimestampIndex(
    Field field) const {
  return field == Field::kCreatedAt ? created_day_ : last_engaged_day_;
}

absl::Span<const Roaring> AttributeIndex::EnumPostings(Field f) const {
  switch (f) {
    case Field::kLifecycleStage:
      return lifecycle_;
    case Field::kEngagementTrend:
      return trend_;
    default:
      return likelihood_;
  }
}

const std::map<int64_t, Roaring>& AttributeIndex::OrderedPostings(
    Field f) const {
  switch (f) {
    case Field::kLeadScore:
      return lead_score_.by_key;
    case Field::kEngagementScore:
      return engagement_score_.by_key;
    default:
      return TimestampIndex(f).by_key;
  }
}

Roaring AttributeIndex::ContactsWithTimestampIn(
    Field field, UnixSeconds lo, UnixSeconds hi,
    const ContactLookup& contacts) const {
  if (lo > hi) return Roaring();
  const OrderedIndex& index = TimestampIndex(field);
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
      const int64_t t = TimestampOf(field, id, contacts);
      if (t >= lo && t <= hi) ids.push_back(id);
    }
    if (first_day == last_day) break;
  }
  result |= FromIds(std::move(ids));
  return result;
}

std::optional<UnixSeconds> AttributeIndex::NextTimestampAfter(
    Field field, UnixSeconds after, const ContactLookup& contacts) const {
  const OrderedIndex& index = TimestampIndex(field);
  for (auto it = index.by_key.lower_bound(DayOf(after));
       it != index.by_key.end(); ++it) {
    std::optional<UnixSeconds> next;
    for (uint32_t id : it->second) {
      const int64_t t = TimestampOf(field, id, contacts);
      if (t > after && (!next.has_value() || t < *next)) next = t;
    }
    // Days are disjoint and ascending: the first one with a later value
    // holds the smallest.
    if (next.has_value()) return next;
  }
  return std::nullopt;
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
