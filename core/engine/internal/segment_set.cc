#include "core/engine/internal/segment_set.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"
#include "core/base/plan_gate.h"
#include "core/base/status_macros.h"
#include "core/base/utf8.h"
#include "core/index/evaluator.h"

namespace segments::engine {

namespace {

// What `s` derives from its own filter alone; SegmentSet::Derive adds what
// the segments it refers to bring.
void DeriveOwn(SegmentEntry* s) {
  const Filter& f = s->record.filter;
  s->kind = KindOf(f);
  s->required_plan = RequiredPlan(f);
  s->plan_field = FirstFieldNeeding(f, s->required_plan);
  s->fields_read = FieldsRead(f);
  s->windows = WindowsOf(f);
  s->depth = 0;
}

// Calls `visit` with every field rule of `filter`, nested groups included.
template <typename Visit>
void VisitRules(const Filter& filter, const Visit& visit) {
  for (const Condition& c : filter.conditions) {
    if (c.is_group()) {
      VisitRules(*c.group, visit);
    } else if (c.is_field_rule()) {
      visit(c);
    }
  }
}

}  // namespace

std::unique_ptr<SegmentEntry> MakeSegmentEntry(SegmentRecord record,
                                               Roaring members) {
  auto entry = std::make_unique<SegmentEntry>();
  entry->references = ReferencedSegments(record.filter);
  entry->count = members.cardinality();
  entry->members = std::move(members);
  entry->record = std::move(record);
  DeriveOwn(entry.get());
  return entry;
}

bool DependencyOrder(const SegmentEntry* a, const SegmentEntry* b) {
  return std::make_pair(a->depth, a->record.id) <
         std::make_pair(b->depth, b->record.id);
}

absl::Status PlanRestrictedError(SegmentId id) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "segment ", id,
          " is PLAN_RESTRICTED: the workspace's plan no longer allows its "
          "rules, so it cannot be used as an audience until the plan is "
          "upgraded")),
      {"SEGMENT_PLAN_RESTRICTED", {{"segment_id", absl::StrCat(id)}}});
}

std::string SegmentNameKey(absl::string_view name) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
}

const SegmentEntry* SegmentSet::Find(SegmentId id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.get();
}

absl::StatusOr<const SegmentEntry*> SegmentSet::Get(SegmentId id) const {
  const SegmentEntry* entry = Find(id);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat("segment ", id, " not found"));
  }
  return entry;
}

SegmentId SegmentSet::IdByName(absl::string_view name) const {
  auto it = id_by_name_.find(SegmentNameKey(name));
  return it == id_by_name_.end() ? 0 : it->second;
}

std::vector<const SegmentEntry*> SegmentSet::Reading(
    ContactFieldSet fields) const {
  std::vector<const SegmentEntry*> out;
  for (int f = 0; f < kContactFieldCount; ++f) {
    if ((fields & (1u << f)) == 0) continue;
    out.insert(out.end(), readers_[f].begin(), readers_[f].end());
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentEntry* a, const SegmentEntry* b) {
              return a->record.id < b->record.id;
            });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

SegmentSet::FieldRule SegmentSet::MakeFieldRule(const SegmentEntry* segment,
                                                const Condition& c) {
  FieldRule rule{segment, &c};
  rule.field = c.field;
  switch (c.field) {
    case Field::kLeadScore:
    case Field::kEngagementScore:
    case Field::kLifecycleStage:
    case Field::kEngagementTrend:
    case Field::kConversionLikelihood:
      break;
    default:
      return rule;  // strings, tags, timestamps: ConditionMatches
  }
  // As ConditionMatches: a negative operator is its positive twin negated.
  const std::optional<Operator> twin = PositiveTwin(c.op);
  const Operator op = twin.value_or(c.op);
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const size_t needs = op == Operator::kIsSet     ? 0
                       : op == Operator::kBetween ? 2
                                                  : 1;
  if (c.numbers.size() < needs) return rule;
  const int64_t x = needs > 0 ? c.numbers[0] : 0;
  switch (op) {
    case Operator::kIsSet:
      rule.lo = kMin, rule.hi = kMax;
      break;
    case Operator::kEquals:
      rule.lo = x, rule.hi = x;
      break;
    case Operator::kGreaterThan:
      if (x == kMax) return rule;
      rule.lo = x + 1, rule.hi = kMax;
      break;
    case Operator::kGreaterOrEqual:
      rule.lo = x, rule.hi = kMax;
      break;
    case Operator::kLessThan:
      if (x == kMin) return rule;
      rule.lo = kMin, rule.hi = x - 1;
      break;
    case Operator::kLessOrEqual:
      rule.lo = kMin, rule.hi = x;
      break;
    case Operator::kBetween:
      rule.lo = x, rule.hi = c.numbers[1];
      break;
    default:
      return rule;  // IN and the rest: ConditionMatches
  }
  rule.in_range = true;
  rule.negate = twin.has_value();
  return rule;
}

