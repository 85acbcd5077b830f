// The workspace side of the differential tests: a Workspace over a
// CatalogStore (the in-memory fake with fault injection, or SQLite) next to
// a shadow copy of its contacts, plan and segments in which the independent
// brute-force evaluator (brute_force.h) decides every membership, and the
// change log the engine should have written. Random operations mutate both;
// the checks compare counts, listings, segment views, contacts and the
// change log (sequence numbers, causes, ENTERED/LEFT alternation, and that
// folding a segment's events up to its as_of sequence gives its members).
//
// Time: the harness owns a FakeClock that only AdvanceTime moves (forward),
// by random amounts, across UTC midnights and onto the exact second where a
// relative date rule of a live segment flips for a live contact.
//
// Not thread-safe; one harness per test.
#ifndef SEGMENTS_TESTS_TESTING_WORKSPACE_HARNESS_H_
#define SEGMENTS_TESTS_TESTING_WORKSPACE_HARNESS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "core/engine/workspace.h"
#include "core/store/store.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/random_data.h"

namespace segments::testing {

// A membership change as the brute force predicts it (or as the log has it).
struct ExpectedChange {
  SegmentId segment = 0;
  ContactId contact = 0;
  ChangeKind kind = ChangeKind::kEntered;
  ChangeCause cause = ChangeCause::kContactChanged;
  UnixSeconds time = 0;
  bool operator<(const ExpectedChange& o) const;
  bool operator==(const ExpectedChange& o) const;
};
std::string DescribeChange(const ExpectedChange& c);

// SMART if a condition names a smart field (the reference's reading of
// SPEC §5), else STANDARD. Field rules only, groups included; the harness
// adds what references reach (Harness::KindOf).
SegmentKind ReferenceKind(const FilterSpec& spec);
// Calls `visit` with every field rule and reference of `spec`, depth first.
void ForEachLeaf(const FilterSpec& spec,
                 const std::function<void(const ConditionSpec&)>& visit);

// One segment as the shadow sees it.
//
// Membership model (SPEC §6 "Time"): every active segment's members are
// exactly the contacts its filter matches at the moment the workspace has
// applied time up to (Harness::applied()). The workspace applies time up to
// the clock's now before every write (also one that is then refused), and
// when its timer fires (AdvanceTime calls ApplyDueFlips, as the timer
// would); a restart applies the flips that fell due while it was down. Each
// such catch-up is one write of TIME events, each at the second its flip
// fell due (the shadow finds them by brute force: every contact's flip
// seconds under every relative rule, evaluated one by one).
//
// A PLAN_RESTRICTED segment is frozen (SPEC §5): no write changes its
// members, not even a delete (they may name deleted contacts), until an
// upgrade rebuilds it and logs the diff against them.
//
// References (issue 14, docs/decisions.md): IN_SEGMENT s reads s's members
// as the shadow has them, so every write settles the segments in dependency
// order (referenced before referrers), in the same write and with the same
// cause. A segment needs the highest plan of anything it reaches, so a
// segment is restricted exactly when the plan does not allow what it
// reaches: a downgrade freezes the referrers of what it freezes, an upgrade
// or a rule update that lowers what a restricted segment reaches rebuilds
// it.
struct ShadowSegment {
  std::string name;
  FilterSpec spec;
  // Read by the harness from the FilterSpec itself, independently of core.
  bool relative = false;         // has a relative date rule (groups too)
  std::set<std::string> fields;  // contact fields the filter names
  std::vector<ConditionSpec> relative_leaves;  // its relative date rules
  std::set<SegmentId> refs;     // the segments it refers to directly
  bool restricted = false;      // PLAN_RESTRICTED: frozen
  uint64_t frozen_as_of = 0;    // when restricted
  std::set<ContactId> members;  // maintained by the model above
  int renames = 0;  // updates that kept the rules (for failure messages)
};

// Every mutation helper takes `fail`: when set, the next commit is made to
// fail and the call must return UNAVAILABLE leaving everything untouched
// (only over the memory store; see can_fail()).
class Harness {
 public:
  // The one workspace of the catalog the harness drives.
  static constexpr WorkspaceId kWorkspace = 1;

