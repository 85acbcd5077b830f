// A segment's members broken down by contact fields (SPEC §7): every value
// of lifecycle_stage, engagement_trend and conversion_likelihood (unset
// included), and the top N values of country, city, source, company,
// job_title and tags. Counted as intersection cardinalities of the
// segment's bitmap with the attribute index's postings, never by visiting
// members' rows; a value whose postings are smaller than the N-th count
// found so far is skipped unread.
//
// Thread-safety: none; the caller holds the bitmap and the index still.
#ifndef SEGMENTS_CORE_ANALYTICS_BREAKDOWN_H_
#define SEGMENTS_CORE_ANALYTICS_BREAKDOWN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/index/attribute_index.h"
#include "core/model/field_catalog.h"
#include "roaring/roaring.hh"

namespace segments::analytics {

struct ValueCount {
  std::string value;  // enum name ("MQL"), lowercased string or tag;
                      // empty for the unset bucket of an enum
  uint64_t count = 0;
  double share = 0;  // count / the segment's members (0 when it has none)
};

struct DimensionBreakdown {
  Field field = Field::kLifecycleStage;
  // Enums: every value in enum order, then unset (trend, likelihood).
  // Others: the top N by count, ties by value ascending.
  std::vector<ValueCount> values;
  // Members without a value (for tags: without any tag).
  uint64_t unset_count = 0;
};

struct Breakdown {
  uint64_t member_count = 0;
  std::vector<DimensionBreakdown> dimensions;  // in the order asked
};

// The fields a breakdown may be asked for, in the order of an unspecified
// request.
absl::Span<const Field> BreakdownFields();
bool IsBreakdownField(Field f);

// REQUIRES: every field of `fields` IsBreakdownField; top_n >= 1.
Breakdown BreakdownOf(const Roaring& members, const AttributeIndex& index,
                      absl::Span<const Field> fields, size_t top_n);

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_BREAKDOWN_H_
