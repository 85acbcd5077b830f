// One workspace's contacts and segments, with every segment's membership
// materialized as a Roaring bitmap and kept current incrementally: each
// contact mutation re-evaluates that contact only, against only the segments
// whose filters read a field that changed.
//
// Every write follows SPEC §9: validate -> compute membership diffs against
// memory -> commit contacts, segments and change events in one store
// transaction -> apply to memory -> return. A failed commit changes nothing.
// How a write travels through the pieces in core/engine/internal/ is drawn
// in docs/engine.md.
//
// Time (SPEC §6 "Time"): a segment with a relative date rule moves with
// the clock. The workspace applies time up to a moment it records
// (counters.time_applied_until): every flip due by then is in the
// memberships and the log, as a write with cause TIME at the second it fell
// due. Every write first applies the flips due by its `now`, so it is
// prepared against memberships exact at `now`; between writes, the
// FlipScheduler wakes the workspace when its next flip falls due. The
// workspace's time never moves backwards: if the clock steps back, writes
// are made at the recorded moment until the clock passes it again.
//
// Thread-safety: all methods are thread-safe. Readers (counts, listings,
// previews) are excluded only while a committed write is applied, never
// during a disk commit. Concurrent contact writes are group-committed (one
// store transaction for all of them).
#ifndef SEGMENTS_CORE_ENGINE_WORKSPACE_H_
#define SEGMENTS_CORE_ENGINE_WORKSPACE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/analytics/bitmap_export.h"
#include "core/analytics/breakdown.h"
#include "core/analytics/goals.h"
#include "core/analytics/membership.h"
#include "core/analytics/overlap.h"
#include "core/analytics/recommendations.h"
#include "core/base/clock.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/feed/change_feed.h"
#include "core/history/history.h"
#include "core/index/explain.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "core/model/paging.h"
#include "core/snapshots/snapshot.h"
#include "core/store/store.h"
#include "core/time/flip_scheduler.h"
#include "roaring/roaring.hh"

