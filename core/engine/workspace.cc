#include "core/engine/workspace.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/base/utf8.h"
#include "core/engine/workspace_internal.h"
#include "core/index/bitmap_util.h"
#include "core/index/evaluator.h"

namespace segments {

namespace {

// Logs the contacts of `ids` as one run of `kind` changes, numbered after
// the write's last sequence.
void AppendRun(const Roaring& ids, SegmentId segment, ChangeKind kind,
               ChangeCause cause, UnixSeconds now, WorkspaceWrite* write) {
  if (ids.isEmpty()) return;
  uint64_t& sequence = write->counters.last_sequence;
  ChangeRun& run = write->changes.emplace_back();
  run = {sequence + 1, segment, kind, cause, now, {}};
  run.contact_ids.resize(ids.cardinality());
  ids.toUint32Array(run.contact_ids.data());
  sequence += run.contact_ids.size();
}

constexpr char kMaskPath[] = "update_mask";

std::string NameKey(absl::string_view name) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
}

absl::Status SegmentNotFound(SegmentId id) {
  return absl::NotFoundError(absl::StrCat("segment ", id, " not found"));
}

// Resolves a segment update mask: which of display_name / filter to replace.
absl::Status ParseSegmentMask(const std::vector<std::string>& paths, bool* name,
                              bool* filter) {
  *name = *filter = paths.empty();
  Violations v;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i] == "display_name") {
      *name = true;
    } else if (paths[i] == "filter") {
      *filter = true;
    } else {
      v.Add(absl::StrCat(kMaskPath, ".paths[", i, "]"),
            absl::StrCat("unknown or immutable field \"", paths[i],
                         "\"; updatable: display_name, filter"));
    }
  }
  return v.ToStatus();
}

}  // namespace

Workspace::Workspace(WorkspaceId id, Plan plan,
                     std::unique_ptr<WorkspaceStore> store, const Clock* clock,
                     const Limits& limits)
    : id_(id),
      clock_(clock),
      limits_(limits),
      store_(std::move(store)),
      plan_(plan) {}

Workspace::~Workspace() = default;

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Open(
    WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
    const Clock* clock, const Limits& limits) {
  std::unique_ptr<Workspace> ws(
      new Workspace(id, plan, std::move(store), clock, limits));
  RETURN_IF_ERROR(ws->Load());
  return ws;
}

absl::Status Workspace::Load() {
  absl::MutexLock w(&write_mu_);
  PreparedWrite reconcile;
  {
    absl::MutexLock l(&mu_);
    // Indexed a thousand at a time: AttributeIndex::AddBatch goes field by
    // field, keeping each field's index in cache. The slots are assigned,
    // not appended, so their strings keep their buffers from batch to batch.
    constexpr size_t kLoadBatch = 1024;
    std::vector<Contact> batch(kLoadBatch);
    std::vector<const Contact*> pointers;
    for (const Contact& c : batch) pointers.push_back(&c);
    size_t filled = 0;
    auto flush = [this, &pointers, &filled] {
      mu_.AssertHeld();
      const auto loaded = absl::MakeConstSpan(pointers).subspan(0, filled);
      // The index and the table share nothing; both run under this
      // thread's hold of mu_. A last, partial thousand is not worth a
      // thread.
      RunBoth(
          filled >= kParallelMinItems,
          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { index_.AddBatch(loaded); },
          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            contacts_.InsertBatch(loaded);
          });
      filled = 0;
    };
    ASSIGN_OR_RETURN(WorkspaceData data,
                     store_->LoadStreaming([&](const Contact& c) {
                       batch[filled++] = c;
                       if (filled == kLoadBatch) flush();
                     }));
    flush();
    counters_ = data.counters;
    const UnixSeconds now = clock_->Now();
    PreparedWrite unused;
    for (SegmentRecord& record : data.segments) {
      const SegmentId sid = record.id;
      std::unique_ptr<SegmentEntry> state;
      if (record.state == SegmentState::kPlanRestricted) {
        ASSIGN_OR_RETURN(Roaring frozen,
                         DeserializeBitmap(record.frozen_members));
        state = std::make_unique<SegmentEntry>();
        state->kind = KindOf(record.filter);
        state->fields_read = FieldsRead(record.filter);
        state->members = std::move(frozen);
        state->count = state->members.cardinality();
        state->record = std::move(record);
      } else {
        state = BuildSegment(std::move(record), nullptr,
                             ChangeCause::kRulesChanged, now, &unused);
      }
      id_by_name_[NameKey(state->record.display_name)] = sid;
      segments_[sid] = std::move(state);
    }
    RebuildReaders();
    PreparePlanChange(plan_, now, &reconcile);
  }
  if (reconcile.segments.empty()) return absl::OkStatus();
  return CommitAndApply(std::move(reconcile));
}

