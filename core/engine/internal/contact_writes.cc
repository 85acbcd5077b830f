#include "core/engine/internal/contact_writes.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"

namespace segments::engine {
namespace {

absl::Status ContactNotFound(ContactId id) {
  return absl::NotFoundError(absl::StrCat("contact ", id, " not found"));
}

absl::Status DuplicateEmail(const std::string& email) {
  return absl::AlreadyExistsError(
      absl::StrCat("a contact with email ", email, " already exists"));
}

absl::Status IdsExhausted() {
  return absl::ResourceExhaustedError(
      "contact ids exhausted (limit 2^32-1 per workspace)");
}

// A batch entry's field paths start with this.
std::string EntryPath(size_t i) { return absl::StrCat("contacts[", i, "]"); }

// No mutation yet for an email in a batch.
constexpr size_t kNoMutation = std::numeric_limits<size_t>::max();

void AppendViolations(const Violations& from, Violations* to) {
  for (const FieldViolation& f : from.list()) to->Add(f.field, f.description);
}

// Makes `next` its contact's state after the batch so far and echoes it:
// whole, or only its id and email.
void SetAfterAndEcho(Contact next, ContactView echo,
                     std::optional<Contact>* after,
                     std::vector<Contact>* echoed) {
  if (echo == ContactView::kFull) {
    *after = next;
    echoed->push_back(std::move(next));
    return;
  }
  Contact& brief = echoed->emplace_back();
  brief.id = next.id;
  brief.email = next.email;
  *after = std::move(next);
}

}  // namespace

// One entry of a batch upsert while PrepareBatch works on it.
struct ContactWrites::BatchEntry {
  std::string email;     // trimmed and lowercased: the key of the upsert
  ContactId stored = 0;  // the contact with that email before the batch
  size_t first = 0;      // the batch's first entry with that email
  // The entry normalized (its id not set yet), the stored contact it
  // updates, if any, and the entry's violations.
  Contact next;
  std::optional<Contact> before;
  Violations violations;
};

void ContactWrites::PrepareGroup(
    absl::Span<ContactWriteRequest* const> group, UnixSeconds now,
    std::vector<PreparedWrite>* prepared,
    std::vector<ContactWriteRequest*>* writers) const {
  Overlay overlay;
  overlay.counters = memory_.counters;
  for (size_t i = 0; i < group.size(); ++i) {
    ContactWriteRequest* r = group[i];
    PreparedWrite p;
    p.write.counters = overlay.counters;
    r->status = Prepare(r, now, overlay, &p);
    if (!r->status.ok() || p.contacts_written() == 0) continue;
    // The writes after this one are prepared against its changes, and a
    // group of several commits them merged; a write alone in its group
    // completes during its commit (CommitPrepared).
    if (group.size() > 1) diff_.Complete(&p);
    // The overlay serves the requests after this one only.
    if (i + 1 < group.size()) RecordInOverlay(p, &overlay);
    overlay.counters = p.write.counters;
    prepared->push_back(std::move(p));
    writers->push_back(r);
  }
}

absl::Status ContactWrites::Prepare(ContactWriteRequest* r, UnixSeconds now,
                                    const Overlay& overlay,
                                    PreparedWrite* p) const {
  switch (r->kind) {
    case ContactWriteRequest::Kind::kCreate:
      return PrepareCreate(r, now, overlay, p);
    case ContactWriteRequest::Kind::kUpdate:
      return PrepareUpdate(r, now, overlay, p);
    case ContactWriteRequest::Kind::kDelete:
      return PrepareDelete(r, now, overlay, p);
    case ContactWriteRequest::Kind::kBatch:
      return PrepareBatch(r, now, overlay, p);
  }
  return absl::InternalError("unknown write kind");
}

absl::Status ContactWrites::PrepareCreate(ContactWriteRequest* r,
                                          UnixSeconds now,
                                          const Overlay& overlay,
                                          PreparedWrite* p) const {
  ASSIGN_OR_RETURN(r->contact, NormalizeNewContact(*r->draft, "contact", now));
  if (LookupEmail(overlay, r->contact.email) != 0) {
    return DuplicateEmail(r->contact.email);
  }
  if (p->write.counters.next_contact_id == 0) return IdsExhausted();
  r->contact.id = p->write.counters.next_contact_id++;  // 0 after the last
  diff_.Prepare({{r->contact.id, std::nullopt, r->contact}}, now, p);
  return absl::OkStatus();
}

absl::Status ContactWrites::PrepareUpdate(ContactWriteRequest* r,
                                          UnixSeconds now,
                                          const Overlay& overlay,
                                          PreparedWrite* p) const {
  const std::optional<Contact> current = LookupContact(overlay, r->id);
  if (!current.has_value()) return ContactNotFound(r->id);
  r->contact = *current;
  Violations v;
  NormalizeContactFields(*r->draft, r->fields, "contact", now, &r->contact, &v);
  RETURN_IF_ERROR(v.ToStatus());
  r->contact.id = r->id;
  if (r->contact == *current) return absl::OkStatus();  // nothing changes
  if (r->contact.email != current->email &&
      LookupEmail(overlay, r->contact.email) != 0) {
    return DuplicateEmail(r->contact.email);
  }
  diff_.Prepare({{r->id, *current, r->contact}}, now, p);
  return absl::OkStatus();
}

absl::Status ContactWrites::PrepareDelete(ContactWriteRequest* r,
                                          UnixSeconds now,
                                          const Overlay& overlay,
                                          PreparedWrite* p) const {
  const std::optional<Contact> current = LookupContact(overlay, r->id);
  if (!current.has_value()) return ContactNotFound(r->id);
  diff_.Prepare({{r->id, *current, std::nullopt}}, now, p);
  return absl::OkStatus();
}

absl::Status ContactWrites::PrepareBatch(ContactWriteRequest* r,
                                         UnixSeconds now,
                                         const Overlay& overlay,
                                         PreparedWrite* p) const {
  std::vector<ContactDraft>& drafts = *r->drafts;  // each is normalized once
  // The per-entry work first, in two halves at once for a big batch; then,
  // in entry order, what depends on the entries before: repeated emails,
  // ids and the results.
  std::vector<BatchEntry> entries = LookUpBatchEmails(drafts, overlay);
  NormalizeFirstEntries(&drafts, r->fields, now, overlay, &entries);
  BatchUpsertResult& result = r->batch;
  // One mutation per distinct email; a later entry for the same email
  // applies on top of the earlier one.
  std::vector<ContactMutation> mutations;
  mutations.reserve(entries.size());
  // By an email's first entry: the index in mutations of its contact, once
  // an entry with that email is valid (an invalid one registers nothing).
  std::vector<size_t> mutation_of(entries.size(), kNoMutation);
  WorkspaceCounters& counters = p->write.counters;
  Violations v;
  result.contacts.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    BatchEntry& e = entries[i];
    size_t& at = mutation_of[e.first];  // setting it registers the email
    const bool pending = at != kNoMutation;
    if (pending) {  // a repeat of a valid entry: on top of it, with the mask
      e.next = *mutations[at].after;
      NormalizeContactFields(std::move(drafts[i]), r->fields, EntryPath(i), now,
                             &e.next, &e.violations);
    } else if (e.first != i) {
      // Every earlier entry with this email was invalid and registered
      // nothing, so this one is handled as if it came first.
      NormalizeBatchEntry(std::move(drafts[i]), i, r->fields, now, overlay, &e);
    }
    if (!e.violations.empty()) {
      AppendViolations(e.violations, &v);  // in entry order
      result.contacts.emplace_back();
      continue;
    }
    Contact next = std::move(e.next);
    // The key of the upsert, whatever the mask says.
    next.email = std::move(e.email);
    if (pending) {
      next.id = mutations[at].id;
      ++result.updated;
    } else if (e.stored != 0) {
      next.id = e.stored;
      at = mutations.size();
      mutations.push_back({next.id, std::move(e.before), {}});
      ++result.updated;
    } else {
      if (counters.next_contact_id == 0) return IdsExhausted();
      next.id = counters.next_contact_id++;
      at = mutations.size();
      mutations.push_back({next.id, std::nullopt, {}});
      ++result.created;
    }
    SetAfterAndEcho(std::move(next), r->echo, &mutations[at].after,
                    &result.contacts);
  }
  RETURN_IF_ERROR(v.ToStatus());
  // Entries that change nothing are not written.
  mutations.erase(std::remove_if(mutations.begin(), mutations.end(),
                                 [](const ContactMutation& m) {
                                   return m.before.has_value() &&
                                          *m.before == *m.after;
                                 }),
                  mutations.end());
  diff_.Prepare(std::move(mutations), now, p);
  return absl::OkStatus();
}