namespace segments {

// What a caller sends to create or update a segment.
struct SegmentDraft {
  std::string display_name;
  FilterSpec filter;
};

// A segment with its live state, as the API shows it.
struct SegmentView {
  SegmentRecord record;  // frozen_members is left empty here
  SegmentKind kind = SegmentKind::kStandard;
  uint64_t member_count = 0;
  uint64_t as_of_sequence = 0;
};

struct MemberCount {
  uint64_t member_count = 0;
  uint64_t as_of_sequence = 0;
};

// How much of each contact a listing or a batch's echo carries.
enum class ContactView {
  kId,          // the rest of each Contact left default
  kIdAndEmail,  // a bulk import rarely reads 10,000 contacts back, and
                // copying them is a noticeable part of the batch
  kFull,
};

// A draft filter evaluated without saving.
struct PreviewResult {
  uint64_t member_count = 0;
  std::vector<ContactId> sample;  // the lowest member ids, ascending
  SegmentKind kind = SegmentKind::kStandard;
  uint64_t as_of_sequence = 0;
};

// What a segment write would do, found without making it (AIP-163
// validate_only): the segment as the write would leave it (a create shows
// the id it would take), and who would enter and leave it.
struct SegmentImpact {
  SegmentView view;
  uint64_t entered_count = 0;  // a create: every member
  uint64_t left_count = 0;     // a create: 0
  // The lowest ids of each, ascending, at most the sample size each.
  std::vector<ContactId> sample_members, sample_entered, sample_left;
};

// Why a contact is or is not in a segment (ExplainMembership).
struct MembershipExplanation {
  // The membership as kept (a PLAN_RESTRICTED segment's frozen one).
  bool member = false;
  // The segment's filter evaluated for the contact at `evaluated_at`,
  // references read from the referred segments' members.
  ExplainedCondition filter;
  SegmentState state = SegmentState::kActive;
  uint64_t as_of_sequence = 0;
  UnixSeconds evaluated_at = 0;
};

// Analytics answers, with the change-log sequence they are as of.
struct ContactSegments {
  struct Entry {
    SegmentId id = 0;
    std::string display_name;  // when asked for
  };
  std::vector<Entry> segments;  // ascending id
  uint64_t as_of_sequence = 0;
};
struct MembershipAnswer {
  analytics::MembershipCheck check;
  uint64_t as_of_sequence = 0;
};
struct BreakdownAnswer {
  analytics::Breakdown breakdown;
  uint64_t as_of_sequence = 0;
};
struct OverlapAnswer {
  analytics::Overlap overlap;
  uint64_t as_of_sequence = 0;
};
struct RecommendationAnswer {
  std::vector<analytics::Candidate> candidates;
  uint64_t as_of_sequence = 0;
};

// How many segments a workspace has in each state (for metrics).
struct SegmentStateCounts {
  size_t active = 0;
  size_t plan_restricted = 0;
};

struct BatchUpsertResult {
  std::vector<Contact> contacts;  // in request order, as the view says
  uint32_t created = 0;
  uint32_t updated = 0;
};

namespace engine {
struct WorkspaceMemory;
struct ContactWriteRequest;
template <typename W>
class WriteQueue;
struct PreparedWrite;
struct SegmentEntry;
}  // namespace engine

class Workspace {
 public:
  // Loads the workspace from `store`, rebuilds every active segment's
  // membership from its rules as of the moment time was last applied, then
  // applies the flips that fell due since (logged at their due seconds).
  // `clock` must outlive the workspace; so must `scheduler`, which, when
  // given, wakes the workspace whenever a flip falls due (without one,
  // flips are applied by writes and ApplyDueFlips only).
  static absl::StatusOr<std::unique_ptr<Workspace>> Open(
      WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
      const Clock* clock, const Limits& limits,
      FlipScheduler* scheduler = nullptr);

  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  WorkspaceId id() const { return id_; }
  Plan plan() const;

  // Contacts. Violations are reported under "contact" ("contacts[i]" for a
  // batch); ids outside the workspace are NOT_FOUND; a duplicate email is
  // ALREADY_EXISTS.
  absl::StatusOr<Contact> CreateContact(const ContactDraft& draft);
  absl::StatusOr<Contact> GetContact(ContactId id) const;
  // `mask_paths` empty: every field is replaced.
  absl::StatusOr<Contact> UpdateContact(
      ContactId id, const ContactDraft& draft,
      const std::vector<std::string>& mask_paths);
  absl::Status DeleteContact(ContactId id);
  // Upserts by email, all or nothing. For existing contacts only the fields
  // in `mask_paths` (all when empty) are replaced. `echo`: kIdAndEmail or
  // kFull.
  absl::StatusOr<BatchUpsertResult> BatchUpsertContacts(
      std::vector<ContactDraft> drafts,
      const std::vector<std::string>& mask_paths,
      ContactView echo = ContactView::kFull);

  // Segments. Violations are reported under "segment".
  absl::StatusOr<SegmentView> CreateSegment(const SegmentDraft& draft);
  absl::StatusOr<SegmentView> GetSegment(SegmentId id) const;
  // Segments with id > after_id, at most page_size.
  Page<SegmentView> ListSegments(SegmentId after_id, size_t page_size) const;
  // `mask_paths`: "display_name", "filter"; empty means both.
  absl::StatusOr<SegmentView> UpdateSegment(
      SegmentId id, const SegmentDraft& draft,
      const std::vector<std::string>& mask_paths);
  absl::Status DeleteSegment(SegmentId id);
  SegmentStateCounts CountSegmentsByState() const;
  // About how much memory the workspace holds (contacts, indexes,
  // memberships, its store's caches): what the registry's budget counts.
  size_t ApproximateMemoryBytes() const;

