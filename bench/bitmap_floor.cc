#include "bench/bitmap_floor.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"

namespace segments::bench {
namespace {

// One posting of `index` by key, or nothing when no contact has the key.
template <typename Map, typename Key>
void AddPosting(const Map& index, const Key& key, FloorPlan::Group* group) {
  auto it = index.find(key);
  if (it != index.end()) group->postings.push_back(&it->second);
}

Roaring Intersection(const std::vector<const Roaring*>& postings) {
  if (postings.empty()) return Roaring();
  Roaring out = *postings[0];
  for (size_t i = 1; i < postings.size(); ++i) out &= *postings[i];
  return out;
}

Roaring Union(const std::vector<const Roaring*>& postings) {
  if (postings.size() == 1) return *postings[0];  // a copy
  // CRoaring 0.2.66 takes the array as non-const; it does not write to it.
  std::vector<const Roaring*> copy = postings;
  return Roaring::fastunion(copy.size(), copy.data());
}

}  // namespace

Roaring Combine(const FloorPlan& plan) {
  std::vector<Roaring> groups;
  groups.reserve(plan.groups.size());
  for (const FloorPlan::Group& g : plan.groups) {
    groups.push_back(g.intersect ? Intersection(g.postings)
                                 : Union(g.postings));
  }
  std::vector<const Roaring*> pointers;
  for (const Roaring& r : groups) pointers.push_back(&r);
  if (pointers.size() == 1) return std::move(groups[0]);
  return plan.all ? Intersection(pointers) : Union(pointers);
}

std::unique_ptr<PostingFloor> PostingFloor::Build(size_t contacts) {
  std::unique_ptr<PostingFloor> f(new PostingFloor());
  const ContactGenerator gen;
  for (uint64_t i = 0; i < contacts; ++i) {
    absl::StatusOr<Contact> c =
        NormalizeNewContact(gen.Make(i), "contact", kBenchNow);
    if (!c.ok()) continue;  // the generator makes valid contacts only
    const auto id = static_cast<uint32_t>(i + 1);
    if (!c->country.empty()) {
      f->strings_[kCountry][absl::AsciiStrToLower(c->country)].add(id);
    }
    if (!c->company.empty()) {
      f->strings_[kCompany][absl::AsciiStrToLower(c->company)].add(id);
    }
    f->strings_[kDomain][c->email.substr(c->email.find('@') + 1)].add(id);
    for (const std::string& tag : c->tags) f->tags_[tag].add(id);
    f->lifecycle_[static_cast<int64_t>(c->lifecycle_stage)].add(id);
    f->lead_score_[c->lead_score].add(id);
    f->days_[0][c->created_at / kSecondsPerDay].add(id);
    if (c->last_engaged_at.has_value()) {
      f->days_[1][*c->last_engaged_at / kSecondsPerDay].add(id);
    }
  }
  return f;
}

absl::StatusOr<FloorPlan::Group> PostingFloor::GroupOf(
    const Condition& c) const {
  FloorPlan::Group g;
  const auto unsupported = [&c] {
    return absl::UnimplementedError(
        absl::StrCat("no floor for ", std::string(ContactFieldName(c.field)),
                     " ", std::string(OperatorName(c.op))));
  };
  const auto strings =
      [&]() -> const absl::flat_hash_map<std::string, Roaring>* {
    switch (c.field) {
      case Field::kCountry:
        return &strings_[kCountry];
      case Field::kCompany:
        return &strings_[kCompany];
      case Field::kTags:
        return &tags_;
      default:
        return nullptr;
    }
  }();
  switch (c.op) {
    case Operator::kEquals:
    case Operator::kIn:
    case Operator::kHasAny:
    case Operator::kHasAll:
      if (strings == nullptr) return unsupported();
      for (const std::string& s : c.strings) AddPosting(*strings, s, &g);
      g.intersect = c.op == Operator::kHasAll;
      return g;
    case Operator::kContains:
      if (strings == nullptr) return unsupported();
      for (const auto& [value, posting] : *strings) {
        if (absl::StrContains(value, c.strings[0])) {
          g.postings.push_back(&posting);
        }
      }
      return g;
    case Operator::kEndsWith:
      if (c.field != Field::kEmail || !absl::StartsWith(c.strings[0], "@")) {
        return unsupported();
      }
      AddPosting(strings_[kDomain], c.strings[0].substr(1), &g);
      return g;
    case Operator::kGreaterOrEqual:
    case Operator::kBetween: {
      const std::map<int64_t, Roaring>* ordered =
          c.field == Field::kLifecycleStage ? &lifecycle_
          : c.field == Field::kLeadScore    ? &lead_score_
                                            : nullptr;
      if (ordered == nullptr) return unsupported();
      const int64_t high =
          c.op == Operator::kBetween ? c.numbers[1] : INT64_MAX;
      for (auto it = ordered->lower_bound(c.numbers[0]);
           it != ordered->end() && it->first <= high; ++it) {
        g.postings.push_back(&it->second);
      }
      return g;
    }
    case Operator::kWithinLastDays: {
      if (c.field != Field::kCreatedAt && c.field != Field::kLastEngagedAt) {
        return unsupported();
      }
      const int64_t cut = kBenchNow - c.numbers[0] * kSecondsPerDay;
      if (cut % kSecondsPerDay != 0) return unsupported();
      const auto& days = days_[c.field == Field::kCreatedAt ? 0 : 1];
      for (auto it = days.lower_bound(cut / kSecondsPerDay); it != days.end();
           ++it) {
        g.postings.push_back(&it->second);
      }
      return g;
    }
    default:
      return unsupported();
  }
}

absl::StatusOr<FloorPlan> PostingFloor::Plan(const FilterSpec& spec) const {
  absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
  if (!filter.ok()) return filter.status();
  FloorPlan plan;
  plan.all = filter->match == Match::kAll;
  for (const Condition& c : filter->conditions) {
    absl::StatusOr<FloorPlan::Group> g = GroupOf(c);
    if (!g.ok()) return g.status();
    plan.groups.push_back(*std::move(g));
  }
  return plan;
}

}  // namespace segments::bench