bool SegmentSet::RuleMatches(const FieldRule& rule, const Contact& contact,
                             UnixSeconds now) {
  // A field rule reads no reference: no answers needed.
  if (!rule.in_range) return ConditionMatches(*rule.condition, contact, now);
  int64_t v = 0;
  bool set = true;
  switch (rule.field) {
    case Field::kLeadScore:
      v = contact.lead_score;
      break;
    case Field::kEngagementScore:
      v = contact.engagement_score;
      break;
    case Field::kLifecycleStage:
      v = static_cast<int>(contact.lifecycle_stage);
      set = v != 0;
      break;
    case Field::kEngagementTrend:
      v = static_cast<int>(contact.engagement_trend);
      set = v != 0;
      break;
    case Field::kConversionLikelihood:
      v = static_cast<int>(contact.conversion_likelihood);
      set = v != 0;
      break;
    default:
      return ConditionMatches(*rule.condition, contact, now);
  }
  const bool positive = set && rule.lo <= v && v <= rule.hi;
  return positive != rule.negate;
}

std::vector<const SegmentEntry*> SegmentSet::MayChange(ContactFieldSet changed,
                                                       const Contact& before,
                                                       const Contact& after,
                                                       UnixSeconds now) const {
  std::vector<const SegmentEntry*> out;
  for (int f = 0; f < kContactFieldCount; ++f) {
    if ((changed & (1u << f)) == 0) continue;
    for (const FieldRule& rule : rules_[f]) {
      if (RuleMatches(rule, before, now) != RuleMatches(rule, after, now)) {
        out.push_back(rule.segment);
      }
    }
    out.insert(out.end(), referring_readers_[f].begin(),
               referring_readers_[f].end());
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentEntry* a, const SegmentEntry* b) {
              return a->record.id < b->record.id;
            });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const SegmentEntry*> SegmentSet::ReferrersOf(SegmentId id) const {
  std::vector<const SegmentEntry*> out;
  std::vector<SegmentId> pending = {id};
  absl::flat_hash_set<SegmentId> seen;
  while (!pending.empty()) {
    const SegmentId next = pending.back();
    pending.pop_back();
    auto it = referrers_.find(next);
    if (it == referrers_.end()) continue;
    for (SegmentId r : it->second) {
      if (!seen.insert(r).second) continue;
      if (const SegmentEntry* e = Find(r)) out.push_back(e);
      pending.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), DependencyOrder);
  return out;
}

std::vector<SegmentId> SegmentSet::DirectReferrersOf(SegmentId id) const {
  auto it = referrers_.find(id);
  if (it == referrers_.end()) return {};
  return it->second;
}

bool SegmentSet::Reaches(SegmentId from, SegmentId to) const {
  std::vector<SegmentId> pending = {from};
  absl::flat_hash_set<SegmentId> seen;
  while (!pending.empty()) {
    const SegmentId next = pending.back();
    pending.pop_back();
    if (next == to) return true;
    if (!seen.insert(next).second) continue;
    if (const SegmentEntry* e = Find(next)) {
      pending.insert(pending.end(), e->references.begin(), e->references.end());
    }
  }
  return false;
}

void SegmentSet::Install(std::unique_ptr<SegmentEntry> entry) {
  const SegmentId id = entry->record.id;
  std::unique_ptr<SegmentEntry>& slot = entries_[id];
  if (slot != nullptr)
    id_by_name_.erase(SegmentNameKey(slot->record.display_name));
  id_by_name_[SegmentNameKey(entry->record.display_name)] = id;
  slot = std::move(entry);
}

