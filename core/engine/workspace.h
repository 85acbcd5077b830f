// One workspace's contacts and segments, with every segment's membership
// materialized as a Roaring bitmap and kept current incrementally: each
// contact mutation re-evaluates that contact only, against only the segments
// whose filters read a field that changed.
//
// Every write follows SPEC §9: validate -> compute membership diffs against
// memory -> commit contacts, segments and change events in one store
// transaction -> apply to memory -> return. A failed commit changes nothing.
//
// Thread-safety: all methods are thread-safe. Writers are serialized by
// write_mu_ and hold mu_ exclusively only to apply an already-committed
// change, so readers (counts, listings) never wait for a disk commit.
// Concurrent contact writes are group-committed (one store transaction).
#ifndef SEGMENTS_CORE_ENGINE_WORKSPACE_H_
#define SEGMENTS_CORE_ENGINE_WORKSPACE_H_

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_table.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "core/store/store.h"
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

struct MemberPage {
  std::vector<ContactId> ids;     // ascending
  std::vector<Contact> contacts;  // filled when asked for full contacts
  ContactId last_id = 0;          // the last id returned
  bool more = false;              // whether members follow last_id
};

// A draft filter evaluated without saving.
struct PreviewResult {
  uint64_t member_count = 0;
  std::vector<ContactId> sample;  // the lowest member ids, ascending
  SegmentKind kind = SegmentKind::kStandard;
  uint64_t as_of_sequence = 0;
};
inline constexpr size_t kMaxPreviewSample = 100;

// How much of each contact a batch upsert's result carries.
enum class BatchEcho {
  kFullContacts,  // every field
  kIdAndEmail,    // the rest of each Contact left default: a bulk import
                  // rarely reads 10,000 contacts back, and copying them is
                  // a noticeable part of the batch
};

struct BatchUpsertResult {
  std::vector<Contact> contacts;  // in request order, as BatchEcho says
  uint32_t created = 0;
  uint32_t updated = 0;
};

inline constexpr size_t kMaxSegmentNameBytes = 200;

class Workspace {
 public:
  // Loads the workspace from `store` and rebuilds every active segment's
  // membership from its rules. `clock` must outlive the workspace.
  static absl::StatusOr<std::unique_ptr<Workspace>> Open(
      WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
      const Clock* clock, const Limits& limits);

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
  // in `mask_paths` (all when empty) are replaced.
  absl::StatusOr<BatchUpsertResult> BatchUpsertContacts(
      std::vector<ContactDraft> drafts,
      const std::vector<std::string>& mask_paths,
      BatchEcho echo = BatchEcho::kFullContacts);

  // Segments. Violations are reported under "segment".
  absl::StatusOr<SegmentView> CreateSegment(const SegmentDraft& draft);
  absl::StatusOr<SegmentView> GetSegment(SegmentId id) const;
  // Segments with id > after_id, ascending, at most page_size; `*more` says
  // whether others follow.
  std::vector<SegmentView> ListSegments(SegmentId after_id, size_t page_size,
                                        bool* more) const;
  // `mask_paths`: "display_name", "filter"; empty means both.
  absl::StatusOr<SegmentView> UpdateSegment(
      SegmentId id, const SegmentDraft& draft,
      const std::vector<std::string>& mask_paths);
  absl::Status DeleteSegment(SegmentId id);

  // Membership. O(1): the cached cardinality.
  absl::StatusOr<MemberCount> CountMembers(SegmentId id) const;
  // Members with id > after_id, ascending. FAILED_PRECONDITION for a
  // PLAN_RESTRICTED segment (it cannot be used as an audience).
  absl::StatusOr<MemberPage> ListMembers(SegmentId id, ContactId after_id,
                                         size_t page_size, bool full) const;

  // Evaluates a draft filter (violations under "filter") with the same
  // validation and plan rules as a segment, without saving anything. Stops
  // with DEADLINE_EXCEEDED when `expired()` turns true while it evaluates.
  absl::StatusOr<PreviewResult> Preview(
      const FilterSpec& filter, size_t sample_size,
      const std::function<bool()>& expired) const;

