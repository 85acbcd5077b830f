#include "core/analytics/recommendations.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/ascii.h"

namespace segments::analytics {
namespace {

std::string Percent(double share) {
  return absl::StrFormat("%.1f%%", share * 100);
}

std::vector<SegmentOverlap> OverlapsWith(
    const Roaring& members, uint64_t count,
    absl::Span<const ExistingSegment> segments) {
  std::vector<SegmentOverlap> out;
  for (const ExistingSegment& s : segments) {
    const uint64_t both = members.and_cardinality(*s.members);
    if (both == 0) continue;
    const uint64_t either = count + s.members->cardinality() - both;
    out.push_back({s.id, std::string(s.name), both,
                   static_cast<double>(both) / static_cast<double>(either)});
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentOverlap& a, const SegmentOverlap& b) {
              if (a.jaccard != b.jaccard) return a.jaccard > b.jaccard;
              if (a.intersection != b.intersection) {
                return a.intersection > b.intersection;
              }
              return a.id < b.id;
            });
  if (out.size() > kMaxOverlapsShown) out.resize(kMaxOverlapsShown);
  return out;
}

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
  for (CandidateDraft& draft : DraftsFor(goal, *in.index, in.now)) {
    if (out.size() == kMaxRecommendations) break;
    absl::StatusOr<Filter> filter =
        ValidateFilter(draft.filter, "candidate", in.limits);
    if (!filter.ok()) {
      return absl::InternalError(absl::StrCat(
          "recommendation for ", AbslView(GoalName(goal)),
          " built an invalid filter: ", filter.status().message()));
    }
    Roaring members = in.index->Evaluate(*filter, in.now, *in.contacts);
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
