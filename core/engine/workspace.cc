// The facade: each public call takes the locks it needs and hands the work
// to the pieces in core/engine/internal/ (docs/engine.md walks a write
// through them).
#include "core/engine/workspace.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/engine/internal/apply.h"
#include "core/engine/internal/commit.h"
#include "core/engine/internal/commit_stats.h"
#include "core/engine/internal/contact_loader.h"
#include "core/engine/internal/contact_writes.h"
#include "core/engine/internal/membership_diff.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/engine/internal/reference_answers.h"
#include "core/engine/internal/segment_writes.h"
#include "core/engine/internal/time_writes.h"
#include "core/engine/internal/write_queue.h"
#include "core/index/bitmap_util.h"

namespace segments {
namespace {

using engine::ContactWriteRequest;
using engine::PreparedWrite;

absl::Status ContactNotFound(ContactId id) {
  return absl::NotFoundError(absl::StrCat("contact ", id, " not found"));
}

absl::Status Expired() {
  return absl::DeadlineExceededError(
      "preview did not finish before the call's deadline");
}

constexpr char kMaskPath[] = "update_mask";

// How often the log is pruned, and how many small transactions one turn of
// the scheduler's thread spends on it.
constexpr UnixSeconds kPruneDelaySeconds = 600;
constexpr size_t kPruneWritesPerRun = 10;

// Rebuilds and installs the stored segments, `records` in SortForLoad's
// order. A run of records that refer to no segment is built on two threads
// (alternate records on each, for balance), then installed in order: their
// builds only read the index and the contact table, which Evaluate allows
// from many threads at once (readers do it under a shared lock), and nothing
// is installed meanwhile. A record that refers to segments is built alone,
// after everything before it is installed. The first failure in the order is
// the one returned, as when they were built one by one. At 10M contacts the
// 200 builds were about 8 s of a restart on one core (issue 16).
absl::Status LoadSegments(const engine::SegmentWrites& writes,
                          std::vector<SegmentRecord> records,
                          UnixSeconds applied, engine::WorkspaceMemory* m) {
  using Built = absl::StatusOr<std::unique_ptr<engine::SegmentEntry>>;
  size_t begin = 0;
  while (begin < records.size()) {
    size_t end = begin;
    while (end < records.size() &&
           ReferencedSegments(records[end].filter).empty()) {
      ++end;
    }
    if (end == begin) end = begin + 1;  // refers to installed segments
    const size_t n = end - begin;
    std::vector<Built> built(n);  // each set below
    auto build = [&](size_t first) {
      for (size_t k = first; k < n; k += 2) {
        built[k] = writes.Load(std::move(records[begin + k]), applied);
        if (built[k].ok()) (*built[k])->members.runOptimize();
      }
    };
    RunBoth(
        n >= 2, [&] { build(0); }, [&] { build(1); });
    for (Built& entry : built) {
      if (!entry.ok()) return entry.status();
      m->segments.Install(*std::move(entry));
    }
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace

Workspace::Workspace(WorkspaceId id, Plan plan,
                     std::unique_ptr<WorkspaceStore> store, const Clock* clock,
                     const Limits& limits, FlipScheduler* scheduler)
    : id_(id),
      clock_(clock),
      limits_(limits),
      store_(std::move(store)),
      queue_(std::make_unique<engine::WriteQueue<ContactWriteRequest>>()),
      scheduler_(scheduler),
      memory_(std::make_unique<engine::WorkspaceMemory>(plan)) {}

Workspace::~Workspace() {
  // Before anything is destroyed: the timer may be calling OnFlipDue.
  if (timer_ != 0) scheduler_->Remove(timer_);
  if (pruner_ != 0) scheduler_->Remove(pruner_);
  if (expiry_timer_ != 0) scheduler_->Remove(expiry_timer_);
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::Open(
    WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
    const Clock* clock, const Limits& limits, FlipScheduler* scheduler) {
  std::unique_ptr<Workspace> ws(
      new Workspace(id, plan, std::move(store), clock, limits, scheduler));
  RETURN_IF_ERROR(ws->Load());
  if (scheduler != nullptr) {
    Workspace* const self = ws.get();
    ws->timer_ = scheduler->Add([self] { self->OnFlipDue(); });
    ws->pruner_ = scheduler->Add([self] { self->OnPruneDue(); });
    scheduler->Schedule(ws->pruner_, clock->Now() + kPruneDelaySeconds);
    ws->expiry_timer_ = scheduler->Add([self] { self->OnSnapshotsExpire(); });
    absl::MutexLock w(&ws->write_mu_);
    scheduler->Schedule(ws->timer_, ws->next_due_);
    ws->ScheduleExpiry();
  }
  return ws;
}

absl::Status Workspace::Load() {
  absl::MutexLock w(&write_mu_);
  PreparedWrite reconcile;
  {
    absl::MutexLock l(&mu_);
    engine::WorkspaceMemory& m = *memory_;
    // Indexed while the store streams the next contacts (ContactLoader);
    // done before the store's status is looked at, so no thread is left
    // writing the index on the way out.
    engine::ContactLoader loader(&m.index, &m.contacts);
    absl::StatusOr<WorkspaceData> loaded =
        store_->LoadStreaming([&loader](const Contact& c) { loader.Add(c); });
    loader.Finish();
    ASSIGN_OR_RETURN(WorkspaceData data, std::move(loaded));
    m.counters = data.counters;
    ASSIGN_OR_RETURN(const LogRetention retention, store_->ReadRetention());
    feed_ = std::make_unique<ChangeFeed>(store_.get(), m.counters.last_sequence,
                                         retention, limits_.max_feed_streams);
    // Memberships are rebuilt as they were when time was last applied, so
    // that the flips due since are applied and logged at their due seconds
    // (CatchUp, below). Data from before time was recorded is rebuilt now.
    UnixSeconds& applied = m.counters.time_applied_until;
    if (applied == 0) applied = clock_->Now();
    const engine::SegmentWrites segments(m, limits_);
    // Each after the segments it refers to, whose members it reads.
    RETURN_IF_ERROR(engine::SortForLoad(&data.segments));
    RETURN_IF_ERROR(
        LoadSegments(segments, std::move(data.segments), applied, &m));
    m.segments.RebuildReaders();
    // Expired ones too: they are invisible, and the expiry timer deletes
    // them as soon as it runs.
    for (SnapshotRecord& record : data.snapshots) {
      ASSIGN_OR_RETURN(
          Snapshot snapshot,
          LoadSnapshot(std::move(record), m.counters.next_contact_id));
      m.snapshots.Install(std::move(snapshot));
    }
    next_due_ = engine::TimeWrites(m).NextDue(applied);
  }
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  // A crash may have fallen between a plan change's two commits.
  {
    absl::ReaderMutexLock l(&mu_);
    engine::SegmentWrites(*memory_, limits_)
        .PreparePlanChange(memory_->plan, now, &reconcile);
  }
  if (reconcile.segments.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(CommitAndApply(std::move(reconcile)));
  RecomputeNextDue();
  return absl::OkStatus();
}

Plan Workspace::plan() const {
  absl::ReaderMutexLock l(&mu_);
  return memory_->plan;
}

// ---------------------------------------------------------------------------
// Contacts: each write queues one request.

absl::StatusOr<Contact> Workspace::CreateContact(const ContactDraft& draft) {
  ContactWriteRequest r(ContactWriteRequest::Kind::kCreate);
  r.draft = &draft;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.contact);
}

absl::StatusOr<Contact> Workspace::GetContact(ContactId id) const {
  absl::ReaderMutexLock l(&mu_);
  std::optional<Contact> c = memory_->contacts.Get(id);
  if (!c.has_value()) return ContactNotFound(id);
  return *std::move(c);
}

absl::StatusOr<Contact> Workspace::UpdateContact(
    ContactId id, const ContactDraft& draft,
    const std::vector<std::string>& mask_paths) {
  ContactWriteRequest r(ContactWriteRequest::Kind::kUpdate);
  ASSIGN_OR_RETURN(r.fields, ParseContactFieldMask(mask_paths, kMaskPath));
  r.id = id;
  r.draft = &draft;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.contact);
}

absl::Status Workspace::DeleteContact(ContactId id) {
  ContactWriteRequest r(ContactWriteRequest::Kind::kDelete);
  r.id = id;
  return SubmitContactWrite(&r);
}

absl::StatusOr<BatchUpsertResult> Workspace::BatchUpsertContacts(
    std::vector<ContactDraft> drafts,
    const std::vector<std::string>& mask_paths, ContactView echo) {
  if (drafts.size() > limits_.max_batch_contacts) {
    return InvalidFieldError(
        "contacts",
        absl::StrCat("at most ", limits_.max_batch_contacts,
                     " contacts per batch (limit max_batch_contacts); got ",
                     drafts.size()));
  }
  ContactWriteRequest r(ContactWriteRequest::Kind::kBatch);
  ASSIGN_OR_RETURN(r.fields, ParseContactFieldMask(mask_paths, kMaskPath));
  r.drafts = &drafts;
  r.echo = echo == ContactView::kFull ? ContactView::kFull
                                      : ContactView::kIdAndEmail;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.batch);
}

absl::Status Workspace::SubmitContactWrite(ContactWriteRequest* request) {
  queue_->Submit(request, [this](absl::Span<ContactWriteRequest* const> group) {
    CommitContactGroup(group);
  });
  return request->status;
}

void Workspace::CommitContactGroup(
    absl::Span<ContactWriteRequest* const> group) noexcept {
  absl::MutexLock w(&write_mu_);
  const absl::StatusOr<UnixSeconds> now = CatchUp();
  if (!now.ok()) {
    for (ContactWriteRequest* r : group) r->status = now.status();
    return;
  }
  std::vector<PreparedWrite> prepared;
  std::vector<ContactWriteRequest*> writers;  // requests with rows to commit
  absl::Status committed;
  std::optional<UnixSeconds> due;  // the first flip of the written contacts
  {
    // Held shared through the commit (readers share it; writers queue on
    // write_mu_ anyway): a write alone in its group computes its membership
    // changes during the commit.
    absl::ReaderMutexLock l(&mu_);
    const engine::MembershipDiff diff(*memory_);
    engine::ContactWrites(*memory_, diff)
        .PrepareGroup(group, *now, &prepared, &writers);
    if (prepared.empty()) return;
    const engine::TimeWrites time(*memory_);
    for (PreparedWrite& p : prepared) {
      p.write.counters.time_applied_until = *now;
      const std::optional<UnixSeconds> d =
          time.NextDueOf(p.write.put_contacts, *now);
      if (d.has_value() && (!due.has_value() || *d < *due)) due = d;
    }
    engine::RecordGroupSize(prepared.size());
    committed = engine::TimedCommit(
        [&] { return engine::CommitPrepared(*store_, diff, &prepared); });
  }
  if (!committed.ok()) {
    for (ContactWriteRequest* r : writers) r->status = committed;
    return;
  }
  LowerNextDue(due);
  size_t contacts_written = 0;
  {
    absl::MutexLock l(&mu_);
    for (PreparedWrite& p : prepared) {
      contacts_written += p.contacts_written();
      engine::Apply(&p, memory_.get());
    }
  }
  Publish();
  // What is left of a big write is hundreds of thousands of allocations.
  if (contacts_written >= kParallelMinItems) {
    DestroyInBackground(std::move(prepared));
  }
}

// ---------------------------------------------------------------------------
// Segments and plans: prepared under the write lock, then committed.

absl::StatusOr<SegmentView> Workspace::CreateSegment(
    const SegmentDraft& draft) {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  SegmentId id;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(
        id,
        engine::SegmentWrites(*memory_, limits_).PrepareCreate(draft, now, &p));
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  LowerNextDueForWindowsNewWith(id);
  absl::ReaderMutexLock l(&mu_);
  return ViewOf(id);
}

absl::StatusOr<SegmentView> Workspace::UpdateSegment(
    SegmentId id, const SegmentDraft& draft,
    const std::vector<std::string>& mask_paths) {
  ASSIGN_OR_RETURN(engine::SegmentMask mask,
                   engine::ParseSegmentMask(mask_paths));
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    RETURN_IF_ERROR(engine::SegmentWrites(*memory_, limits_)
                        .PrepareUpdate(id, draft, mask, now, &p)
                        .status());
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  RecomputeNextDue();
  absl::ReaderMutexLock l(&mu_);
  return ViewOf(id);
}

absl::Status Workspace::DeleteSegment(SegmentId id) {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    RETURN_IF_ERROR(
        engine::SegmentWrites(*memory_, limits_).PrepareDelete(id, now, &p));
  }
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  RecomputeNextDue();
  return absl::OkStatus();
}

absl::Status Workspace::SetPlan(Plan plan) {
  absl::MutexLock w(&write_mu_);
  ASSIGN_OR_RETURN(const UnixSeconds now, CatchUp());
  PreparedWrite p;
  {
    absl::ReaderMutexLock l(&mu_);
    engine::SegmentWrites(*memory_, limits_).PreparePlanChange(plan, now, &p);
  }
  p.plan = plan;
  RETURN_IF_ERROR(CommitAndApply(std::move(p)));
  RecomputeNextDue();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Time

absl::Status Workspace::ApplyDueFlips() {
  absl::MutexLock w(&write_mu_);
  return CatchUp().status();
}

UnixSeconds Workspace::time_applied_until() const {
  absl::ReaderMutexLock l(&mu_);
  return memory_->counters.time_applied_until;
}

std::optional<UnixSeconds> Workspace::next_flip_due() const {
  absl::MutexLock w(&write_mu_);
  return next_due_;
}

absl::StatusOr<UnixSeconds> Workspace::CatchUp() {
  const UnixSeconds clock_now = clock_->Now();
  bool stepped = false;
  while (true) {
    PreparedWrite p;
    std::optional<UnixSeconds> next;
    {
      absl::ReaderMutexLock l(&mu_);
      const UnixSeconds applied = memory_->counters.time_applied_until;
      // Nothing falls due before next_due_: the write about to be made
      // records the new moment itself.
      if (clock_now <= applied || !next_due_.has_value() ||
          clock_now < *next_due_) {
        if (!stepped) return std::max(clock_now, applied);
        break;
      }
      const engine::TimeWrites time(*memory_);
      const UnixSeconds end =
          time.StepEnd(applied, clock_now, kMaxFlipsPerWrite);
      time.Prepare(applied, end, &p);
      next = time.NextDue(end);
    }
    if (p.write.changes.empty()) {
      // Nothing changed membership: the moment needs no commit of its own
      // (the next write records it, and a restart would find the same).
      absl::MutexLock l(&mu_);
      memory_->counters.time_applied_until =
          p.write.counters.time_applied_until;
    } else {
      // On a failed commit next_due_ stays: the flips are still due.
      const engine::TimeFlipsToRecord flips(p.write.changes, clock_now);
      RETURN_IF_ERROR(CommitAndApply(std::move(p)));
      flips.Record();
    }
    next_due_ = next;
    stepped = true;
  }
  {
    // A split catch-up ends at its last flip's second; nothing is due
    // after it up to now.
    absl::MutexLock l(&mu_);
    memory_->counters.time_applied_until = clock_now;
  }
  if (timer_ != 0) scheduler_->Schedule(timer_, next_due_);
  return clock_now;
}

void Workspace::RecomputeNextDue() {
  {
    absl::ReaderMutexLock l(&mu_);
    next_due_ = engine::TimeWrites(*memory_).NextDue(
        memory_->counters.time_applied_until);
  }
  if (timer_ != 0) scheduler_->Schedule(timer_, next_due_);
}

void Workspace::LowerNextDueForWindowsNewWith(SegmentId created) {
  std::optional<UnixSeconds> due;
  {
    absl::ReaderMutexLock l(&mu_);
    due = engine::TimeWrites(*memory_).NextDueOfWindowsNewWith(
        created, memory_->counters.time_applied_until);
  }
  LowerNextDue(due);
}

void Workspace::LowerNextDue(std::optional<UnixSeconds> due) {
  if (!due.has_value() || (next_due_.has_value() && *next_due_ <= *due)) {
    return;
  }
  next_due_ = due;
  if (timer_ != 0) scheduler_->Schedule(timer_, next_due_);
}

void Workspace::OnFlipDue() {
  if (ApplyDueFlips().ok()) return;
  // The store could not commit (a failing disk): the flips stay due, and
  // are tried again in a second, or by the next write.
  scheduler_->Schedule(timer_, clock_->Now() + 1);
}

absl::Status Workspace::CommitAndApply(PreparedWrite p) {
  RETURN_IF_ERROR(engine::TimedCommit([&] { return store_->Commit(p.write); }));
  {
    absl::MutexLock l(&mu_);
    engine::Apply(&p, memory_.get());
  }
  Publish();
  return absl::OkStatus();
}

void Workspace::Publish() {
  uint64_t last = 0;
  {
    absl::ReaderMutexLock l(&mu_);
    last = memory_->counters.last_sequence;
  }
  feed_->Publish(last);
}

absl::StatusOr<bool> Workspace::PruneChanges(size_t max_writes) {
  for (size_t i = 0; i < max_writes; ++i) {
    absl::MutexLock w(&write_mu_);
    const UnixSeconds before =
        clock_->Now() -
        static_cast<UnixSeconds>(limits_.feed_retention_seconds);
    const LogRetention was = feed_->retention();
    ASSIGN_OR_RETURN(const LogRetention now,
                     store_->PruneChanges(before, kPruneRunsPerWrite));
    feed_->SetRetention(now);
    if (now == was) return false;
  }
  return true;
}

void Workspace::OnPruneDue() {
  absl::StatusOr<bool> more = PruneChanges(kPruneWritesPerRun);
  // More left: soon, so that a long backlog goes in small steps without
  // holding the scheduler's thread (and other workspaces' flips) long.
  scheduler_->Schedule(
      pruner_, clock_->Now() + (more.ok() && *more ? 1 : kPruneDelaySeconds));
}

// ---------------------------------------------------------------------------
// Reads

absl::StatusOr<SegmentView> Workspace::GetSegment(SegmentId id) const {
  absl::ReaderMutexLock l(&mu_);
  RETURN_IF_ERROR(memory_->segments.Get(id).status());
  return ViewOf(id);
}

Page<SegmentView> Workspace::ListSegments(SegmentId after_id,
                                          size_t page_size) const {
  absl::ReaderMutexLock l(&mu_);
  const engine::SegmentSet::Entries& entries = memory_->segments.entries();
  Page<SegmentView> page;
  for (auto it = entries.upper_bound(after_id); it != entries.end(); ++it) {
    if (page.items.size() == page_size) {
      page.more = true;
      break;
    }
    page.items.push_back(ViewOf(it->first));
  }
  return page;
}

SegmentStateCounts Workspace::CountSegmentsByState() const {
  absl::ReaderMutexLock l(&mu_);
  SegmentStateCounts counts;
  for (const auto& [id, entry] : memory_->segments.entries()) {
    if (entry->record.state == SegmentState::kPlanRestricted) {
      ++counts.plan_restricted;
    } else {
      ++counts.active;
    }
  }
  return counts;
}

size_t Workspace::ApproximateMemoryBytes() const {
  // The attribute index is not walked: its share per contact is about the
  // same in every workspace (docs/benchmarks.md, "Restart and memory").
  constexpr size_t kIndexBytesPerContact = 64;
  // Each open store's SQLite page caches (up to 2 MiB per connection, filled
  // by the load).
  constexpr size_t kStoreBytes = size_t{2} << 20;
  absl::ReaderMutexLock l(&mu_);
  size_t bytes = kStoreBytes + memory_->contacts.MemoryBytes() +
                 memory_->contacts.size() * kIndexBytesPerContact;
  for (const auto& [id, entry] : memory_->segments.entries()) {
    bytes += entry->members.getSizeInBytes(/*portable=*/false);
  }
  return bytes;
}

absl::StatusOr<MemberCount> Workspace::CountMembers(SegmentId id) const {
  absl::ReaderMutexLock l(&mu_);
  // The hot path of every audience-size check: no copy of the segment, and
  // no status built unless it is missing.
  const engine::SegmentEntry* s = memory_->segments.Find(id);
  if (s == nullptr) return memory_->segments.Get(id).status();
  const bool frozen = s->record.state == SegmentState::kPlanRestricted;
  return MemberCount{s->count, frozen ? s->record.frozen_as_of
                                      : memory_->counters.last_sequence};
}

absl::StatusOr<Page<Contact>> Workspace::ListMembers(SegmentId id,
                                                     ContactId after_id,
                                                     size_t page_size,
                                                     ContactView view) const {
  absl::ReaderMutexLock l(&mu_);
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, memory_->segments.Get(id));
  if (s->record.state == SegmentState::kPlanRestricted) {
    return engine::PlanRestrictedError(id);
  }
  Page<Contact> page;
  const std::vector<ContactId> ids =
      MembersAfter(s->members, after_id, page_size, &page.more);
  page.items.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (view == ContactView::kId) {
      page.items[i].id = ids[i];
    } else {
      page.items[i] = *memory_->contacts.Get(ids[i]);
    }
  }
  return page;
}

absl::StatusOr<PreviewResult> Workspace::Preview(
    const FilterSpec& spec, size_t sample_size,
    const std::function<bool()>& expired) const {
  ASSIGN_OR_RETURN(Filter filter, ValidateFilter(spec, "filter", limits_));
  absl::ReaderMutexLock l(&mu_);
  const engine::SegmentSet& segments = memory_->segments;
  RETURN_IF_ERROR(engine::CheckReferences(filter, "filter", segments, 0));
  RETURN_IF_ERROR(engine::CheckPlanAllows(filter, segments, memory_->plan));
  // The index build takes milliseconds even at a million contacts; the
  // deadline is checked before it starts and again before replying.
  if (expired()) return Expired();
  const engine::MemberBitmaps refs(segments);
  const Roaring members = memory_->Evaluate(filter, clock_->Now(), &refs);
  if (expired()) return Expired();
  PreviewResult result;
  result.member_count = members.cardinality();
  result.kind = engine::KindThrough(filter, segments);
  result.as_of_sequence = memory_->counters.last_sequence;
  bool more = false;
  result.sample = MembersAfter(members, 0, sample_size, &more);
  return result;
}

// validate_only: the write is prepared as it would be, read, and dropped.
// Nothing is committed or applied, so memory, store and feed are untouched;
// the preparation reads memory under the reader lock only.

absl::StatusOr<SegmentImpact> Workspace::ValidateCreateSegment(
    const SegmentDraft& draft, size_t sample_size) const {
  absl::ReaderMutexLock l(&mu_);
  PreparedWrite p;
  ASSIGN_OR_RETURN(const SegmentId id,
                   engine::SegmentWrites(*memory_, limits_)
                       .PrepareCreate(draft, ReadNow(), &p));
  return ImpactOf(id, nullptr, p, sample_size);
}

absl::StatusOr<SegmentImpact> Workspace::ValidateUpdateSegment(
    SegmentId id, const SegmentDraft& draft,
    const std::vector<std::string>& mask_paths, size_t sample_size) const {
  ASSIGN_OR_RETURN(engine::SegmentMask mask,
                   engine::ParseSegmentMask(mask_paths));
  absl::ReaderMutexLock l(&mu_);
  PreparedWrite p;
  RETURN_IF_ERROR(engine::SegmentWrites(*memory_, limits_)
                      .PrepareUpdate(id, draft, mask, ReadNow(), &p)
                      .status());
  return ImpactOf(id, &memory_->segments.Find(id)->members, p, sample_size);
}

SegmentImpact Workspace::ImpactOf(SegmentId id, const Roaring* before,
                                  const PreparedWrite& p,
                                  size_t sample_size) const {
  // The entry the write would install; a write that leaves the segment's
  // entry as it is (none queued) leaves its members too.
  const engine::SegmentEntry* after = memory_->segments.Find(id);
  for (const std::unique_ptr<engine::SegmentEntry>& e : p.segments) {
    if (e->record.id == id) after = e.get();
  }
  SegmentImpact impact;
  impact.view.record = after->record;
  impact.view.record.frozen_members.clear();
  impact.view.kind = after->kind;
  impact.view.member_count = after->count;
  impact.view.as_of_sequence =
      after->record.state == SegmentState::kPlanRestricted
          ? after->record.frozen_as_of
          : memory_->counters.last_sequence;
  bool more = false;
  impact.sample_members = MembersAfter(after->members, 0, sample_size, &more);
  const Roaring none;
  const Roaring& was = before != nullptr ? *before : none;
  const Roaring entered = after->members - was;
  const Roaring left = was - after->members;
  impact.entered_count = entered.cardinality();
  impact.left_count = left.cardinality();
  impact.sample_entered = MembersAfter(entered, 0, sample_size, &more);
  impact.sample_left = MembersAfter(left, 0, sample_size, &more);
  return impact;
}

// ---------------------------------------------------------------------------
// History: the live state is read under the lock, the log after it, up to
// the sequence read with it (core/history/history.h).

absl::StatusOr<SegmentHistory> Workspace::GetSegmentHistory(
    SegmentId id, const HistoryRequest& request) const {
  SegmentNow segment;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(segment, NowOf(id));
  }
  return SegmentHistoryOf(segment, request, limits_, *store_);
}