  // Applies a plan change: segments the plan no longer allows are frozen as
  // PLAN_RESTRICTED; restricted ones it allows again are rebuilt (their diff
  // is logged with cause PLAN_CHANGED).
  absl::Status SetPlan(Plan plan);

 private:
  struct SegmentEntry;
  struct ContactMutation;
  struct PreparedWrite;
  struct PendingChanges;
  struct Overlay;
  struct PutOrigin;
  struct SegmentChanges;
  using ChangesBySegment = absl::flat_hash_map<SegmentId, SegmentChanges>;
  struct WriteRequest;
  struct BatchEntry;

  Workspace(WorkspaceId id, Plan plan, std::unique_ptr<WorkspaceStore> store,
            const Clock* clock, const Limits& limits);

  // Reads the store and rebuilds memberships; then brings segment states in
  // line with plan_ (a crash may have fallen between a plan change's two
  // commits).
  absl::Status Load() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  // Contact writes arriving together are group-committed: they queue, and
  // the first in line prepares every queued write (each against memory as
  // the earlier ones leave it), commits them in one store transaction, then
  // applies them in order. See workspace_contacts.cc.
  absl::Status SubmitContactWrite(WriteRequest* request)
      ABSL_LOCKS_EXCLUDED(queue_mu_, write_mu_, mu_);
  void CommitGroup(const std::vector<WriteRequest*>& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Prepares each request of `group` against memory as the earlier ones
  // leave it; the ones with rows to commit go to `prepared` and `writers`.
  void PrepareGroup(const std::vector<WriteRequest*>& group,
                    std::vector<PreparedWrite>* prepared,
                    std::vector<WriteRequest*>* writers) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Commits the prepared writes in one store transaction.
  absl::Status CommitPrepared(std::vector<PreparedWrite>* prepared)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status PrepareRequest(WriteRequest* request, UnixSeconds now,
                              const Overlay& overlay, PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status PrepareUpdate(WriteRequest* request, UnixSeconds now,
                             const Overlay& overlay, PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Prepares the batch's mutations, one per distinct contact, and the
  // per-entry results.
  absl::Status PrepareBatch(WriteRequest* request, UnixSeconds now,
                            const Overlay& overlay, PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // PrepareBatch's per-entry steps, in two halves at once for a big batch:
  // each entry's email key and the contact stored under it (and which entry
  // first has that email), then the normalization of each email's first
  // entry. What depends on earlier entries stays in PrepareBatch.
  std::vector<BatchEntry> LookUpBatchEmails(
      const std::vector<ContactDraft>& drafts, const Overlay& overlay) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void NormalizeFirstEntries(std::vector<ContactDraft>* drafts,
                             ContactFieldSet mask, UnixSeconds now,
                             const Overlay& overlay,
                             std::vector<BatchEntry>* entries) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Normalizes entry `i` as its email's first valid entry: an update of the
  // stored contact (the fields of `mask`), else a new contact (every field).
  void NormalizeBatchEntry(ContactDraft draft, size_t i, ContactFieldSet mask,
                           UnixSeconds now, const Overlay& overlay,
                           BatchEntry* entry) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Fills `p` with the rows of `mutations` and the membership changes of
  // all but a batch of new contacts; CompleteChanges adds those and numbers
  // them all.
  void PrepareContactWrite(std::vector<ContactMutation> mutations,
                           UnixSeconds now, const Overlay& overlay,
                           PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The segments `mutations` enter and leave; `changed[i]` receives the
  // fields mutations[i] changes.
  void DiffMemberships(absl::Span<const ContactMutation> mutations,
                       UnixSeconds now, const Overlay& overlay,
                       ContactFieldSet* changed, ChangesBySegment* out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The segments new contacts (no `before`, ascending ids) enter, by
  // evaluating each segment over an index of just them, which is handed
  // out in `index` (to be merged into the workspace's on apply).
  void MatchNewContacts(absl::Span<const Contact> created, UnixSeconds now,
                        ChangesBySegment* out,
                        std::unique_ptr<AttributeIndex>* index) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Finishes p->write's membership changes (p->pending): matches the batch
  // of new contacts, then numbers every change. Only p->write.changes,
  // p->write.counters, p->created_index and p->pending are written, so the
  // store may write the contacts meanwhile (CommitCompleting). Within one
  // write, changes are numbered segment by segment (entries, then exits),
  // so the store can keep each segment's entries as one run.
  void CompleteChanges(PreparedWrite* p) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Appends the changes of `parts` (the first part's contacts first) to
  // write->changes, numbered segment by segment: a run of entries and a run
  // of exits per segment. The parts' id lists are moved from.
  static void NumberChanges(std::array<ChangesBySegment, 3>& parts,
                            ChangeCause cause, UnixSeconds now,
                            WorkspaceWrite* write);
  // Memory as the overlay's writes leave it.
  std::optional<Contact> LookupContact(const Overlay& overlay,
                                       ContactId id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  ContactId LookupEmail(const Overlay& overlay, const std::string& email) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void RecordInOverlay(const PreparedWrite& p, Overlay* overlay) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Moves a committed group's merged rows back into its prepared writes.
  static void SplitMerged(WorkspaceWrite merged,
                          std::vector<PreparedWrite>* prepared);
  // Whether the mutated contact was a member of `s` before the write.
  bool WasMember(const SegmentEntry& s, const ContactMutation& m,
                 UnixSeconds now, const Overlay& overlay) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Validates a draft's name and/or filter; every violation at once.
  absl::StatusOr<Filter> ValidateSegmentDraft(const SegmentDraft& draft,
                                              bool check_name,
                                              bool check_filter,
                                              SegmentId self) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Builds a segment's state for `record` (ACTIVE: membership evaluated now),
  // logging the diff against `previous` (if any) with `cause`.
  std::unique_ptr<SegmentEntry> BuildSegment(SegmentRecord record,
                                             const Roaring* previous,
                                             ChangeCause cause, UnixSeconds now,
                                             PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Plan-driven state changes of every segment, for SetPlan and Load.
  void PreparePlanChange(Plan plan, UnixSeconds now, PreparedWrite* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Commits `p` to the store, then applies it to memory. On a failed commit
  // memory is untouched.
  absl::Status CommitAndApply(PreparedWrite p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves `p`'s state into memory; what is left of `p` is only to destroy.
  void Apply(PreparedWrite* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The independent parts of applying a write's contacts: the attribute
  // indexes (consuming p->created_index), the contact table (its new
  // contacts, inserted by column group, and its stored ones), and segment
  // memberships. Apply runs them on two threads for big writes.
  void ApplyToIndex(PreparedWrite* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::vector<const Contact*> NewContacts(const PreparedWrite& p);
  void ApplyToStoredContacts(const PreparedWrite& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyToMembers(const PreparedWrite& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Roaring Evaluate(const Filter& filter, UnixSeconds now) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const SegmentEntry*> FindSegment(SegmentId id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  SegmentView ViewOf(const SegmentEntry& s) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The sequence number a segment's membership is as of.
  uint64_t AsOf(const SegmentEntry& s) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The active segments reading any of `fields`, each once, by ascending id.
  std::vector<const SegmentEntry*> SegmentsReading(ContactFieldSet fields) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void RebuildReaders() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const WorkspaceId id_;
  const Clock* const clock_;
  const Limits limits_;
  const std::unique_ptr<WorkspaceStore> store_;

  // The group-commit queue of contact writes; its front is the leader.
  absl::Mutex queue_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  absl::CondVar queue_cv_;
  std::deque<WriteRequest*> queue_ ABSL_GUARDED_BY(queue_mu_);

  // Serializes writers; held across validate, commit and apply.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  mutable absl::Mutex mu_;
  Plan plan_ ABSL_GUARDED_BY(mu_);
  ContactTable contacts_ ABSL_GUARDED_BY(mu_);
  AttributeIndex index_ ABSL_GUARDED_BY(mu_);
  std::map<SegmentId, std::unique_ptr<SegmentEntry>> segments_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SegmentId> id_by_name_ ABSL_GUARDED_BY(mu_);
  WorkspaceCounters counters_ ABSL_GUARDED_BY(mu_);
  // For each contact field, the active segments whose filters read it, so a
  // mutation visits only the segments it can affect.
  std::array<std::vector<const SegmentEntry*>, kContactFieldCount> readers_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_WORKSPACE_H_