void SegmentSet::Remove(SegmentId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  id_by_name_.erase(SegmentNameKey(it->second->record.display_name));
  entries_.erase(it);
}

void SegmentSet::Derive(SegmentEntry* s,
                        absl::flat_hash_map<SegmentId, int>* state) {
  int& mark = (*state)[s->record.id];
  // Visited but not done would be a cycle, which validation never lets in:
  // the entry then keeps what its own filter gives.
  if (mark != 0) return;
  mark = 1;
  DeriveOwn(s);
  for (SegmentId ref : s->references) {
    auto it = entries_.find(ref);
    if (it == entries_.end()) continue;
    SegmentEntry* r = it->second.get();
    Derive(r, state);
    referrers_[ref].push_back(s->record.id);
    if (r->kind == SegmentKind::kSmart) s->kind = SegmentKind::kSmart;
    if (!PlanAllows(s->required_plan, r->required_plan)) {
      s->required_plan = r->required_plan;
      s->plan_field = r->plan_field;
    }
    s->fields_read |= r->fields_read;
    s->windows.insert(s->windows.end(), r->windows.begin(), r->windows.end());
    s->depth = std::max(s->depth, r->depth + 1);
  }
  std::sort(s->windows.begin(), s->windows.end());
  s->windows.erase(std::unique(s->windows.begin(), s->windows.end()),
                   s->windows.end());
  (*state)[s->record.id] = 2;
}

void SegmentSet::RebuildReaders() {
  for (auto& list : readers_) list.clear();
  for (auto& list : rules_) list.clear();
  for (auto& list : referring_readers_) list.clear();
  by_window_.clear();
  referrers_.clear();
  order_.clear();
  absl::flat_hash_map<SegmentId, int> state;
  for (const auto& [sid, s] : entries_) {
    Derive(s.get(), &state);
    order_.push_back(s.get());
  }
  for (auto& [sid, list] : referrers_) std::sort(list.begin(), list.end());
  std::sort(order_.begin(), order_.end(), DependencyOrder);
  for (const auto& [sid, s] : entries_) {
    if (s->record.state != SegmentState::kActive) continue;
    for (int f = 0; f < kContactFieldCount; ++f) {
      if ((s->fields_read & (1u << f)) == 0) continue;
      readers_[f].push_back(s.get());
      if (!s->references.empty()) referring_readers_[f].push_back(s.get());
    }
    if (s->references.empty()) {
      const SegmentEntry* entry = s.get();
      VisitRules(entry->record.filter, [&](const Condition& c) {
        rules_[static_cast<int>(c.field)].push_back(MakeFieldRule(entry, c));
      });
    }
    for (const TimeWindow& w : s->windows) by_window_[w].push_back(s.get());
  }
}

absl::StatusOr<Filter> ValidateSegmentDraft(const SegmentSet& segments,
                                            const std::string& display_name,
                                            const FilterSpec& filter_spec,
                                            bool check_name, bool check_filter,
                                            SegmentId self, Plan plan,
                                            const Limits& limits) {
  Violations v;
  bool name_taken = false;
  const absl::string_view name = absl::StripAsciiWhitespace(display_name);
  if (check_name) {
    if (name.empty()) {
      v.Add("segment.display_name", "is required");
    } else if (name.size() > limits.max_segment_name_bytes) {
      v.Add("segment.display_name",
            absl::StrCat("at most ", limits.max_segment_name_bytes,
                         " bytes (limit max_segment_name_bytes); got ",
                         name.size()));
    } else if (!IsValidUtf8(std::string_view(name.data(), name.size()))) {
      v.Add("segment.display_name", "must be valid UTF-8");
    } else {
      const SegmentId owner = segments.IdByName(name);
      name_taken = owner != 0 && owner != self;
    }
  }
  absl::StatusOr<Filter> filter = Filter();
  if (check_filter) {
    filter = ValidateFilter(filter_spec, "segment.filter", limits);
    for (FieldViolation& fv : GetFieldViolations(filter.status())) {
      v.Add(std::move(fv.field), std::move(fv.description));
    }
    if (!filter.ok() && v.empty()) return filter.status();
  }
  if (check_filter && filter.ok()) {
    for (FieldViolation& fv : GetFieldViolations(
             CheckReferences(*filter, "segment.filter", segments, self))) {
      v.Add(std::move(fv.field), std::move(fv.description));
    }
  }
  RETURN_IF_ERROR(v.ToStatus());
  if (name_taken) {
    return absl::AlreadyExistsError(
        absl::StrCat("a segment named \"", name, "\" already exists"));
  }
  if (check_filter) RETURN_IF_ERROR(CheckPlanAllows(*filter, segments, plan));
  return filter;
}

