#include "core/engine/internal/segment_writes.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "core/engine/internal/segment_set.h"
#include "core/index/bitmap_util.h"

namespace segments::engine {
namespace {

std::string TrimmedName(const std::string& name) {
  return std::string(absl::StripAsciiWhitespace(name));
}

}  // namespace

absl::StatusOr<SegmentMask> ParseSegmentMask(
    const std::vector<std::string>& paths) {
  SegmentMask mask;
  mask.display_name = mask.filter = paths.empty();
  Violations v;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i] == "display_name") {
      mask.display_name = true;
    } else if (paths[i] == "filter") {
      mask.filter = true;
    } else {
      v.Add(absl::StrCat("update_mask.paths[", i, "]"),
            absl::StrCat("unknown or immutable field \"", paths[i],
                         "\"; updatable: display_name, filter"));
    }
  }
  RETURN_IF_ERROR(v.ToStatus());
  return mask;
}

absl::StatusOr<SegmentId> SegmentWrites::PrepareCreate(
    const SegmentDraft& draft, UnixSeconds now, PreparedWrite* p) const {
  ASSIGN_OR_RETURN(
      Filter filter,
      ValidateSegmentDraft(memory_.segments, draft.display_name, draft.filter,
                           true, true, 0, memory_.plan, limits_));
  if (memory_.segments.size() >= limits_.max_segments) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", limits_.max_segments,
                     " segments per workspace (limit max_segments)"));
  }
  SegmentRecord record;
  record.id = memory_.counters.next_segment_id;
  record.display_name = TrimmedName(draft.display_name);
  record.filter = std::move(filter);
  record.create_time = record.update_time = now;
  const SegmentId id = record.id;
  StartWrite(now, p);
  p->write.counters.next_segment_id = id + 1;
  Put(Build(std::move(record), nullptr, ChangeCause::kRulesChanged, now, p), p);
  return id;
}

absl::StatusOr<SegmentId> SegmentWrites::PrepareUpdate(
    SegmentId id, const SegmentDraft& draft, SegmentMask mask, UnixSeconds now,
    PreparedWrite* p) const {
  ASSIGN_OR_RETURN(const SegmentEntry* current, memory_.segments.Get(id));
  ASSIGN_OR_RETURN(Filter filter, ValidateSegmentDraft(
                                      memory_.segments, draft.display_name,
                                      draft.filter, mask.display_name,
                                      mask.filter, id, memory_.plan, limits_));
  SegmentRecord record = current->record;
  if (mask.display_name) record.display_name = TrimmedName(draft.display_name);
  record.update_time = now;
  StartWrite(now, p);
  if (mask.filter && !(filter == current->record.filter &&
                       current->record.state == SegmentState::kActive)) {
    // New rules: rebuild now and log who entered and left. A restricted
    // segment whose new rules the plan allows becomes active again.
    record.filter = std::move(filter);
    Put(Build(std::move(record), &current->members, ChangeCause::kRulesChanged,
              now, p),
        p);
  } else {
    // The rules stay: so do the members, and all the entry derives.
    Put(MakeSegmentEntry(std::move(record), current->members), p);
  }
  return id;
}

absl::Status SegmentWrites::PrepareDelete(SegmentId id, UnixSeconds now,
                                          PreparedWrite* p) const {
  RETURN_IF_ERROR(memory_.segments.Get(id).status());
  StartWrite(now, p);
  p->write.deleted_segments.push_back(id);
  p->deleted_segments.push_back(id);
  AppendSegmentDeletion(id, now, &p->write);
  return absl::OkStatus();
}

void SegmentWrites::PreparePlanChange(Plan plan, UnixSeconds now,
                                      PreparedWrite* p) const {
  StartWrite(now, p);
  for (const auto& [sid, s] : memory_.segments.entries()) {
    const bool allowed = CheckPlanAllows(s->record.filter, plan).ok();
    const bool active = s->record.state == SegmentState::kActive;
    if (allowed == active) continue;
    SegmentRecord record = s->record;
    if (active) {
      // Downgrade: keep the segment, freeze its membership as it is now.
      record.state = SegmentState::kPlanRestricted;
      record.frozen_members = SerializeBitmap(s->members);
      record.frozen_as_of = memory_.counters.last_sequence;
      Put(MakeSegmentEntry(std::move(record), s->members), p);
    } else {
      // Upgrade: rebuild to current membership, logging the difference.
      Put(Build(std::move(record), &s->members, ChangeCause::kPlanChanged, now,
                p),
          p);
    }
  }
}

absl::StatusOr<std::unique_ptr<SegmentEntry>> SegmentWrites::Load(
    SegmentRecord record, UnixSeconds now) const {
  if (record.state == SegmentState::kPlanRestricted) {
    ASSIGN_OR_RETURN(Roaring frozen, DeserializeBitmap(record.frozen_members));
    return MakeSegmentEntry(std::move(record), std::move(frozen));
  }
  return Build(std::move(record), nullptr, ChangeCause::kRulesChanged, now,
               nullptr);
}

std::unique_ptr<SegmentEntry> SegmentWrites::Build(SegmentRecord record,
                                                   const Roaring* previous,
                                                   ChangeCause cause,
                                                   UnixSeconds now,
                                                   PreparedWrite* p) const {
  Roaring members = memory_.Evaluate(record.filter, now);
  if (previous != nullptr) {
    AppendRun(*previous - members, record.id, ChangeKind::kLeft, cause, now,
              &p->write);
    AppendRun(members - *previous, record.id, ChangeKind::kEntered, cause, now,
              &p->write);
  }
  record.state = SegmentState::kActive;
  record.frozen_members.clear();
  record.frozen_as_of = 0;
  return MakeSegmentEntry(std::move(record), std::move(members));
}

void SegmentWrites::StartWrite(UnixSeconds now, PreparedWrite* p) const {
  p->write.counters = memory_.counters;
  p->write.counters.time_applied_until = now;
}

void SegmentWrites::Put(std::unique_ptr<SegmentEntry> entry, PreparedWrite* p) {
  p->write.put_segments.push_back(entry->record);
  p->segments.push_back(std::move(entry));
}

}  // namespace segments::engine
