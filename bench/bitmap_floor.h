// The algebra a segment build cannot skip (issue 18): for a filter of the
// kinds bench/sql_baseline.h's BuildCases builds, the postings its
// conditions select, as an attribute index holds them (a bitmap per string
// value, email domain, tag, enum value, number and day), built here from the
// generated contacts; and their CRoaring OR / AND into one new bitmap. A
// build's ratio to Combine() is its distance to that limit.
//
// Thread-safety: a PostingFloor is immutable after Build; a FloorPlan
// points into the PostingFloor it came from and must not outlive it.
#ifndef SEGMENTS_BENCH_BITMAP_FLOOR_H_
#define SEGMENTS_BENCH_BITMAP_FLOOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/model/filter.h"
#include "roaring/roaring.hh"

namespace segments::bench {

// The postings one filter selects: a group per condition, each combined by
// OR (or AND, for HAS_ALL), the groups by the filter's match.
struct FloorPlan {
  struct Group {
    bool intersect = false;  // AND of the postings, else OR
    std::vector<const Roaring*> postings;
  };
  bool all = true;  // AND of the groups, else OR
  std::vector<Group> groups;
};

// The OR / AND of a plan, into a new bitmap (what a build hands its segment).
Roaring Combine(const FloorPlan& plan);

class PostingFloor {
 public:
  // The postings of generated contacts 0..contacts-1 (ids 1..contacts), of
  // the fields BuildCases reads.
  static std::unique_ptr<PostingFloor> Build(size_t contacts);

  // INVALID_ARGUMENT for a filter that does not validate; UNIMPLEMENTED for
  // a field or operator BuildCases does not use, or a relative date rule
  // whose cut is not at midnight UTC (its boundary day would be partial).
  absl::StatusOr<FloorPlan> Plan(const FilterSpec& spec) const;

 private:
  PostingFloor() = default;
  absl::StatusOr<FloorPlan::Group> GroupOf(const Condition& c) const;

  // country, company, email domain (after '@').
  enum StringIndex { kCountry, kCompany, kDomain, kStringIndexes };
  std::array<absl::flat_hash_map<std::string, Roaring>, kStringIndexes>
      strings_;
  absl::flat_hash_map<std::string, Roaring> tags_;
  std::map<int64_t, Roaring> lifecycle_;
  std::map<int64_t, Roaring> lead_score_;
  // By day (UTC): created_at, last_engaged_at.
  std::array<std::map<int64_t, Roaring>, 2> days_;
};

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_BITMAP_FLOOR_H_