  // Membership. O(1): the cached cardinality.
  absl::StatusOr<MemberCount> CountMembers(SegmentId id) const;
  // Members with id > after_id, at most page_size, as `view` says (kId or
  // kFull). FAILED_PRECONDITION for a PLAN_RESTRICTED segment (it cannot be
  // used as an audience).
  absl::StatusOr<Page<Contact>> ListMembers(SegmentId id, ContactId after_id,
                                            size_t page_size,
                                            ContactView view) const;

  // Evaluates a draft filter (violations under "filter") with the same
  // validation and plan rules as a segment, without saving anything; the
  // sample holds up to `sample_size` ids. Stops with DEADLINE_EXCEEDED when
  // `expired()` turns true while it evaluates.
  absl::StatusOr<PreviewResult> Preview(
      const FilterSpec& filter, size_t sample_size,
      const std::function<bool()>& expired) const;

  // validate_only (AIP-163): checks a CreateSegment / UpdateSegment exactly
  // as the write would (mask, name, rules, references and cycles, plan; the
  // same errors) and reports its impact without writing anything: memory,
  // store and feed are untouched. The segment is evaluated at the read
  // moment (as Preview is) and compared with its members as they are read
  // now; samples hold up to `sample_size` ids each.
  absl::StatusOr<SegmentImpact> ValidateCreateSegment(const SegmentDraft& draft,
                                                      size_t sample_size) const;
  absl::StatusOr<SegmentImpact> ValidateUpdateSegment(
      SegmentId id, const SegmentDraft& draft,
      const std::vector<std::string>& mask_paths, size_t sample_size) const;

  // Membership over time, from the live membership and the change log
  // (core/history/history.h), read as of one sequence number. NOT_FOUND for
  // a segment outside the workspace (a deleted one too: no live membership
  // is left to derive its past from) and for a contact id never assigned; a
  // deleted contact's history is answered (the log keeps its events).
  absl::StatusOr<SegmentHistory> GetSegmentHistory(
      SegmentId id, const HistoryRequest& request) const;
  absl::StatusOr<ContactHistory> GetContactMembershipHistory(
      SegmentId id, ContactId contact, std::optional<UnixSeconds> at) const;

  // Why `contact` is or is not a member of segment `id`: every condition's
  // and group's value for it (core/index/explain.h) at the read moment,
  // beside the membership as kept; they agree for an active segment
  // (except for a flip due this very moment and not yet applied). NOT_FOUND
  // for a segment or contact outside the workspace.
  absl::StatusOr<MembershipExplanation> ExplainMembership(
      SegmentId id, ContactId contact) const;

  // Analytics (core/analytics/, workspace_analytics.cc): reads of
  // membership under the reader lock, never the write path. A segment
  // outside the workspace is NOT_FOUND; a PLAN_RESTRICTED one (its
  // membership frozen, no longer current) FAILED_PRECONDITION.
  //
  // The active segments `contact` is a member of; NOT_FOUND for a contact
  // not in the workspace.
  absl::StatusOr<ContactSegments> ListContactSegments(ContactId contact,
                                                      bool with_names) const;
  // Which of `ids` (1..limits.max_membership_check_ids of them, violations
  // at "contact_ids") are members of segment `id`; ids no contact holds are
  // not members.
  absl::StatusOr<MembershipAnswer> CheckMembership(
      SegmentId id, absl::Span<const uint64_t> ids) const;
  // `dimensions`: field names (violations at "dimensions[i]"), none: every
  // one the plan allows; a scoring field beyond the plan is
  // PERMISSION_DENIED. `top_n` 0: limits.default_breakdown_top_n; above
  // limits.max_breakdown_top_n INVALID_ARGUMENT at "top_n".
  absl::StatusOr<BreakdownAnswer> GetSegmentBreakdown(
      SegmentId id, const std::vector<std::string>& dimensions,
      int64_t top_n) const;
  // 2..limits.max_overlap_segments distinct segments (violations at
  // "segment_ids").
  absl::StatusOr<OverlapAnswer> GetSegmentOverlap(
      absl::Span<const uint64_t> ids) const;
  // A segment's members, or a live snapshot's, serialized portably.
  absl::StatusOr<analytics::BitmapExport> ExportSegment(SegmentId id) const;
  absl::StatusOr<analytics::BitmapExport> ExportSnapshot(SnapshotId id) const;
  // PRO only. `goal`: a RecommendationGoal wire value (violation at "goal").
  absl::StatusOr<RecommendationAnswer> RecommendSegments(int goal) const;

