// The preparation of contact writes (create, update, delete, batch upsert):
// validation and normalization against memory as the commit group's earlier
// writes leave it (the overlay), the rows to store, and, through
// MembershipDiff, the segments each contact enters and leaves.
//
// Thread-safety: a ContactWrites reads the memory it is given; the caller
// holds the workspace's mutex (at least shared) while it is used.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_WRITES_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_WRITES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/engine/internal/membership_diff.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/engine/internal/write_queue.h"
#include "core/engine/workspace.h"
#include "core/model/contact.h"

namespace segments::engine {

// A contact write waiting in the group-commit queue.
struct ContactWriteRequest : QueuedWriter {
  enum class Kind { kCreate, kUpdate, kDelete, kBatch };
  explicit ContactWriteRequest(Kind k) : kind(k) {}
  const Kind kind;
  ContactId id = 0;                             // update, delete
  const ContactDraft* draft = nullptr;          // create, update
  std::vector<ContactDraft>* drafts = nullptr;  // batch; consumed
  ContactFieldSet fields = kAllContactFields;   // update, batch mask
  ContactView echo = ContactView::kFull;        // batch
  // Results, set by the leader of the request's group.
  absl::Status status;
  Contact contact;          // create, update
  BatchUpsertResult batch;  // batch
};

class ContactWrites {
 public:
  ContactWrites(const WorkspaceMemory& memory, const MembershipDiff& diff)
      : memory_(memory), diff_(diff) {}

  // Prepares each request of `group` against memory as the earlier ones
  // leave it, setting each request's status; the ones with rows to commit
  // go to `prepared`, and their requests to `writers`, in order.
  void PrepareGroup(absl::Span<ContactWriteRequest* const> group,
                    UnixSeconds now, std::vector<PreparedWrite>* prepared,
                    std::vector<ContactWriteRequest*>* writers) const;

 private:
  struct BatchEntry;

  absl::Status Prepare(ContactWriteRequest* request, UnixSeconds now,
                       const Overlay& overlay, PreparedWrite* p) const;
  absl::Status PrepareCreate(ContactWriteRequest* request, UnixSeconds now,
                             const Overlay& overlay, PreparedWrite* p) const;
  absl::Status PrepareUpdate(ContactWriteRequest* request, UnixSeconds now,
                             const Overlay& overlay, PreparedWrite* p) const;
  absl::Status PrepareDelete(ContactWriteRequest* request, UnixSeconds now,
                             const Overlay& overlay, PreparedWrite* p) const;
  // The batch's mutations, one per distinct email, and the per-entry
  // results.
  absl::Status PrepareBatch(ContactWriteRequest* request, UnixSeconds now,
                            const Overlay& overlay, PreparedWrite* p) const;
  // PrepareBatch's per-entry steps, in two halves at once for a big batch:
  // each entry's email key and the contact stored under it (and which entry
  // first has that email), then the normalization of each email's first
  // entry. What depends on earlier entries stays in PrepareBatch.
  std::vector<BatchEntry> LookUpBatchEmails(
      const std::vector<ContactDraft>& drafts, const Overlay& overlay) const;
  void NormalizeFirstEntries(std::vector<ContactDraft>* drafts,
                             ContactFieldSet mask, UnixSeconds now,
                             const Overlay& overlay,
                             std::vector<BatchEntry>* entries) const;
  // Normalizes entry `i` as its email's first valid entry: an update of the
  // stored contact (the fields of `mask`), else a new contact (every field).
  void NormalizeBatchEntry(ContactDraft draft, size_t i, ContactFieldSet mask,
                           UnixSeconds now, const Overlay& overlay,
                           BatchEntry* entry) const;
  // Memory as the overlay's writes leave it.
  std::optional<Contact> LookupContact(const Overlay& overlay,
                                       ContactId id) const;
  ContactId LookupEmail(const Overlay& overlay, const std::string& email) const;
  // Records what `p` changes, for the group's later writes.
  void RecordInOverlay(const PreparedWrite& p, Overlay* overlay) const;

  const WorkspaceMemory& memory_;
  const MembershipDiff& diff_;
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_WRITES_H_