Plan Workspace::plan() const {
  absl::ReaderMutexLock l(&mu_);
  return plan_;
}

// ---------------------------------------------------------------------------
// Segments

absl::StatusOr<Filter> Workspace::ValidateSegmentDraft(
    const SegmentDraft& draft, bool check_name, bool check_filter,
    SegmentId self) const {
  Violations v;
  bool name_taken = false;
  if (check_name) {
    absl::string_view name = absl::StripAsciiWhitespace(draft.display_name);
    if (name.empty()) {
      v.Add("segment.display_name", "is required");
    } else if (name.size() > kMaxSegmentNameBytes) {
      v.Add("segment.display_name",
            absl::StrCat("at most ", kMaxSegmentNameBytes, " bytes; got ",
                         name.size()));
    } else if (!IsValidUtf8(std::string_view(name.data(), name.size()))) {
      v.Add("segment.display_name", "must be valid UTF-8");
    } else {
      auto it = id_by_name_.find(NameKey(name));
      name_taken = it != id_by_name_.end() && it->second != self;
    }
  }
  absl::StatusOr<Filter> filter = Filter();
  if (check_filter) {
    filter =
        ValidateFilter(draft.filter, "segment.filter", limits_.max_conditions);
    for (FieldViolation& fv : GetFieldViolations(filter.status())) {
      v.Add(std::move(fv.field), std::move(fv.description));
    }
    if (!filter.ok() && v.empty()) return filter.status();
  }
  RETURN_IF_ERROR(v.ToStatus());
  if (name_taken) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a segment named \"", absl::StripAsciiWhitespace(draft.display_name),
        "\" already exists"));
  }
  if (check_filter) RETURN_IF_ERROR(CheckPlanAllows(*filter, plan_));
  return filter;
}

std::unique_ptr<Workspace::SegmentEntry> Workspace::BuildSegment(
    SegmentRecord record, const Roaring* previous, ChangeCause cause,
    UnixSeconds now, PreparedWrite* p) const {
  auto state = std::make_unique<SegmentEntry>();
  state->kind = KindOf(record.filter);
  state->fields_read = FieldsRead(record.filter);
  state->relative = HasRelativeDateRule(record.filter);
  state->members = Evaluate(record.filter, now);
  state->count = state->members.cardinality();
  record.state = SegmentState::kActive;
  record.frozen_members.clear();
  record.frozen_as_of = 0;
  if (previous != nullptr) {
    AppendRun(*previous - state->members, record.id, ChangeKind::kLeft, cause,
              now, &p->write);
    AppendRun(state->members - *previous, record.id, ChangeKind::kEntered,
              cause, now, &p->write);
  }
  state->record = std::move(record);
  return state;
}

absl::StatusOr<SegmentView> Workspace::CreateSegment(
    const SegmentDraft& draft) {
  absl::MutexLock w(&write_mu_);
  PreparedWrite p;
  SegmentId id;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(Filter filter, ValidateSegmentDraft(draft, true, true, 0));
    if (segments_.size() >= limits_.max_segments) {
      return absl::ResourceExhaustedError(
          absl::StrCat("at most ", limits_.max_segments,
                       " segments per workspace (limit max_segments)"));
    }
    const UnixSeconds now = clock_->Now();
    SegmentRecord record;
    id = record.id = counters_.next_segment_id;
    record.display_name =
        std::string(absl::StripAsciiWhitespace(draft.display_name));
    record.filter = std::move(filter);
    record.create_time = record.update_time = now;
    p.write.counters = counters_;
    p.write.counters.next_segment_id = id + 1;
    p.segments.push_back(BuildSegment(std::move(record), nullptr,
                                      ChangeCause::kRulesChanged, now, &p));
    p.write.put_segments.push_back(p.segments.back()->record);
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  return GetSegment(id);
}