  // Applies a plan change: segments the plan no longer allows are frozen as
  // PLAN_RESTRICTED; restricted ones it allows again are rebuilt (their diff
  // is logged with cause PLAN_CHANGED).
  absl::Status SetPlan(Plan plan);

  // Time. Applies every flip due by the clock's now, in writes of at most
  // about kMaxFlipsPerWrite flips (never splitting one second's); what the
  // scheduler calls. On a failed commit, the flips not committed stay due.
  absl::Status ApplyDueFlips();
  // The moment time has been applied up to.
  UnixSeconds time_applied_until() const;
  // The next moment a flip may fall due (never later than the next one
  // that will), or nullopt when none will: what the scheduler is told.
  std::optional<UnixSeconds> next_flip_due() const;

  static constexpr size_t kMaxFlipsPerWrite = 250'000;

  // The change feed: the log as it is published and retained, and its
  // followers (core/feed/change_feed.h). Every write publishes its last
  // sequence once it is in memory, so a follower that reads up to the head
  // reads what counts and listings already show.
  ChangeFeed& feed() const { return *feed_; }
  // Deletes the log older than limits.feed_retention_seconds, one
  // transaction of at most kPruneRunsPerWrite runs at a time, the write
  // lock released in between so that writers wait at most for one; at most
  // `max_writes` of them. Returns whether more is left to prune.
  absl::StatusOr<bool> PruneChanges(size_t max_writes)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  static constexpr size_t kPruneRunsPerWrite = 1000;
  // Audience snapshots (core/snapshots/): a frozen copy of a segment's
  // members, made through the write path, so its as_of_sequence is exactly
  // the sequence its members reflect. Violations under "snapshot"; an
  // unknown segment is NOT_FOUND, a PLAN_RESTRICTED one FAILED_PRECONDITION,
  // more than limits.max_snapshots live ones RESOURCE_EXHAUSTED.
  absl::StatusOr<SnapshotView> CreateSnapshot(const SnapshotDraft& draft);
  // A snapshot is NOT_FOUND from its expire_time on. Its drift is computed
  // against the segment's members now (none once the segment is deleted).
  absl::StatusOr<SnapshotView> GetSnapshot(SnapshotId id) const;
  // Live snapshots with id > after_id, at most page_size, with their drift.
  Page<SnapshotView> ListSnapshots(SnapshotId after_id, size_t page_size) const;
  // Members with id > after_id, at most page_size: the same on every read.
  // kFull gives the contacts as they are now; one deleted since is listed
  // with its id only, and named in `deleted`.
  absl::StatusOr<SnapshotMemberPage> ListSnapshotMembers(
      SnapshotId id, ContactId after_id, size_t page_size,
      ContactView view) const;
  absl::Status DeleteSnapshot(SnapshotId id);
  // Deletes every snapshot expired by the clock's now, in one write; what
  // the expiry timer calls. On a failed commit they stay (invisible).
  absl::Status RemoveExpiredSnapshots();
  // The earliest expire_time of the snapshots held, or nullopt: when the
  // expiry timer is set to.
  std::optional<UnixSeconds> next_snapshot_expiry() const;

 private:
  Workspace(WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
            const Clock* clock, const Limits& limits, FlipScheduler* scheduler);

