#include "server/analytics_convert.h"

#include "server/convert.h"

namespace segments {

void ContactSegmentsToProto(const ContactSegments& answer,
                            v1::ListContactSegmentsResponse* out) {
  for (const ContactSegments::Entry& e : answer.segments) {
    v1::ContactSegment* s = out->add_segments();
    s->set_id(e.id);
    s->set_display_name(e.display_name);
  }
  out->set_as_of_sequence(answer.as_of_sequence);
}

void MembershipToProto(const MembershipAnswer& answer,
                       v1::CheckMembershipResponse* out) {
  out->mutable_is_member()->Reserve(
      static_cast<int>(answer.check.is_member.size()));
  for (bool member : answer.check.is_member) out->add_is_member(member);
  out->set_member_count(answer.check.member_count);
  out->set_as_of_sequence(answer.as_of_sequence);
}

void BreakdownToProto(const BreakdownAnswer& answer,
                      v1::GetSegmentBreakdownResponse* out) {
  const analytics::Breakdown& b = answer.breakdown;
  out->set_member_count(b.member_count);
  for (const analytics::DimensionBreakdown& d : b.dimensions) {
    v1::DimensionBreakdown* dim = out->add_dimensions();
    const FieldInfo& info = GetFieldInfo(d.field);
    dim->set_dimension(std::string(info.name));
    dim->set_unset_count(d.unset_count);
    const bool is_enum = !info.enum_values.empty();
    for (const analytics::ValueCount& v : d.values) {
      v1::BreakdownValue* value = dim->add_values();
      value->set_value(v.value);
      value->set_count(v.count);
      value->set_share(v.share);
      value->set_unset(is_enum && v.value.empty());
    }
  }
  out->set_as_of_sequence(answer.as_of_sequence);
}

void OverlapToProto(const OverlapAnswer& answer, absl::Span<const uint64_t> ids,
                    v1::GetSegmentOverlapResponse* out) {
  const analytics::Overlap& o = answer.overlap;
  for (size_t i = 0; i < ids.size(); ++i) {
    out->add_segment_ids(ids[i]);
    out->add_member_counts(o.sizes[i]);
    out->add_exclusive_counts(o.exclusive[i]);
  }
  for (const analytics::PairOverlap& p : o.pairs) {
    v1::SegmentPairOverlap* pair = out->add_pairs();
    pair->set_first_segment_id(ids[p.first]);
    pair->set_second_segment_id(ids[p.second]);
    pair->set_intersection_count(p.intersection);
    pair->set_union_count(p.union_count);
  }
  out->set_union_count(o.union_count);
  out->set_intersection_count(o.intersection_count);
  for (const analytics::VennRegion& r : o.regions) {
    v1::VennRegion* region = out->add_regions();
    for (size_t i = 0; i < ids.size(); ++i) {
      if ((r.mask >> i) & 1) region->add_segment_ids(ids[i]);
    }
    region->set_count(r.count);
  }
  out->set_as_of_sequence(answer.as_of_sequence);
}

void RecommendationsToProto(const RecommendationAnswer& answer,
                            v1::RecommendSegmentsResponse* out) {
  for (const analytics::Candidate& c : answer.candidates) {
    v1::SegmentRecommendation* r = out->add_recommendations();
    r->set_display_name(c.display_name);
    FilterSpecToProto(c.filter, r->mutable_filter());
    r->set_member_count(c.member_count);
    r->set_share(c.share);
    r->set_rationale(c.rationale);
    for (const analytics::SegmentOverlap& s : c.overlaps) {
      v1::ExistingSegmentOverlap* o = r->add_overlaps();
      o->set_segment_id(s.id);
      o->set_display_name(s.name);
      o->set_intersection_count(s.intersection);
      o->set_jaccard(s.jaccard);
    }
  }
  out->set_as_of_sequence(answer.as_of_sequence);
}

}  // namespace segments