absl::StatusOr<SegmentView> Workspace::GetSegment(SegmentId id) const {
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const SegmentEntry* s, FindSegment(id));
  return ViewOf(*s);
}

std::vector<SegmentView> Workspace::ListSegments(SegmentId after_id,
                                                 size_t page_size,
                                                 bool* more) const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<SegmentView> out;
  *more = false;
  for (auto it = segments_.upper_bound(after_id); it != segments_.end(); ++it) {
    if (out.size() == page_size) {
      *more = true;
      break;
    }
    out.push_back(ViewOf(*it->second));
  }
  return out;
}

absl::StatusOr<SegmentView> Workspace::UpdateSegment(
    SegmentId id, const SegmentDraft& draft,
    const std::vector<std::string>& mask_paths) {
  bool set_name, set_filter;
  RETURN_IF_ERROR(ParseSegmentMask(mask_paths, &set_name, &set_filter));
  absl::MutexLock w(&write_mu_);
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(const SegmentEntry* current, FindSegment(id));
    ASSIGN_OR_RETURN(Filter filter,
                     ValidateSegmentDraft(draft, set_name, set_filter, id));
    const UnixSeconds now = clock_->Now();
    SegmentRecord record = current->record;
    if (set_name)
      record.display_name =
          std::string(absl::StripAsciiWhitespace(draft.display_name));
    record.update_time = now;
    p.write.counters = counters_;
    if (set_filter && !(filter == current->record.filter &&
                        current->record.state == SegmentState::kActive)) {
      // New rules: rebuild now and log who entered and left. A restricted
      // segment whose new rules the plan allows becomes active again.
      record.filter = std::move(filter);
      p.segments.push_back(BuildSegment(std::move(record), &current->members,
                                        ChangeCause::kRulesChanged, now, &p));
    } else {
      auto state = std::make_unique<SegmentEntry>();
      state->kind = current->kind;
      state->fields_read = current->fields_read;
      state->members = current->members;
      state->count = current->count;
      state->record = std::move(record);
      p.segments.push_back(std::move(state));
    }
    p.write.put_segments.push_back(p.segments.back()->record);
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  return GetSegment(id);
}

absl::Status Workspace::DeleteSegment(SegmentId id) {
  absl::MutexLock w(&write_mu_);
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    RETURN_IF_ERROR(FindSegment(id).status());
    p.write.counters = counters_;
    p.write.deleted_segments.push_back(id);
    p.deleted_segments.push_back(id);
  }
  return CommitAndApply(std::move(p));
}

absl::StatusOr<MemberCount> Workspace::CountMembers(SegmentId id) const {
  absl::ReaderMutexLock l(&mu_);
  // The hot path of every audience-size check: no copy of the segment.
  auto it = segments_.find(id);
  if (it == segments_.end()) return SegmentNotFound(id);
  return MemberCount{it->second->count, AsOf(*it->second)};
}

absl::StatusOr<MemberPage> Workspace::ListMembers(SegmentId id,
                                                  ContactId after_id,
                                                  size_t page_size,
                                                  bool full) const {
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const SegmentEntry* s, FindSegment(id));
  if (s->record.state == SegmentState::kPlanRestricted) {
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "segment ", id,
            " is PLAN_RESTRICTED: the workspace's plan no longer allows its "
            "rules, so it "
            "cannot be used as an audience until the plan is upgraded")),
        {"SEGMENT_PLAN_RESTRICTED", {{"segment_id", absl::StrCat(id)}}});
  }
  MemberPage page;
  page.ids = MembersAfter(s->members, after_id, page_size, &page.more);
  page.last_id = page.ids.empty() ? after_id : page.ids.back();
  if (full) {
    page.contacts.reserve(page.ids.size());
    for (ContactId cid : page.ids) page.contacts.push_back(*contacts_.Get(cid));
  }
  return page;
}