  // Reads the store and rebuilds memberships; then brings segment states in
  // line with the plan.
  absl::Status Load() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // Queues a contact write; its group's leader prepares, commits and
  // applies it (CommitContactGroup).
  absl::Status SubmitContactWrite(engine::ContactWriteRequest* request)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // The leader's turn: prepare every write of `group` against memory as the
  // earlier ones leave it, commit them in one transaction, apply them in
  // order. noexcept: a failure to allocate must not leave the group's
  // followers waiting or memory half-applied (docs/engine.md).
  void CommitContactGroup(
      absl::Span<engine::ContactWriteRequest* const> group) noexcept
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // Commits `p`, then applies it. On a failed commit memory is untouched.
  absl::Status CommitAndApply(engine::PreparedWrite p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Applies the flips due by the clock's now and returns the moment a write
  // is then made at: the clock's now, or the applied moment if the clock
  // is behind it.
  absl::StatusOr<UnixSeconds> CatchUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // next_due_ from scratch (after the flips or the windows changed), or
  // lowered to `due` (a write set contacts' timestamps); the scheduler is
  // told when it changes.
  void RecomputeNextDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  void LowerNextDue(std::optional<UnixSeconds> due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // After segment `created` was installed. A new segment leaves the flips
  // of the windows already in use as they were, so next_due_ can only come
  // forward, and only through a window nothing else used: only those are
  // looked up, where RecomputeNextDue would search every window's index
  // again (a third of a create with a relative date rule,
  // docs/benchmarks.md).
  void LowerNextDueForWindowsNewWith(SegmentId created)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The scheduler's callbacks.
  void OnFlipDue() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  void OnPruneDue() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // Tells the feed that memory holds the log up to its last sequence.
  void Publish() ABSL_LOCKS_EXCLUDED(mu_);
  SegmentView ViewOf(SegmentId id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The impact of prepared write `p` on segment `id`, whose members were
  // `before` (null: a new segment).
  SegmentImpact ImpactOf(SegmentId id, const Roaring* before,
                         const engine::PreparedWrite& p,
                         size_t sample_size) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Segment `id` as it stands, for history; NOT_FOUND when it is not.
  absl::StatusOr<SegmentNow> NowOf(SegmentId id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Snapshots (workspace_snapshots.cc). The moment reads are made at: the
  // clock, or the applied moment if the clock stepped back behind it.
  UnixSeconds ReadNow() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  SnapshotView SnapshotViewOf(const Snapshot& s) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Analytics (workspace_analytics.cc): segment `id` if its membership
  // is current (NOT_FOUND, FAILED_PRECONDITION otherwise).
  absl::StatusOr<const engine::SegmentEntry*> CurrentSegment(SegmentId id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Tells the expiry timer the earliest expire_time held.
  void ScheduleExpiry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The expiry timer's callback.
  void OnSnapshotsExpire() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  // Constant after construction.
  const WorkspaceId id_;
  const Clock* const clock_;
  const Limits limits_;
  const std::unique_ptr<WorkspaceStore> store_;
  const std::unique_ptr<engine::WriteQueue<engine::ContactWriteRequest>> queue_;
  FlipScheduler* const scheduler_;    // may be null
  FlipScheduler::TaskId timer_ = 0;   // set once, in Open
  FlipScheduler::TaskId pruner_ = 0;  // set once, in Open
  std::unique_ptr<ChangeFeed> feed_;  // set once, in Load

  // The snapshot expiry task; set once, in Open.
  FlipScheduler::TaskId expiry_timer_ = 0;

  // Serializes writers; held across prepare, commit and apply.
  mutable absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // A lower bound of the next moment a flip falls due after the applied
  // moment; nullopt: none will, until contacts or segments change.
  std::optional<UnixSeconds> next_due_ ABSL_GUARDED_BY(write_mu_);
  // Shared to read memory and to prepare and commit a write, exclusive to
  // apply one.
  mutable absl::Mutex mu_;
  const std::unique_ptr<engine::WorkspaceMemory> memory_
      ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_WORKSPACE_H_