std::vector<ContactWrites::BatchEntry> ContactWrites::LookUpBatchEmails(
    const std::vector<ContactDraft>& drafts, const Overlay& overlay) const {
  std::vector<BatchEntry> entries(drafts.size());
  // The halves only read memory, which the caller's lock keeps as it is.
  ForEachHalf(drafts.size(), drafts.size() >= kParallelMinItems,
              [&](size_t from, size_t end, size_t /*half*/) {
                for (size_t i = from; i < end; ++i) {
                  BatchEntry& e = entries[i];
                  e.email = absl::AsciiStrToLower(
                      absl::StripAsciiWhitespace(drafts[i].email));
                  e.stored = LookupEmail(overlay, e.email);
                }
              });
  // The keys point into `entries`, which outlives the map.
  absl::flat_hash_map<absl::string_view, size_t> first_by_email;
  first_by_email.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].first =
        first_by_email.try_emplace(entries[i].email, i).first->second;
  }
  return entries;
}

void ContactWrites::NormalizeFirstEntries(
    std::vector<ContactDraft>* drafts, ContactFieldSet mask, UnixSeconds now,
    const Overlay& overlay, std::vector<BatchEntry>* entries) const {
  // An email's first entry has no earlier one to build on, so it depends on
  // no other entry; the repeats wait for PrepareBatch's ordered pass. Each
  // entry keeps its own violations, merged later in entry order.
  ForEachHalf(entries->size(), entries->size() >= kParallelMinItems,
              [&](size_t from, size_t end, size_t /*half*/) {
                for (size_t i = from; i < end; ++i) {
                  BatchEntry& e = (*entries)[i];
                  if (e.first != i) continue;
                  NormalizeBatchEntry(std::move((*drafts)[i]), i, mask, now,
                                      overlay, &e);
                }
              });
}