  // Over a MemoryCatalogStore of its own, with fault injection.
  Harness(uint64_t seed, UnixSeconds now, FilterShape shape);
  // Over `catalog` (not owned, must outlive its use), without fault
  // injection. `reopen`, if set, is what Restart() calls between closing
  // the workspace and opening it again: it may close and reopen the catalog
  // and returns the one to use from then on.
  Harness(uint64_t seed, UnixSeconds now, FilterShape shape,
          CatalogStore* catalog,
          std::function<CatalogStore*()> reopen = nullptr);
  ~Harness();

  // Makes kWorkspace in `catalog` as Registry::CreateWorkspace makes one (its
  // store first, then its PRO record), for the constructor over a catalog.
  static absl::Status CreateWorkspaceIn(CatalogStore& catalog);

  RandomData& rd() { return rd_; }
  Workspace& ws() { return *ws_; }
  // REQUIRES: can_fail().
  MemoryStorage& storage() { return *storage_; }
  bool can_fail() const { return storage_ != nullptr; }
  UnixSeconds now() const { return clock_.Now(); }
  // The moment the workspace has applied time up to, as the shadow sees it.
  UnixSeconds applied() const { return applied_; }
  Plan plan() const { return plan_; }
  size_t contact_count() const { return contacts_.size(); }
  size_t segment_count() const { return segments_.size(); }
  size_t active_relative_segments() const;
  // Statistics, to check that a run exercised what it should.
  struct Stats {
    int64_t time_moves = 0;
    int64_t edge_hits = 0;         // clock set onto a flip second (+-1 s)
    int64_t time_events = 0;       // TIME events predicted (and checked)
    int64_t timer_runs = 0;        // ApplyDueFlips calls, failing ones too
    int64_t failed_flips = 0;      // of them, failed with flips due
    int64_t relative_renames = 0;  // renames of active relative segments
    int64_t downgrades = 0, upgrades = 0;  // segments frozen / rebuilt
    int64_t restarts = 0;
    int64_t log_checks = 0;
    int64_t restart_flips = 0;  // TIME events at restarts
    // References (issue 14).
    int64_t grouped_segments = 0;    // created or updated with groups
    int64_t referring_segments = 0;  // created or updated with references
    int64_t not_in_references = 0;   // NOT_IN_SEGMENT among those
    int64_t longest_chain = 0;       // segments on the longest reference path
    int64_t diamonds = 0;  // segments reaching one segment along two paths
    int64_t referred_events = 0;       // predicted events of referring segments
    int64_t referred_time_events = 0;  // of them, TIME events
    int64_t refused_deletes = 0;       // deletes of referenced segments refused
    int64_t refused_references = 0;    // missing / cycle references refused
    int64_t validated_impacts = 0;     // validate_only impacts compared
  };
  const Stats& stats() const { return stats_; }

  // Opens the workspace, or reopens it over the same store (a restart: the
  // flips due since time was last applied are logged at start).
  ::testing::AssertionResult Open();
  // Closes the workspace, calls `reopen` (if any), moves the clock half the
  // time, opens it again.
  ::testing::AssertionResult Restart();
  // The same, moving the clock as AdvanceTime does when `down_a_while`, or
  // by `down_for` seconds when that is positive.
  ::testing::AssertionResult Restart(bool down_a_while, int64_t down_for = 0);

  // --- contacts -----------------------------------------------------------
  ::testing::AssertionResult CreateContact(bool fail);
  // A new contact whose email (in another case/padding) already exists.
  ::testing::AssertionResult CreateDuplicateEmail();
  ::testing::AssertionResult UpdateContact(bool fail);
  ::testing::AssertionResult DeleteContact(bool fail);
  // Upserts `n` drafts: about half existing contacts (by an email variant),
  // the rest new, under one random mask.
  ::testing::AssertionResult BatchUpsert(bool fail, size_t n);
  // Calls on ids that do not exist (never assigned, or deleted).
  ::testing::AssertionResult Missing();

