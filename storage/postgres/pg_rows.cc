#include "storage/postgres/pg_rows.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/filter_codec.h"
#include "storage/change_runs.h"
#include "storage/record_checks.h"
#include "storage/tags_codec.h"

namespace segments {
namespace {

bool FitsInt32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() &&
         v <= std::numeric_limits<int32_t>::max();
}

}  // namespace

std::string DecodeContactRow(const PgResult& r, int row, Contact* c) {
  const int64_t id = r.Int(row, 0);
  if (id < 1 || id > std::numeric_limits<ContactId>::max()) {
    return "id is out of range";
  }
  c->id = static_cast<ContactId>(id);
  std::string* const strings[] = {&c->email,   &c->company, &c->job_title,
                                  &c->country, &c->city,    &c->source};
  for (int i = 0; i < 6; ++i) {
    const std::string_view v = r.Bytes(row, 1 + i);  // NULL reads as ""
    strings[i]->assign(v.data(), v.size());
  }
  if (!DecodeTags(r.Bytes(row, 7), &c->tags)) return "tags do not decode";
  static constexpr const char* kIntColumns[5] = {
      "lifecycle_stage", "lead_score", "engagement_score", "engagement_trend",
      "conversion_likelihood"};
  int64_t ints[5];
  for (int i = 0; i < 5; ++i) {
    ints[i] = r.Int(row, 8 + i);  // NULL reads as 0 (unset)
    if (!FitsInt32(ints[i])) {
      return absl::StrCat(kIntColumns[i], " ", ints[i], " is out of range");
    }
  }
  c->lifecycle_stage = static_cast<LifecycleStage>(ints[0]);
  c->lead_score = static_cast<int32_t>(ints[1]);
  c->engagement_score = static_cast<int32_t>(ints[2]);
  c->engagement_trend = static_cast<EngagementTrend>(ints[3]);
  c->conversion_likelihood = static_cast<ConversionLikelihood>(ints[4]);
  c->created_at = r.Int(row, 13);
  if (r.IsNull(row, 14)) {
    c->last_engaged_at.reset();
  } else {
    c->last_engaged_at = r.Int(row, 14);
  }
  return ContactProblem(*c);
}

std::string DecodeSegmentRow(const PgResult& r, int row, SegmentRecord* s) {
  const int64_t id = r.Int(row, 0);
  const int64_t state = r.Int(row, 3);
  const int64_t frozen_as_of = r.Int(row, 7);
  if (id < 1) return "id is out of range";
  if (!FitsInt32(state)) return "state is out of range";
  if (frozen_as_of < 0) return "frozen_as_of is out of range";
  s->id = static_cast<SegmentId>(id);
  s->display_name = std::string(r.Bytes(row, 1));
  absl::StatusOr<Filter> filter = DecodeFilter(r.Bytes(row, 2));
  if (!filter.ok()) return std::string(filter.status().message());
  s->filter = *std::move(filter);
  s->state = static_cast<SegmentState>(state);
  s->create_time = r.Int(row, 4);
  s->update_time = r.Int(row, 5);
  s->frozen_members = std::string(r.Bytes(row, 6));
  s->frozen_as_of = static_cast<uint64_t>(frozen_as_of);
  return SegmentProblem(*s);
}

std::string DecodeSnapshotRow(const PgResult& r, int row, SnapshotRecord* s) {
  static constexpr const char* kNames[4] = {"id", "segment_id",
                                            "as_of_sequence", "member_count"};
  int64_t v[4];
  for (int i = 0; i < 4; ++i) {
    v[i] = r.Int(row, i);
    if (v[i] < 0) return absl::StrCat(kNames[i], " is out of range");
  }
  s->id = static_cast<SnapshotId>(v[0]);
  s->segment_id = static_cast<SegmentId>(v[1]);
  s->as_of_sequence = static_cast<uint64_t>(v[2]);
  s->member_count = static_cast<uint64_t>(v[3]);
  s->create_time = r.Int(row, 4);
  s->expire_time = r.Int(row, 5);
  s->members = std::string(r.Bytes(row, 6));
  return SnapshotProblem(*s);
}

// A change_runs row (kRunColumns) as a run; the checks of workspace_rows.cc.
std::string DecodeRunRow(const PgResult& r, int row, ChangeRun* run) {
  int64_t v[7];
  for (int i = 0; i < 7; ++i) v[i] = r.Int(row, i);
  if (v[0] < 1) return "first_sequence is out of range";
  if (v[6] < v[0]) return "last_sequence is before first_sequence";
  if (v[1] < 1) return "segment_id is out of range";
  if (v[2] < 0 || v[2] > std::numeric_limits<ContactId>::max()) {
    return "first_contact_id is out of range";
  }
  if (!FitsInt32(v[3]) || !FitsInt32(v[4])) {
    return "kind or cause is out of range";
  }
  MembershipChange first;
  first.sequence = static_cast<uint64_t>(v[0]);
  first.segment_id = static_cast<SegmentId>(v[1]);
  first.contact_id = static_cast<ContactId>(v[2]);
  first.kind = static_cast<ChangeKind>(v[3]);
  first.cause = static_cast<ChangeCause>(v[4]);
  first.time = v[5];
  const uint64_t last = static_cast<uint64_t>(v[6]);
  if (std::string problem = ChangeProblem(first); !problem.empty()) {
    return problem;
  }
  if (first.kind == ChangeKind::kSegmentDeleted && last != first.sequence) {
    return "a segment deletion is one event";
  }
  *run = {first.sequence, first.segment_id, first.kind,
          first.cause,    first.time,       {}};
  return DecodeMoreContactIds(first.contact_id, last - first.sequence,
                              r.Bytes(row, 7), &run->contact_ids);
}

}  // namespace segments