absl::StatusOr<ContactHistory> Workspace::GetContactMembershipHistory(
    SegmentId id, ContactId contact, std::optional<UnixSeconds> at) const {
  SegmentNow segment;
  bool member_now = false;
  {
    absl::ReaderMutexLock l(&mu_);
    ASSIGN_OR_RETURN(segment, NowOf(id));
    // Ids are dense and never reused: below the next id, a contact is or
    // was in this workspace.
    if (contact == 0 || contact >= memory_->counters.next_contact_id) {
      return ContactNotFound(contact);
    }
    member_now = memory_->segments.Find(id)->members.contains(contact);
  }
  return ContactHistoryOf(segment, contact, member_now, at, limits_, *store_);
}

absl::StatusOr<SegmentNow> Workspace::NowOf(SegmentId id) const {
  ASSIGN_OR_RETURN(const engine::SegmentEntry* s, memory_->segments.Get(id));
  SegmentNow now;
  now.id = id;
  now.create_time = s->record.create_time;
  now.member_count = s->count;
  // A frozen segment logs nothing after its freeze, so the workspace's
  // last sequence bounds its log as well.
  now.as_of_sequence = memory_->counters.last_sequence;
  now.now = std::max(clock_->Now(), memory_->counters.time_applied_until);
  return now;
}

SegmentView Workspace::ViewOf(SegmentId id) const {
  const engine::SegmentEntry& s = *memory_->segments.Find(id);
  SegmentView view;
  view.record = s.record;
  view.record.frozen_members.clear();
  view.kind = s.kind;
  view.member_count = s.count;
  view.as_of_sequence = s.record.state == SegmentState::kPlanRestricted
                            ? s.record.frozen_as_of
                            : memory_->counters.last_sequence;
  return view;
}

}  // namespace segments