  // --- segments -----------------------------------------------------------
  ::testing::AssertionResult CreateSegment(bool fail);
  // A random mask; the filter part is a new random filter.
  ::testing::AssertionResult UpdateSegment(bool fail);
  // An update that leaves the rules as they are: display_name only, or
  // the same filter under mask ["filter"], both, or empty. Prefers segments
  // with relative date rules.
  ::testing::AssertionResult RenameSegment(bool fail);
  ::testing::AssertionResult DeleteSegment(bool fail);
  // A create or update whose filter refers to a missing segment, or (an
  // update) to one that reaches the segment being updated: INVALID_ARGUMENT
  // at the reference's path, nothing changed.
  ::testing::AssertionResult BadReference();
  // Workspace::SetPlan to a random other plan (often back to PRO).
  ::testing::AssertionResult SetPlan(bool fail);
  ::testing::AssertionResult SetPlan(Plan plan, bool fail);

  // --- time ---------------------------------------------------------------
  // Moves the clock forward: a few seconds, a day +-1 s, several days, a
  // month or more, to a UTC midnight +-1 s, or onto the flip second (+-1 s)
  // of a relative rule of a live segment for a live contact. Then, three
  // times in four, lets the workspace apply the flips due as its timer
  // would (ApplyDueFlips), with a failing commit now and then when `fail`
  // is allowed (the flips must then stay due).
  ::testing::AssertionResult AdvanceTime(bool fail = false);

  // --- checks -------------------------------------------------------------
  // Every segment's O(1) count and as_of sequence.
  ::testing::AssertionResult CheckCounts() const;
  // Everything, from scratch: each segment's listing, count and view; the
  // segment list; every contact; deleted contacts are gone.
  ::testing::AssertionResult CheckEverything();
  // ExplainMembership of a few contacts per segment: the membership as the
  // shadow keeps it, and the filter's and each top-level condition's value
  // as the brute force gives it at the moment the explanation was made
  // (references read from the shadow's members).
  ::testing::AssertionResult CheckExplanations() const;
  // The store's change log (ReadChanges): numbered 1..N without gaps; each
  // write's events exactly those the shadow predicted (segment, contact,
  // kind, cause, time); no LEFT without an ENTERED before it for the same
  // (segment, contact), nor two ENTERED; and for every segment, its events
  // folded up to its as_of sequence give exactly its members.
  //
  // A segment's initial build emits no events (SPEC §6): it reports the
  // sequence its membership is as of, and the log continues that snapshot.
  // So the fold starts from the members each segment was created with,
  // placed as unlogged ENTERED events at the log position of its creation.
  // Everything else is logged, restarts' flips included.
  ::testing::AssertionResult CheckChangeLog();

  // The as_of sequence of every segment.
  std::map<SegmentId, uint64_t> Sequences() const;
  // Fraction of segments with 0 < members < all contacts.
  double NontrivialFraction() const;
  // Deletes the newest contact and segment, so that a restart which derived
  // the next ids from what exists (instead of the stored counters) would
  // reuse them.
  ::testing::AssertionResult DeleteNewest();

 private:
  struct SilentChange {
    uint64_t position;      // after the logged event with this sequence
    ExpectedChange change;  // an initial build's entry
  };

