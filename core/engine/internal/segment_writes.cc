#include "core/engine/internal/segment_writes.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/errors.h"
#include "core/base/plan_gate.h"
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
  const MemberBitmaps refs(memory_.segments);
  Put(Build(std::move(record), nullptr, ChangeCause::kRulesChanged, now, refs,
            p),
      p);
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
    // segment whose new rules the plan allows becomes active again. Then the
    // segments referring to it follow its diff.
    record.filter = std::move(filter);
    Moves moves(memory_.segments);
    moves.plans[id] = PlanNeedOf(record.filter, memory_.segments).plan;
    PutMoved(Build(std::move(record), &current->members,
                   ChangeCause::kRulesChanged, now, moves.bitmaps, p),
             &current->members, &moves, p);
    Propagate(id, ChangeCause::kRulesChanged, now, &moves, p);
  } else {
    // The rules stay: so do the members, and all the entry derives.
    Put(MakeSegmentEntry(std::move(record), current->members), p);
  }
  return id;
}

absl::Status SegmentWrites::PrepareDelete(SegmentId id, UnixSeconds now,
                                          PreparedWrite* p) const {
  RETURN_IF_ERROR(memory_.segments.Get(id).status());
  const std::vector<SegmentId> referrers =
      memory_.segments.DirectReferrersOf(id);
  if (!referrers.empty()) {
    const std::string ids = absl::StrJoin(referrers, ",");
    return WithErrorInfo(
        absl::FailedPreconditionError(
            absl::StrCat("segment ", id, " is referred to by segment",
                         referrers.size() == 1 ? " " : "s ", ids,
                         "; remove those references first")),
        {"SEGMENT_REFERENCED",
         {{"segment_id", absl::StrCat(id)}, {"referrers", ids}}});
  }
  StartWrite(now, p);
  p->write.deleted_segments.push_back(id);
  p->deleted_segments.push_back(id);
  AppendSegmentDeletion(id, now, &p->write);
  return absl::OkStatus();
}

void SegmentWrites::PreparePlanChange(Plan plan, UnixSeconds now,
                                      PreparedWrite* p) const {
  StartWrite(now, p);
  // In dependency order: a rebuilt segment's new members are what the
  // segments referring to it are rebuilt from. A segment needs what it
  // reaches needs, so a downgrade restricts every segment that reaches a
  // smart one, and an active segment never refers to a restricted one.
  MemberBitmaps rebuilt(memory_.segments);
  for (const SegmentEntry* s : memory_.segments.in_order()) {
    const SegmentId sid = s->record.id;
    const bool allowed = PlanAllows(plan, s->required_plan);
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
      std::unique_ptr<SegmentEntry> entry =
          Build(std::move(record), &s->members, ChangeCause::kPlanChanged, now,
                rebuilt, p);
      rebuilt.Override(sid, &entry->members);
      Put(std::move(entry), p);
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
               MemberBitmaps(memory_.segments), nullptr);
}

std::unique_ptr<SegmentEntry> SegmentWrites::Build(
    SegmentRecord record, const Roaring* previous, ChangeCause cause,
    UnixSeconds now, const ReferenceBitmaps& refs, PreparedWrite* p) const {
  Roaring members = memory_.Evaluate(record.filter, now, &refs);
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

void SegmentWrites::PutMoved(std::unique_ptr<SegmentEntry> entry,
                             const Roaring* previous, Moves* moves,
                             PreparedWrite* p) {
  const SegmentId id = entry->record.id;
  moves->moved[id] =
      previous == nullptr ? entry->members : (*previous ^ entry->members);
  moves->bitmaps.Override(id, &entry->members);  // owned by p from here on
  Put(std::move(entry), p);
}

void SegmentWrites::Propagate(SegmentId changed, ChangeCause cause,
                              UnixSeconds now, Moves* moves,
                              PreparedWrite* p) const {
  for (const SegmentEntry* r : memory_.segments.ReferrersOf(changed)) {
    const SegmentId rid = r->record.id;
    // What it needs now: its own rules, and what the segments it refers to
    // need as this write leaves them.
    Plan needs = RequiredPlan(r->record.filter);
    Roaring candidates;
    for (SegmentId ref : r->references) {
      auto plan = moves->plans.find(ref);
      const SegmentEntry* e = memory_.segments.Find(ref);
      const Plan ref_needs = plan != moves->plans.end() ? plan->second
                             : e != nullptr             ? e->required_plan
                                                        : Plan::kStarter;
      if (!PlanAllows(needs, ref_needs)) needs = ref_needs;
      auto moved = moves->moved.find(ref);
      if (moved != moves->moved.end()) candidates |= moved->second;
    }
    moves->plans[rid] = needs;
    if (r->record.state == SegmentState::kPlanRestricted) {
      if (!PlanAllows(memory_.plan, needs)) continue;
      PutMoved(Build(r->record, &r->members, cause, now, moves->bitmaps, p),
               &r->members, moves, p);
      continue;
    }
    if (candidates.isEmpty()) continue;
    const Roaring is =
        MatchAmong(memory_, r->record.filter, candidates, now, moves->bitmaps);
    const Roaring was = r->members & candidates;
    const Roaring left = was - is;
    const Roaring entered = is - was;
    if (left.isEmpty() && entered.isEmpty()) continue;
    AppendRun(left, rid, ChangeKind::kLeft, cause, now, &p->write);
    AppendRun(entered, rid, ChangeKind::kEntered, cause, now, &p->write);
    Roaring members = (r->members - left) | entered;
    PutMoved(MakeSegmentEntry(r->record, std::move(members)), &r->members,
             moves, p);
  }
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
