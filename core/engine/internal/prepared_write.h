// A write on its way from preparation (under the workspace's shared lock)
// through the store's commit to the apply (under its exclusive lock), and
// the overlay that lets a commit group's later writes be prepared against
// its earlier ones.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_PREPARED_WRITE_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_PREPARED_WRITE_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/engine/internal/segment_set.h"
#include "core/index/attribute_index.h"
#include "core/model/contact.h"
#include "core/snapshots/snapshot.h"
#include "core/store/store.h"

namespace segments::engine {

// One contact's change: created (no before), updated, or deleted (no after).
struct ContactMutation {
  ContactId id = 0;
  std::optional<Contact> before;
  std::optional<Contact> after;
};

// Where a contact put by a prepared write comes from.
struct PutOrigin {
  std::optional<Contact> before;  // none for a new contact
  ContactFieldSet changed = kAllContactFields;
};

// The contacts a write's mutations make enter and leave one segment.
struct SegmentChanges {
  std::vector<ContactId> entered, left;
};
using ChangesBySegment = absl::flat_hash_map<SegmentId, SegmentChanges>;

// A contact write's membership changes while they are being found, by
// contact order: the two halves of the contacts diffed one by one, then the
// batch of new contacts matched together (MembershipDiff::Complete).
struct PendingChanges {
  std::array<ChangesBySegment, 3> parts;
  // Index in write.put_contacts of the first new contact to match as a
  // batch; all of them from there on (none when it is the size).
  size_t first_batch_matched = 0;
  ChangeCause cause = ChangeCause::kContactChanged;
  UnixSeconds now = 0;
};

struct PreparedWrite {
  // The rows, change runs and counters the store commits.
  WorkspaceWrite write;
  // Parallel to write.put_contacts and write.deleted_contacts: the contacts
  // as they were, for the indexes and the overlay.
  std::vector<PutOrigin> put_origins;
  std::vector<Contact> deleted_before;
  // The new contacts of put_contacts, indexed when they were matched as a
  // batch; else null.
  std::unique_ptr<AttributeIndex> created_index;
  // Set while a contact write's membership changes are incomplete.
  std::optional<PendingChanges> pending;
  // Segment states to install (insert or replace by id), bitmaps final.
  std::vector<std::unique_ptr<SegmentEntry>> segments;
  std::vector<SegmentId> deleted_segments;
  // Snapshots to install, as write.put_snapshots stores them (the removed
  // ones are write.deleted_snapshots).
  std::vector<Snapshot> snapshots;
  std::optional<Plan> plan;
  // A time write (TimeWrites): no contact changes, and its change runs move
  // the installed segments' members (a contact write's move them with its
  // contacts; a segment write installs final bitmaps instead).
  bool time_flips = false;

  size_t contacts_written() const {
    return write.put_contacts.size() + write.deleted_contacts.size();
  }
};

// Logs `ids` as one run of `kind` changes of `segment` in `write`, numbered
// after its counters' last sequence; nothing when `ids` is empty.
void AppendRun(const Roaring& ids, SegmentId segment, ChangeKind kind,
               ChangeCause cause, UnixSeconds time, WorkspaceWrite* write);

// Logs the deletion of `segment`: one event (contact id 0) after which the
// feed's consumers know it, and its members, are gone.
void AppendSegmentDeletion(SegmentId segment, UnixSeconds time,
                           WorkspaceWrite* write);

// What the writes prepared earlier in the same commit group will change:
// later writes of the group are prepared against memory as these leave it.
struct Overlay {
  absl::flat_hash_map<ContactId, std::optional<Contact>>
      contacts;                                        // nullopt: deleted
  absl::flat_hash_map<std::string, ContactId> emails;  // 0: freed
  WorkspaceCounters counters;
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_PREPARED_WRITE_H_