void ContactWrites::NormalizeBatchEntry(ContactDraft draft, size_t i,
                                        ContactFieldSet mask, UnixSeconds now,
                                        const Overlay& overlay,
                                        BatchEntry* entry) const {
  const std::string path = EntryPath(i);
  if (entry->stored != 0) {
    entry->before = LookupContact(overlay, entry->stored);  // read once
    entry->next = *entry->before;
    NormalizeContactFields(std::move(draft), mask, path, now, &entry->next,
                           &entry->violations);
  } else {
    entry->next.created_at = now;
    NormalizeContactFields(std::move(draft), kAllContactFields, path, now,
                           &entry->next, &entry->violations);
  }
}

std::optional<Contact> ContactWrites::LookupContact(const Overlay& overlay,
                                                    ContactId id) const {
  if (auto it = overlay.contacts.find(id); it != overlay.contacts.end()) {
    return it->second;
  }
  return memory_.contacts.Get(id);
}

ContactId ContactWrites::LookupEmail(const Overlay& overlay,
                                     const std::string& email) const {
  if (auto it = overlay.emails.find(email); it != overlay.emails.end()) {
    return it->second;
  }
  return memory_.contacts.FindEmail(email);
}

void ContactWrites::RecordInOverlay(const PreparedWrite& p,
                                    Overlay* overlay) const {
  for (size_t i = 0; i < p.write.put_contacts.size(); ++i) {
    const Contact& after = p.write.put_contacts[i];
    const std::optional<Contact>& before = p.put_origins[i].before;
    if (before.has_value()) overlay->emails[before->email] = 0;
    overlay->emails[after.email] = after.id;
    overlay->contacts[after.id] = after;
  }
  for (const Contact& before : p.deleted_before) {
    overlay->emails[before.email] = 0;
    overlay->contacts[before.id] = std::nullopt;
  }
}

}  // namespace segments::engine
