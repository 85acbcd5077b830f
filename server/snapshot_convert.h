// Translation between segments.v1.AudienceSnapshot and the core's snapshot
// types. Values are copied as sent and validated by the core; only what the
// core cannot see (Duration and Timestamp nanos) is checked here.
#ifndef SEGMENTS_SERVER_SNAPSHOT_CONVERT_H_
#define SEGMENTS_SERVER_SNAPSHOT_CONVERT_H_

#include <string_view>

#include "core/base/errors.h"
#include "core/snapshots/snapshot.h"
#include "segments/v1/snapshots.pb.h"

namespace segments {

// The draft of a CreateAudienceSnapshot's `snapshot` (violations under
// `path`). Output-only fields are ignored.
SnapshotDraft SnapshotDraftFromProto(const v1::AudienceSnapshot& proto,
                                     std::string_view path,
                                     Violations* violations);
void SnapshotViewToProto(const SnapshotView& view, v1::AudienceSnapshot* out);

}  // namespace segments

#endif  // SEGMENTS_SERVER_SNAPSHOT_CONVERT_H_
