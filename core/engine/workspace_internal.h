// Private pieces of Workspace shared by workspace.cc (segments, plans,
// commit and apply) and workspace_contacts.cc (contact writes and their group
// commit). Not part of the core's interface.
#ifndef SEGMENTS_CORE_ENGINE_WORKSPACE_INTERNAL_H_
#define SEGMENTS_CORE_ENGINE_WORKSPACE_INTERNAL_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/errors.h"
#include "core/engine/workspace.h"

namespace segments {

// A segment in memory: its stored record plus what is derived from it.
struct Workspace::SegmentEntry {
  SegmentRecord record;  // frozen_members is kept only while restricted
  SegmentKind kind = SegmentKind::kStandard;
  ContactFieldSet fields_read = 0;
  // Reads the clock (a relative date rule): its members may lag its filter
  // as time passes (time-driven flips are not built yet, docs/engine.md),
  // so "was it a member" is read from `members`, not from the filter.
  bool relative = false;
  Roaring members;
  uint64_t count = 0;  // members.cardinality(), cached so Count is O(1)
};

// One contact's change: created (no before), updated, or deleted (no after).
struct Workspace::ContactMutation {
  ContactId id = 0;
  std::optional<Contact> before;
  std::optional<Contact> after;
};

// Where a contact put by a prepared write comes from.
struct Workspace::PutOrigin {
  std::optional<Contact> before;  // none for a new contact
  ContactFieldSet changed = kAllContactFields;
};

// The contacts a write's mutations make enter and leave one segment.
struct Workspace::SegmentChanges {
  std::vector<ContactId> entered, left;
};

// A contact write's membership changes while they are being found, by
// contact order: the two halves of the contacts diffed one by one, then the
// batch of new contacts matched together (CompleteChanges).
struct Workspace::PendingChanges {
  std::array<ChangesBySegment, 3> parts;
  // Index in write.put_contacts of the first new contact to match as a
  // batch; all of them from there on (none when it is the size).
  size_t first_batch_matched = 0;
  ChangeCause cause = ChangeCause::kContactChanged;
  UnixSeconds now = 0;
};

// A write prepared under the read lock, committed, then applied to memory.
struct Workspace::PreparedWrite {
  WorkspaceWrite write;
  // Parallel to write.put_contacts and write.deleted_contacts: the contacts
  // as they were, for the indexes and the overlay.
  std::vector<PutOrigin> put_origins;
  std::vector<Contact> deleted_before;
  // The new contacts of put_contacts, indexed when they were matched as a
  // batch (MatchNewContacts); else null.
  std::unique_ptr<AttributeIndex> created_index;
  // Set by PrepareContactWrite until CompleteChanges.
  std::optional<PendingChanges> pending;
  // Segment states to install (insert or replace by id), bitmaps final.
  std::vector<std::unique_ptr<SegmentEntry>> segments;
  std::vector<SegmentId> deleted_segments;
  std::optional<Plan> plan;
};

// What the writes prepared earlier in the same commit group will change:
// later writes of the group are prepared against memory as these leave it.
struct Workspace::Overlay {
  absl::flat_hash_map<ContactId, std::optional<Contact>>
      contacts;                                        // nullopt: deleted
  absl::flat_hash_map<std::string, ContactId> emails;  // 0: freed
  // Segments with relative date rules only (see WasMember).
  absl::flat_hash_map<std::pair<SegmentId, ContactId>, bool> membership;
  WorkspaceCounters counters;
};

// A contact write waiting in the group-commit queue.
struct Workspace::WriteRequest {
  enum class Kind { kCreate, kUpdate, kDelete, kBatch };
  explicit WriteRequest(Kind k) : kind(k) {}
  const Kind kind;
  ContactId id = 0;                             // update, delete
  const ContactDraft* draft = nullptr;          // create, update
  std::vector<ContactDraft>* drafts = nullptr;  // batch; consumed
  ContactFieldSet fields = kAllContactFields;   // update, batch mask
  BatchEcho echo = BatchEcho::kFullContacts;    // batch
  // Results, valid once done.
  absl::Status status;
  Contact contact;          // create, update
  BatchUpsertResult batch;  // batch
  bool done = false;
};

// One entry of a batch upsert while PrepareBatch works on it.
struct Workspace::BatchEntry {
  std::string email;     // trimmed and lowercased: the key of the upsert
  ContactId stored = 0;  // the contact with that email before the batch
  size_t first = 0;      // the batch's first entry with that email
  // The entry normalized (its id not set yet), the stored contact it
  // updates, if any, and the entry's violations.
  Contact next;
  std::optional<Contact> before;
  Violations violations;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_WORKSPACE_INTERNAL_H_