PlanNeed PlanNeedOf(const Filter& filter, const SegmentSet& segments) {
  PlanNeed need;
  need.plan = RequiredPlan(filter);
  need.field = FirstFieldNeeding(filter, need.plan);
  for (SegmentId ref : ReferencedSegments(filter)) {
    const SegmentEntry* e = segments.Find(ref);
    if (e == nullptr || PlanAllows(need.plan, e->required_plan)) continue;
    need = {e->required_plan, e->plan_field, ref};
  }
  return need;
}

SegmentKind KindThrough(const Filter& filter, const SegmentSet& segments) {
  if (KindOf(filter) == SegmentKind::kSmart) return SegmentKind::kSmart;
  for (SegmentId ref : ReferencedSegments(filter)) {
    const SegmentEntry* e = segments.Find(ref);
    if (e != nullptr && e->kind == SegmentKind::kSmart) {
      return SegmentKind::kSmart;
    }
  }
  return SegmentKind::kStandard;
}

absl::Status CheckPlanAllows(const Filter& filter, const SegmentSet& segments,
                             Plan plan) {
  const PlanNeed need = PlanNeedOf(filter, segments);
  if (PlanAllows(plan, need.plan)) return absl::OkStatus();
  const std::string what =
      need.via == 0
          ? absl::StrCat("field ", AbslView(need.field), " needs")
          : absl::StrCat("field ", AbslView(need.field), " (in segment ",
                         need.via, ", which this filter refers to) needs");
  return PlanUpgradeRequiredError(what, need.plan, plan, "field",
                                  std::string(need.field));
}

absl::Status CheckReferences(const Filter& filter, std::string_view path,
                             const SegmentSet& segments, SegmentId self) {
  Violations v;
  ForEachReference(filter, path, [&](const std::string& at, SegmentId id) {
    if (segments.Find(id) == nullptr) {
      v.Add(at, absl::StrCat("segment ", id, " does not exist"));
    } else if (self != 0 && segments.Reaches(id, self)) {
      v.Add(at, id == self
                    ? std::string("a segment cannot refer to itself")
                    : absl::StrCat("segment ", id,
                                   " refers (directly or "
                                   "through others) to segment ",
                                   self, ", so this would close a cycle"));
    }
  });
  return v.ToStatus();
}

absl::Status SortForLoad(std::vector<SegmentRecord>* records) {
  absl::flat_hash_map<SegmentId, size_t> index;
  for (size_t i = 0; i < records->size(); ++i) index[(*records)[i].id] = i;
  // Depth-first, emitting each record after everything it refers to.
  std::vector<int> state(records->size(), 0);  // 1: visiting, 2: done
  std::vector<size_t> order;
  std::function<absl::Status(size_t)> visit = [&](size_t i) -> absl::Status {
    if (state[i] == 2) return absl::OkStatus();
    const SegmentRecord& r = (*records)[i];
    if (state[i] == 1) {
      return absl::DataLossError(absl::StrCat(
          "stored segment ", r.id, " is part of a cycle of references"));
    }
    state[i] = 1;
    for (SegmentId ref : ReferencedSegments(r.filter)) {
      auto it = index.find(ref);
      if (it == index.end()) {
        return absl::DataLossError(absl::StrCat("stored segment ", r.id,
                                                " refers to segment ", ref,
                                                ", which is not stored"));
      }
      RETURN_IF_ERROR(visit(it->second));
    }
    state[i] = 2;
    order.push_back(i);
    return absl::OkStatus();
  };
  for (size_t i = 0; i < records->size(); ++i) RETURN_IF_ERROR(visit(i));
  std::vector<SegmentRecord> sorted;
  sorted.reserve(records->size());
  for (size_t i : order) sorted.push_back(std::move((*records)[i]));
  *records = std::move(sorted);
  return absl::OkStatus();
}

}  // namespace segments::engine
