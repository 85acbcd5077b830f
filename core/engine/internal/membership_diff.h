// The membership diff of a contact write: which segments each mutated
// contact enters and leaves, found by evaluating only the segments whose
// rules read a field that changed (and, for a batch of new contacts, by
// evaluating every segment once over an index of just them), then numbered
// into the write's change runs.
//
// Thread-safety: reads the memory it is given; the caller holds the
// workspace's mutex (at least shared) while it is used. Complete may run on
// another thread than Prepare (during the store's commit) under that hold.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_MEMBERSHIP_DIFF_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_MEMBERSHIP_DIFF_H_

#include <array>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "roaring/roaring.hh"

namespace segments::engine {

class MembershipDiff {
 public:
  explicit MembershipDiff(const WorkspaceMemory& memory) : memory_(memory) {}

  // Fills `p` with the rows of `mutations` and the membership changes of
  // all but a batch of new contacts (p->pending); Complete adds those and
  // numbers them all.
  void Prepare(std::vector<ContactMutation> mutations, UnixSeconds now,
               PreparedWrite* p) const;
  // Whether Complete has a batch of new contacts to match: worth another
  // thread while the store writes the rows.
  static bool HasBatchToMatch(const PreparedWrite& p);
  // Finishes p's membership changes: matches the batch of new contacts, then
  // numbers every change. Writes only p->write.changes, p->write.counters,
  // p->created_index and p->pending, so the store may write the contacts
  // meanwhile (WorkspaceStore::CommitCompleting). Within one write, changes
  // are numbered segment by segment (entries, then exits), so each
  // segment's entries travel as one run.
  void Complete(PreparedWrite* p) const;

 private:
  // The segments `mutations` enter and leave; `changed[i]` receives the
  // fields mutations[i] changes.
  void DiffContacts(absl::Span<const ContactMutation> mutations,
                    UnixSeconds now, ContactFieldSet* changed,
                    ChangesBySegment* out) const;
  // The segments new contacts (no `before`, ascending ids) enter, by
  // evaluating each segment over an index of just them, which is handed
  // out in `index` (to be merged into the workspace's on apply).
  void MatchNewContacts(absl::Span<const Contact> created, UnixSeconds now,
                        ChangesBySegment* out,
                        std::unique_ptr<AttributeIndex>* index) const;
  // Appends the changes of `parts` (the first part's contacts first) to
  // write->changes, numbered segment by segment: a run of entries and a run
  // of exits per segment. The parts' id lists are moved from.
  static void NumberChanges(std::array<ChangesBySegment, 3>& parts,
                            ChangeCause cause, UnixSeconds now,
                            WorkspaceWrite* write);

  const WorkspaceMemory& memory_;
};

// The fields whose values differ between two versions of a contact.
ContactFieldSet DiffFields(const Contact& a, const Contact& b);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_MEMBERSHIP_DIFF_H_