absl::StatusOr<PreviewResult> Workspace::Preview(
    const FilterSpec& spec, size_t sample_size,
    const std::function<bool()>& expired) const {
  ASSIGN_OR_RETURN(Filter filter,
                   ValidateFilter(spec, "filter", limits_.max_conditions));
  absl::ReaderMutexLock l(&mu_);
  RETURN_IF_ERROR(CheckPlanAllows(filter, plan_));
  // The index build takes milliseconds even at a million contacts; the
  // deadline is checked before it starts and again before replying.
  if (expired()) {
    return absl::DeadlineExceededError(
        "preview did not finish before the call's deadline");
  }
  const Roaring members = Evaluate(filter, clock_->Now());
  if (expired()) {
    return absl::DeadlineExceededError(
        "preview did not finish before the call's deadline");
  }
  PreviewResult result;
  result.member_count = members.cardinality();
  result.kind = KindOf(filter);
  result.as_of_sequence = counters_.last_sequence;
  bool more = false;
  result.sample = MembersAfter(members, 0, sample_size, &more);
  return result;
}

// ---------------------------------------------------------------------------
// Plans

absl::Status Workspace::SetPlan(Plan plan) {
  absl::MutexLock w(&write_mu_);
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    p.write.counters = counters_;
    PreparePlanChange(plan, clock_->Now(), &p);
  }
  p.plan = plan;
  return CommitAndApply(std::move(p));
}

void Workspace::PreparePlanChange(Plan plan, UnixSeconds now,
                                  PreparedWrite* p) const {
  p->write.counters = counters_;
  for (const auto& [sid, s] : segments_) {
    const bool allowed = CheckPlanAllows(s->record.filter, plan).ok();
    const bool active = s->record.state == SegmentState::kActive;
    if (allowed == active) continue;
    SegmentRecord record = s->record;
    if (active) {
      // Downgrade: keep the segment, freeze its membership as it is now.
      auto state = std::make_unique<SegmentEntry>();
      state->kind = s->kind;
      state->fields_read = s->fields_read;
      state->members = s->members;
      state->count = s->count;
      record.state = SegmentState::kPlanRestricted;
      record.frozen_members = SerializeBitmap(s->members);
      record.frozen_as_of = counters_.last_sequence;
      state->record = std::move(record);
      p->segments.push_back(std::move(state));
    } else {
      // Upgrade: rebuild to current membership, logging the difference.
      p->segments.push_back(BuildSegment(std::move(record), &s->members,
                                         ChangeCause::kPlanChanged, now, p));
    }
    p->write.put_segments.push_back(p->segments.back()->record);
  }
}

// ---------------------------------------------------------------------------
// Commit and apply

absl::Status Workspace::CommitAndApply(PreparedWrite p) {
  RETURN_IF_ERROR(store_->Commit(p.write));
  absl::MutexLock l(&mu_);
  Apply(&p);
  return absl::OkStatus();
}

void Workspace::Apply(PreparedWrite* prepared) {
  PreparedWrite& p = *prepared;
  const size_t contacts_written =
      p.write.put_contacts.size() + p.write.deleted_contacts.size();
  if (contacts_written > 0) {
    // The index and the table share nothing, and this thread holds mu_ for
    // both halves, which run at once for big writes. The new contacts'
    // index is usually a cheap merge, so the table's columns are shared
    // out: its emails beside the index.
    const std::vector<const Contact*> created = NewContacts(p);
    contacts_.BeginInsert(created);
    RunBoth(
        contacts_written >= kParallelMinItems,
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          ApplyToIndex(&p);
          contacts_.InsertColumns(created, ContactTable::ColumnGroup::kEmail);
        },
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          contacts_.InsertColumns(created, ContactTable::ColumnGroup::kText);
          contacts_.InsertColumns(created, ContactTable::ColumnGroup::kTags);
          ApplyToStoredContacts(p);
          ApplyToMembers(p);
        });
  }
  for (std::unique_ptr<SegmentEntry>& s : p.segments) {
    const SegmentId sid = s->record.id;
    auto old = segments_.find(sid);
    if (old != segments_.end())
      id_by_name_.erase(NameKey(old->second->record.display_name));
    id_by_name_[NameKey(s->record.display_name)] = sid;
    s->members.runOptimize();
    segments_[sid] = std::move(s);
  }
  for (SegmentId sid : p.deleted_segments) {
    auto it = segments_.find(sid);
    if (it == segments_.end()) continue;
    id_by_name_.erase(NameKey(it->second->record.display_name));
    segments_.erase(it);
  }
  if (!p.segments.empty() || !p.deleted_segments.empty()) RebuildReaders();
  if (p.plan.has_value()) plan_ = *p.plan;
  counters_ = p.write.counters;
}

