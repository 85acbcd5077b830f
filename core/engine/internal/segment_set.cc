#include "core/engine/internal/segment_set.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "core/base/utf8.h"

namespace segments::engine {

std::unique_ptr<SegmentEntry> MakeSegmentEntry(SegmentRecord record,
                                               Roaring members) {
  auto entry = std::make_unique<SegmentEntry>();
  entry->kind = KindOf(record.filter);
  entry->fields_read = FieldsRead(record.filter);
  entry->windows = WindowsOf(record.filter);
  entry->count = members.cardinality();
  entry->members = std::move(members);
  entry->record = std::move(record);
  return entry;
}

absl::Status PlanRestrictedError(SegmentId id) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "segment ", id,
          " is PLAN_RESTRICTED: the workspace's plan no longer allows its "
          "rules, so it cannot be used as an audience until the plan is "
          "upgraded")),
      {"SEGMENT_PLAN_RESTRICTED", {{"segment_id", absl::StrCat(id)}}});
}

std::string SegmentNameKey(absl::string_view name) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
}

const SegmentEntry* SegmentSet::Find(SegmentId id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.get();
}

absl::StatusOr<const SegmentEntry*> SegmentSet::Get(SegmentId id) const {
  const SegmentEntry* entry = Find(id);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat("segment ", id, " not found"));
  }
  return entry;
}

SegmentId SegmentSet::IdByName(absl::string_view name) const {
  auto it = id_by_name_.find(SegmentNameKey(name));
  return it == id_by_name_.end() ? 0 : it->second;
}

std::vector<const SegmentEntry*> SegmentSet::Reading(
    ContactFieldSet fields) const {
  std::vector<const SegmentEntry*> out;
  for (int f = 0; f < kContactFieldCount; ++f) {
    if ((fields & (1u << f)) == 0) continue;
    out.insert(out.end(), readers_[f].begin(), readers_[f].end());
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentEntry* a, const SegmentEntry* b) {
              return a->record.id < b->record.id;
            });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void SegmentSet::Install(std::unique_ptr<SegmentEntry> entry) {
  const SegmentId id = entry->record.id;
  std::unique_ptr<SegmentEntry>& slot = entries_[id];
  if (slot != nullptr)
    id_by_name_.erase(SegmentNameKey(slot->record.display_name));
  id_by_name_[SegmentNameKey(entry->record.display_name)] = id;
  slot = std::move(entry);
}

void SegmentSet::Remove(SegmentId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  id_by_name_.erase(SegmentNameKey(it->second->record.display_name));
  entries_.erase(it);
}

void SegmentSet::RebuildReaders() {
  for (auto& list : readers_) list.clear();
  by_window_.clear();
  for (const auto& [sid, s] : entries_) {
    if (s->record.state != SegmentState::kActive) continue;
    for (int f = 0; f < kContactFieldCount; ++f) {
      if (s->fields_read & (1u << f)) readers_[f].push_back(s.get());
    }
    for (const TimeWindow& w : s->windows) by_window_[w].push_back(s.get());
  }
}

absl::StatusOr<Filter> ValidateSegmentDraft(const SegmentSet& segments,
                                            const std::string& display_name,
                                            const FilterSpec& filter_spec,
                                            bool check_name, bool check_filter,
                                            SegmentId self, Plan plan,
                                            const Limits& limits) {
  Violations v;
  bool name_taken = false;
  const absl::string_view name = absl::StripAsciiWhitespace(display_name);
  if (check_name) {
    if (name.empty()) {
      v.Add("segment.display_name", "is required");
    } else if (name.size() > limits.max_segment_name_bytes) {
      v.Add("segment.display_name",
            absl::StrCat("at most ", limits.max_segment_name_bytes,
                         " bytes (limit max_segment_name_bytes); got ",
                         name.size()));
    } else if (!IsValidUtf8(std::string_view(name.data(), name.size()))) {
      v.Add("segment.display_name", "must be valid UTF-8");
    } else {
      const SegmentId owner = segments.IdByName(name);
      name_taken = owner != 0 && owner != self;
    }
  }
  absl::StatusOr<Filter> filter = Filter();
  if (check_filter) {
    filter = ValidateFilter(filter_spec, "segment.filter", limits);
    for (FieldViolation& fv : GetFieldViolations(filter.status())) {
      v.Add(std::move(fv.field), std::move(fv.description));
    }
    if (!filter.ok() && v.empty()) return filter.status();
  }
  RETURN_IF_ERROR(v.ToStatus());
  if (name_taken) {
    return absl::AlreadyExistsError(
        absl::StrCat("a segment named \"", name, "\" already exists"));
  }
  if (check_filter) RETURN_IF_ERROR(CheckPlanAllows(*filter, plan));
  return filter;
}

}  // namespace segments::engine
