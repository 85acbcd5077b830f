#include "core/analytics/recommendations.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/analytics/dense_set.h"
#include "core/base/ascii.h"

namespace segments::analytics {
namespace {

std::string Percent(double share) {
  return absl::StrFormat("%.1f%%", share * 100);
}

bool MoreAlike(const SegmentOverlap& a, const SegmentOverlap& b) {
  if (a.jaccard != b.jaccard) return a.jaccard > b.jaccard;
  if (a.intersection != b.intersection) return a.intersection > b.intersection;
  return a.id < b.id;
}

// The kMaxOverlapsShown segments most alike `members`, exactly. Jaccard is
// at most min(|a|, |b|) / max(|a|, |b|), so the segments are visited by
// that bound, highest first, and the intersections are counted only while
// a segment could still enter the list: with 200 segments most are never
// intersected.
std::vector<SegmentOverlap> OverlapsWith(
    const Roaring& members, uint64_t count,
    absl::Span<const ExistingSegment> segments) {
  struct Bounded {
    double bound;
    const ExistingSegment* segment;
    uint64_t size;
  };
  std::vector<Bounded> order;
  order.reserve(segments.size());
  for (const ExistingSegment& s : segments) {
    const uint64_t size = s.members->cardinality();
    if (size == 0) continue;
    const double bound = static_cast<double>(std::min(size, count)) /
                         static_cast<double>(std::max(size, count));
    order.push_back({bound, &s, size});
  }
  std::sort(order.begin(), order.end(), [](const Bounded& a, const Bounded& b) {
    return a.bound != b.bound ? a.bound > b.bound
                              : a.segment->id < b.segment->id;
  });
  std::vector<SegmentOverlap> out;
  const DenseSet dense(members);
  for (const Bounded& b : order) {
    // Kept ones rank at least as alike as anything bounded below them.
    if (out.size() == kMaxOverlapsShown && b.bound < out.back().jaccard) break;
    const uint64_t both = dense.AndCardinality(*b.segment->members);
    if (both == 0) continue;
    const SegmentOverlap o{
        b.segment->id, std::string(b.segment->name), both,
        static_cast<double>(both) / static_cast<double>(count + b.size - both)};
    if (out.size() == kMaxOverlapsShown) {
      if (!MoreAlike(o, out.back())) continue;
      out.pop_back();
    }
    out.insert(std::upper_bound(out.begin(), out.end(), o, MoreAlike), o);
  }
  return out;
}

// The candidates of a goal share conditions ("is a customer", the goal's
// date threshold), and a date range is a union of hundreds of day
// bitmaps: each distinct condition is evaluated once per call, and a
// filter combined from them as AttributeIndex::Evaluate combines its own.
class ConditionCache {
 public:
  explicit ConditionCache(const RecommendationInputs& in) : in_(in) {}

  Roaring Evaluate(const Filter& filter) {
    if (filter.conditions.empty()) return Roaring();
    Roaring result = Of(filter.conditions[0]);
    for (size_t i = 1; i < filter.conditions.size(); ++i) {
      if (filter.match == Match::kAny) {
        result |= Of(filter.conditions[i]);
      } else {
        if (result.isEmpty()) break;
        result &= Of(filter.conditions[i]);
      }
    }
    return result;
  }

 private:
  const Roaring& Of(const Condition& c) {
    for (const auto& [condition, members] : entries_) {
      if (condition == c) return members;
    }
    entries_.emplace_back(
        c, in_.index->EvaluateCondition(c, in_.now, *in_.contacts));
    return entries_.back().second;
  }

  const RecommendationInputs& in_;
  std::deque<std::pair<Condition, Roaring>> entries_;  // stable references
};

// The rationale: the figures the thresholds rest on, then what they select.
std::string Rationale(const CandidateDraft& draft, const Candidate& c,
                      uint64_t workspace) {
  std::string line =
      absl::StrCat(draft.basis, ": ", c.member_count, " of ", workspace,
                   " contacts (", Percent(c.share), ")");
  if (!c.overlaps.empty()) {
    const SegmentOverlap& top = c.overlaps.front();
    absl::StrAppend(&line, "; closest existing segment \"", top.name, "\" (",
                    Percent(top.jaccard), " alike)");
  }
  return line;
}

}  // namespace

absl::StatusOr<std::vector<Candidate>> Recommend(
    Goal goal, const RecommendationInputs& in) {
  const uint64_t workspace = in.index->all().cardinality();
  std::vector<Candidate> out;
  std::vector<Roaring> chosen;  // the members of each candidate kept
  ConditionCache conditions(in);
  for (CandidateDraft& draft : DraftsFor(goal, *in.index, in.now)) {
    if (out.size() == kMaxRecommendations) break;
    absl::StatusOr<Filter> filter =
        ValidateFilter(draft.filter, "candidate", in.limits);
    if (!filter.ok()) {
      return absl::InternalError(absl::StrCat(
          "recommendation for ", AbslView(GoalName(goal)),
          " built an invalid filter: ", filter.status().message()));
    }
    Roaring members = conditions.Evaluate(*filter);
    if (members.isEmpty()) continue;
    if (std::find(chosen.begin(), chosen.end(), members) != chosen.end()) {
      continue;  // the same contacts as a candidate before it
    }
    Candidate c;
    c.member_count = members.cardinality();
    c.share =
        static_cast<double>(c.member_count) / static_cast<double>(workspace);
    c.overlaps = OverlapsWith(members, c.member_count, in.segments);
    c.rationale = Rationale(draft, c, workspace);
    c.display_name = std::move(draft.display_name);
    c.filter = std::move(draft.filter);
    out.push_back(std::move(c));
    chosen.push_back(std::move(members));
  }
  return out;
}

}  // namespace segments::analytics