std::vector<const Contact*> Workspace::NewContacts(const PreparedWrite& p) {
  std::vector<const Contact*> created;
  for (size_t i = 0; i < p.write.put_contacts.size(); ++i) {
    if (!p.put_origins[i].before.has_value()) {
      created.push_back(&p.write.put_contacts[i]);
    }
  }
  return created;
}

void Workspace::ApplyToIndex(PreparedWrite* p) {
  const std::vector<Contact>& puts = p->write.put_contacts;
  // New contacts matched as a batch were indexed then: that index joins
  // whole. Others are indexed in runs, field by field (AddBatch).
  const bool created_indexed = p->created_index != nullptr;
  if (created_indexed) index_.Merge(std::move(*p->created_index));
  size_t run_start = 0;
  for (size_t i = 0; i <= puts.size(); ++i) {
    const bool is_new =
        i < puts.size() && !p->put_origins[i].before.has_value();
    if (is_new) {
      if (created_indexed) run_start = i + 1;
      continue;
    }
    if (run_start < i) {
      index_.AddBatch(
          absl::MakeConstSpan(puts).subspan(run_start, i - run_start));
    }
    run_start = i + 1;
    if (i < puts.size()) {
      const PutOrigin& origin = p->put_origins[i];
      index_.Update(*origin.before, puts[i], origin.changed);
    }
  }
  for (const Contact& before : p->deleted_before) index_.Remove(before);
}

void Workspace::ApplyToStoredContacts(const PreparedWrite& p) {
  for (size_t i = 0; i < p.write.put_contacts.size(); ++i) {
    const PutOrigin& origin = p.put_origins[i];
    if (origin.before.has_value()) {
      contacts_.Update(p.write.put_contacts[i], origin.changed);
    }
  }
  for (const Contact& before : p.deleted_before) contacts_.Erase(before.id);
}

void Workspace::ApplyToMembers(const PreparedWrite& p) {
  // A segment's many entries (a batch) are added at once, then counted; a
  // few are added and counted one by one, sparing a single update the count
  // of a big bitmap.
  constexpr size_t kAddManyMin = 64;
  for (const ChangeRun& run : p.write.changes) {
    SegmentEntry& s = *segments_.at(run.segment_id);
    const std::vector<ContactId>& ids = run.contact_ids;
    if (run.kind == ChangeKind::kLeft) {
      for (ContactId id : ids) s.count -= s.members.removeChecked(id);
    } else if (ids.size() >= kAddManyMin) {
      s.members.addMany(ids.size(), ids.data());
      s.count = s.members.cardinality();
    } else {
      for (ContactId id : ids) s.count += s.members.addChecked(id);
    }
  }
}

// ---------------------------------------------------------------------------
// Helpers

Roaring Workspace::Evaluate(const Filter& filter, UnixSeconds now) const {
  return index_.Evaluate(filter, now, contacts_);
}

std::vector<const Workspace::SegmentEntry*> Workspace::SegmentsReading(
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

void Workspace::RebuildReaders() {
  for (auto& list : readers_) list.clear();
  for (const auto& [sid, s] : segments_) {
    if (s->record.state != SegmentState::kActive) continue;
    for (int f = 0; f < kContactFieldCount; ++f) {
      if (s->fields_read & (1u << f)) readers_[f].push_back(s.get());
    }
  }
}

absl::StatusOr<const Workspace::SegmentEntry*> Workspace::FindSegment(
    SegmentId id) const {
  auto it = segments_.find(id);
  if (it == segments_.end()) return SegmentNotFound(id);
  return it->second.get();
}

SegmentView Workspace::ViewOf(const SegmentEntry& s) const {
  SegmentView view;
  view.record = s.record;
  view.record.frozen_members.clear();
  view.kind = s.kind;
  view.member_count = s.count;
  view.as_of_sequence = AsOf(s);
  return view;
}

uint64_t Workspace::AsOf(const SegmentEntry& s) const {
  return s.record.state == SegmentState::kPlanRestricted
             ? s.record.frozen_as_of
             : counters_.last_sequence;
}

}  // namespace segments