  ::testing::AssertionResult ExpectUnavailable(const absl::Status& s,
                                               std::string_view call);
  void InjectFailure(bool fail);
  bool PlanAllows(const FilterSpec& spec) const;
  // SMART if `spec` or anything it reaches reads a smart field.
  SegmentKind KindOf(const FilterSpec& spec) const;
  // Whether `spec` refers, directly or through other segments, to `target`.
  bool Reaches(const FilterSpec& spec, SegmentId target) const;
  // Every segment, each after the segments it refers to.
  std::vector<SegmentId> Order() const;
  // The segments a filter for `id` (0: a new one) may refer to without a
  // cycle.
  std::vector<SegmentId> ReferenceCandidates(SegmentId id) const;
  // Records the shape of a filter just accepted, for Stats.
  void CountShape(const FilterSpec& spec);
  // Whether `spec` matches `c` at `at`, its references read from `member`.
  static bool Matches(const FilterSpec& spec, const Contact& c, UnixSeconds at,
                      const std::function<bool(SegmentId)>& member);
  // After a segment write or plan change, in dependency order: freezes the
  // active segments the plan no longer allows, rebuilds the restricted ones
  // it allows, and rebuilds every active segment in `changed` or referring
  // to one rebuilt here; appends the diffs with `cause`.
  void Settle(std::set<SegmentId> changed, ChangeCause cause,
              std::vector<ExpectedChange>* out);
  // validate_only of the write about to be made (`call`), when no flip is
  // due: OK exactly when `allowed`, and nothing written (sequences, commits).
  // Its impact, if it has one to compare.
  absl::StatusOr<std::optional<SegmentImpact>> ValidateOnly(
      bool allowed, const std::function<absl::StatusOr<SegmentImpact>()>& call);
  // The announced impact against what the write did to segment `id`
  // (`changes`, `members` after it).
  ::testing::AssertionResult SameImpact(
      const std::optional<SegmentImpact>& impact, SegmentId id,
      const std::vector<ExpectedChange>& changes, size_t members);
  ShadowSegment NewShadow(std::string name, FilterSpec spec) const;
  const Contact& PickContact();
  // The contacts `spec` matches at the applied moment, its references read
  // from the shadow's members.
  std::set<ContactId> Recompute(const FilterSpec& spec) const;
  // Builds `s` from its rules at the applied moment, returning the diff
  // against its previous members as changes with `cause`.
  std::vector<ExpectedChange> Rebuild(SegmentId id, ShadowSegment& s,
                                      ChangeCause cause);
  // Applies one contact write to the shadow: `before` / `after` absent for
  // a create / delete. Appends the predicted changes to `out`.
  void ApplyContact(const Contact* before, const Contact* after,
                    std::vector<ExpectedChange>* out);
  // AdvanceTime's move of the clock.
  void MoveClock();
  // Records a committed write's predicted changes.
  void Log(std::vector<ExpectedChange> changes);
  // Records a committed segment deletion: its one SEGMENT_DELETED event.
  void LogDeletion(SegmentId id);
  // The workspace applied time up to now: moves the shadow's active
  // relative segments flip by flip and logs the TIME events as one write.
  void LogTime();
  // The TIME events of the flips due in (applied_, now], in order, without
  // applying them.
  std::vector<ExpectedChange> DueFlips() const;
  std::pair<::testing::AssertionResult, std::vector<ContactId>> ListAll(
      SegmentId id, size_t page_size, bool full) const;
  ::testing::AssertionResult CheckSegmentList() const;
  std::string ExplainSegment(SegmentId id, const ShadowSegment& s,
                             const std::vector<ContactId>& got) const;
  std::string NewSegmentName();

  RandomData rd_;
  const FilterShape shape_;
  FakeClock clock_;
  std::shared_ptr<MemoryStorage> storage_;  // null over an outside catalog
  std::unique_ptr<CatalogStore> owned_catalog_;
  CatalogStore* catalog_;
  std::function<CatalogStore*()> reopen_;
  std::unique_ptr<Workspace> ws_;
  Plan plan_ = Plan::kPro;

  std::map<ContactId, Contact> contacts_;
  std::map<std::string, ContactId> by_email_;
  std::vector<ContactId> deleted_;
  std::map<SegmentId, ShadowSegment> segments_;
  ContactId max_contact_id_ = 0;  // the highest id ever assigned
  SegmentId max_segment_id_ = 0;
  int segment_counter_ = 0;

  // The change log as predicted: one group per committed write, in commit
  // order (a write's events are compared as a set, their order within the
  // write being the engine's choice), and the unlogged changes: initial
  // builds' members (see CheckChangeLog).
  std::vector<std::vector<ExpectedChange>> groups_;
  uint64_t last_sequence_ = 0;
  std::vector<SilentChange> silent_;
  UnixSeconds applied_ = 0;  // 0: not opened yet
  Stats stats_;
};

std::string DescribeStats(const Harness::Stats& stats);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_WORKSPACE_HARNESS_H_
