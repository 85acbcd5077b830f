#include "server/snapshot_convert.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace segments {

SnapshotDraft SnapshotDraftFromProto(const v1::AudienceSnapshot& proto,
                                     std::string_view path,
                                     Violations* violations) {
  SnapshotDraft draft;
  draft.segment_id = proto.segment_id();
  const std::string prefix(path);
  if (draft.segment_id == 0) {
    violations->Add(absl::StrCat(prefix, ".segment_id"), "is required");
  }
  switch (proto.expiration_case()) {
    case v1::AudienceSnapshot::kTtl: {
      const google::protobuf::Duration& ttl = proto.ttl();
      // Whole seconds, as everywhere in the core; the core refuses < 1 s.
      if (ttl.seconds() < 0 || ttl.nanos() < 0 || ttl.nanos() > 999'999'999) {
        violations->Add(absl::StrCat(prefix, ".ttl"),
                        "must be a positive duration");
      } else {
        draft.ttl_seconds = ttl.seconds();
      }
      break;
    }
    case v1::AudienceSnapshot::kExpireTime:
      draft.expire_time =
          SecondsFromProto(proto.expire_time(),
                           absl::StrCat(prefix, ".expire_time"), violations);
      break;
    case v1::AudienceSnapshot::EXPIRATION_NOT_SET:
      break;
  }
  return draft;
}

void SnapshotViewToProto(const SnapshotView& view, v1::AudienceSnapshot* out) {
  const SnapshotRecord& r = view.record;
  out->set_id(r.id);
  out->set_segment_id(r.segment_id);
  out->set_member_count(r.member_count);
  out->set_as_of_sequence(r.as_of_sequence);
  SecondsToProto(r.create_time, out->mutable_create_time());
  SecondsToProto(r.expire_time, out->mutable_expire_time());
  out->set_left_count(view.drift.left);
  out->set_entered_count(view.drift.entered);
  out->set_segment_deleted(view.segment_deleted);
}

}  // namespace segments
