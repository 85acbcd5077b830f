// Translation of the core's analytics answers into segments.v1's analytics
// messages. No logic: counts are copied, enum values named, Venn regions'
// masks turned back into the segment ids asked about.
#ifndef SEGMENTS_SERVER_ANALYTICS_CONVERT_H_
#define SEGMENTS_SERVER_ANALYTICS_CONVERT_H_

#include <cstdint>

#include "absl/types/span.h"
#include "core/engine/workspace.h"
#include "segments/v1/analytics.pb.h"

namespace segments {

void ContactSegmentsToProto(const ContactSegments& answer,
                            v1::ListContactSegmentsResponse* out);
void MembershipToProto(const MembershipAnswer& answer,
                       v1::CheckMembershipResponse* out);
void BreakdownToProto(const BreakdownAnswer& answer,
                      v1::GetSegmentBreakdownResponse* out);
// `ids`: the segments asked about, in the order asked.
void OverlapToProto(const OverlapAnswer& answer, absl::Span<const uint64_t> ids,
                    v1::GetSegmentOverlapResponse* out);
void RecommendationsToProto(const RecommendationAnswer& answer,
                            v1::RecommendSegmentsResponse* out);

}  // namespace segments

#endif  // SEGMENTS_SERVER_ANALYTICS_CONVERT_H_
