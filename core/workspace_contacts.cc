// Workspace: contact writes and their group commit.

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/errors.h"
#include "core/evaluator.h"
#include "core/status_macros.h"
#include "core/workspace.h"
#include "core/workspace_internal.h"

namespace segments {
namespace {

constexpr char kMaskPath[] = "update_mask";
// A commit group holds at most this many writes, so a leader's own latency
// stays bounded however many writers queue behind it.
constexpr size_t kMaxGroupSize = 256;

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

// The fields whose values differ between two versions of a contact.
ContactFieldSet DiffFields(const Contact& a, const Contact& b) {
  ContactFieldSet d = 0;
  auto mark = [&d](bool differs, ContactField f) {
    if (differs) d |= FieldBit(f);
  };
  mark(a.email != b.email, ContactField::kEmail);
  mark(a.company != b.company, ContactField::kCompany);
  mark(a.job_title != b.job_title, ContactField::kJobTitle);
  mark(a.country != b.country, ContactField::kCountry);
  mark(a.city != b.city, ContactField::kCity);
  mark(a.source != b.source, ContactField::kSource);
  mark(a.tags != b.tags, ContactField::kTags);
  mark(a.lifecycle_stage != b.lifecycle_stage, ContactField::kLifecycleStage);
  mark(a.lead_score != b.lead_score, ContactField::kLeadScore);
  mark(a.engagement_score != b.engagement_score,
       ContactField::kEngagementScore);
  mark(a.engagement_trend != b.engagement_trend,
       ContactField::kEngagementTrend);
  mark(a.conversion_likelihood != b.conversion_likelihood,
       ContactField::kConversionLikelihood);
  mark(a.created_at != b.created_at, ContactField::kCreatedAt);
  mark(a.last_engaged_at != b.last_engaged_at, ContactField::kLastEngagedAt);
  return d;
}

// Appends `from` to `to`.
template <typename T>
void Append(std::vector<T>& from, std::vector<T>* to) {
  to->insert(to->end(), std::make_move_iterator(from.begin()),
             std::make_move_iterator(from.end()));
}

}  // namespace

// ---------------------------------------------------------------------------
// The public calls: each queues one request.

absl::StatusOr<Contact> Workspace::CreateContact(const ContactDraft& draft) {
  WriteRequest r(WriteRequest::Kind::kCreate);
  r.draft = &draft;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.contact);
}

absl::StatusOr<Contact> Workspace::GetContact(ContactId id) const {
  absl::ReaderMutexLock l(&mu_);
  std::optional<Contact> c = contacts_.Get(id);
  if (!c.has_value()) return ContactNotFound(id);
  return *std::move(c);
}

absl::StatusOr<Contact> Workspace::UpdateContact(
    ContactId id, const ContactDraft& draft,
    const std::vector<std::string>& mask_paths) {
  WriteRequest r(WriteRequest::Kind::kUpdate);
  ASSIGN_OR_RETURN(r.fields, ParseContactFieldMask(mask_paths, kMaskPath));
  r.id = id;
  r.draft = &draft;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.contact);
}

absl::Status Workspace::DeleteContact(ContactId id) {
  WriteRequest r(WriteRequest::Kind::kDelete);
  r.id = id;
  return SubmitContactWrite(&r);
}

absl::StatusOr<BatchUpsertResult> Workspace::BatchUpsertContacts(
    const std::vector<ContactDraft>& drafts,
    const std::vector<std::string>& mask_paths) {
  if (drafts.size() > limits_.max_batch_contacts) {
    return InvalidFieldError(
        "contacts",
        absl::StrCat("at most ", limits_.max_batch_contacts,
                     " contacts per batch (limit max_batch_contacts); got ",
                     drafts.size()));
  }
  WriteRequest r(WriteRequest::Kind::kBatch);
  ASSIGN_OR_RETURN(r.fields, ParseContactFieldMask(mask_paths, kMaskPath));
  r.drafts = &drafts;
  RETURN_IF_ERROR(SubmitContactWrite(&r));
  return std::move(r.batch);
}

// ---------------------------------------------------------------------------
// Group commit (the leader/follower queue of leveldb's DBImpl::Write).

absl::Status Workspace::SubmitContactWrite(WriteRequest* request) {
  std::vector<WriteRequest*> group;
  {
    absl::MutexLock q(&queue_mu_);
    queue_.push_back(request);
    while (!request->done && queue_.front() != request) {
      queue_cv_.Wait(&queue_mu_);
    }
    if (request->done) return request->status;
    // First in line: lead a group of everything queued so far.
    const size_t n = std::min(queue_.size(), kMaxGroupSize);
    group.assign(queue_.begin(), queue_.begin() + n);
  }
  {
    absl::MutexLock w(&write_mu_);
    CommitGroup(group);
  }
  absl::MutexLock q(&queue_mu_);
  for (WriteRequest* r : group) {
    queue_.pop_front();
    r->done = true;
  }
  queue_cv_.SignalAll();
  return request->status;
}

void Workspace::CommitGroup(const std::vector<WriteRequest*>& group) {
  std::vector<PreparedWrite> prepared;
  std::vector<WriteRequest*> writers;  // requests with rows to commit
  WorkspaceWrite merged;
  {
    absl::ReaderMutexLock l(&mu_);
    const UnixSeconds now = clock_->Now();
    Overlay overlay;
    overlay.counters = counters_;
    for (WriteRequest* r : group) {
      PreparedWrite p;
      p.write.counters = overlay.counters;
      r->status = PrepareRequest(r, now, overlay, &p);
      if (!r->status.ok() || p.contacts.empty()) continue;
      RecordInOverlay(p, &overlay);
      prepared.push_back(std::move(p));
      writers.push_back(r);
    }
    if (prepared.empty()) return;
    // Puts before deletes is the store's order; ids are never reused, so no
    // id is deleted by one write and put again by a later one.
    for (PreparedWrite& p : prepared) {
      merged.put_contacts.insert(merged.put_contacts.end(),
                                 p.write.put_contacts.begin(),
                                 p.write.put_contacts.end());
      merged.deleted_contacts.insert(merged.deleted_contacts.end(),
                                     p.write.deleted_contacts.begin(),
                                     p.write.deleted_contacts.end());
      Append(p.write.changes, &merged.changes);
    }
    merged.counters = overlay.counters;
  }
  if (absl::Status s = store_->Commit(merged); !s.ok()) {
    for (WriteRequest* r : writers) r->status = s;
    return;
  }
  absl::MutexLock l(&mu_);
  for (PreparedWrite& p : prepared) Apply(std::move(p));
}

void Workspace::RecordInOverlay(const PreparedWrite& p, Overlay* overlay) {
  for (const ContactMutation& m : p.contacts) {
    if (m.before.has_value()) overlay->emails[m.before->email] = 0;
    if (m.after.has_value()) overlay->emails[m.after->email] = m.id;
    overlay->contacts[m.id] = m.after;
  }
  for (const MembershipChange& c : p.write.changes) {
    overlay->membership[{c.segment_id, c.contact_id}] =
        c.kind == ChangeKind::kEntered;
  }
  overlay->counters = p.write.counters;
}

std::optional<Contact> Workspace::LookupContact(const Overlay& overlay,
                                                ContactId id) const {
  if (auto it = overlay.contacts.find(id); it != overlay.contacts.end()) {
    return it->second;
  }
  return contacts_.Get(id);
}

ContactId Workspace::LookupEmail(const Overlay& overlay,
                                 const std::string& email) const {
  if (auto it = overlay.emails.find(email); it != overlay.emails.end()) {
    return it->second;
  }
  return contacts_.FindEmail(email);
}

// ---------------------------------------------------------------------------
// Preparing one request: validate, then compute its rows and membership diff.

absl::Status Workspace::PrepareRequest(WriteRequest* r, UnixSeconds now,
                                       const Overlay& overlay,
                                       PreparedWrite* p) const {
  switch (r->kind) {
    case WriteRequest::Kind::kCreate: {
      ASSIGN_OR_RETURN(r->contact,
                       NormalizeNewContact(*r->draft, "contact", now));
      if (LookupEmail(overlay, r->contact.email) != 0) {
        return DuplicateEmail(r->contact.email);
      }
      if (p->write.counters.next_contact_id == 0) return IdsExhausted();
      r->contact.id = p->write.counters.next_contact_id++;  // 0 after the last
      PrepareContactWrite({{r->contact.id, std::nullopt, r->contact}}, now,
                          overlay, p);
      return absl::OkStatus();
    }
    case WriteRequest::Kind::kUpdate:
      return PrepareUpdate(r, now, overlay, p);
    case WriteRequest::Kind::kDelete: {
      const std::optional<Contact> current = LookupContact(overlay, r->id);
      if (!current.has_value()) return ContactNotFound(r->id);
      PrepareContactWrite({{r->id, *current, std::nullopt}}, now, overlay, p);
      return absl::OkStatus();
    }
    case WriteRequest::Kind::kBatch:
      return PrepareBatch(r, now, overlay, p);
  }
  return absl::InternalError("unknown write kind");
}

absl::Status Workspace::PrepareUpdate(WriteRequest* r, UnixSeconds now,
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
  PrepareContactWrite({{r->id, *current, r->contact}}, now, overlay, p);
  return absl::OkStatus();
}

absl::Status Workspace::PrepareBatch(WriteRequest* r, UnixSeconds now,
                                     const Overlay& overlay,
                                     PreparedWrite* p) const {
  const std::vector<ContactDraft>& drafts = *r->drafts;
  BatchUpsertResult& result = r->batch;
  // One mutation per distinct email; a later entry for the same email
  // applies on top of the earlier one.
  std::vector<ContactMutation> mutations;
  absl::flat_hash_map<std::string, size_t> by_email;  // -> index in mutations
  WorkspaceCounters& counters = p->write.counters;
  Violations v;
  result.contacts.reserve(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    const std::string path = absl::StrCat("contacts[", i, "]");
    const size_t violations_before = v.list().size();
    std::string email =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(drafts[i].email));
    auto pending = by_email.find(email);
    const ContactId stored = LookupEmail(overlay, email);
    Contact next;
    if (pending != by_email.end()) {
      next = *mutations[pending->second].after;
      NormalizeContactFields(drafts[i], r->fields, path, now, &next, &v);
    } else if (stored != 0) {
      next = *LookupContact(overlay, stored);
      NormalizeContactFields(drafts[i], r->fields, path, now, &next, &v);
    } else {
      next.created_at = now;
      NormalizeContactFields(drafts[i], kAllContactFields, path, now, &next,
                             &v);
    }
    if (v.list().size() != violations_before) {
      result.contacts.emplace_back();
      continue;
    }
    next.email = email;  // the key of the upsert, whatever the mask says
    if (pending != by_email.end()) {
      next.id = mutations[pending->second].id;
      mutations[pending->second].after = next;
      ++result.updated;
    } else if (stored != 0) {
      next.id = stored;
      by_email[email] = mutations.size();
      mutations.push_back({next.id, *LookupContact(overlay, stored), next});
      ++result.updated;
    } else {
      if (counters.next_contact_id == 0) return IdsExhausted();
      next.id = counters.next_contact_id++;
      by_email[email] = mutations.size();
      mutations.push_back({next.id, std::nullopt, next});
      ++result.created;
    }
    result.contacts.push_back(next);
  }
  RETURN_IF_ERROR(v.ToStatus());
  // Entries that change nothing are not written.
  mutations.erase(std::remove_if(mutations.begin(), mutations.end(),
                                 [](const ContactMutation& m) {
                                   return m.before.has_value() &&
                                          *m.before == *m.after;
                                 }),
                  mutations.end());
  PrepareContactWrite(std::move(mutations), now, overlay, p);
  return absl::OkStatus();
}

void Workspace::PrepareContactWrite(std::vector<ContactMutation> mutations,
                                    UnixSeconds now, const Overlay& overlay,
                                    PreparedWrite* p) const {
  uint64_t& sequence = p->write.counters.last_sequence;
  for (const ContactMutation& m : mutations) {
    if (m.after.has_value()) {
      p->write.put_contacts.push_back(*m.after);
    } else {
      p->write.deleted_contacts.push_back(m.id);
    }
    const ContactFieldSet changed = m.before.has_value() && m.after.has_value()
                                        ? DiffFields(*m.before, *m.after)
                                        : kAllContactFields;
    const ChangeCause cause = m.after.has_value()
                                  ? ChangeCause::kContactChanged
                                  : ChangeCause::kContactDeleted;
    // Only active segments that read a changed field can change.
    for (const SegmentEntry* s : SegmentsReading(changed)) {
      bool was = false;
      if (m.before.has_value()) {
        auto it = overlay.membership.find({s->record.id, m.id});
        was = it != overlay.membership.end() ? it->second
                                             : s->members.contains(m.id);
      }
      const bool is =
          m.after.has_value() && FilterMatches(s->record.filter, *m.after, now);
      if (was == is) continue;
      p->write.changes.push_back({++sequence, s->record.id, m.id,
                                  is ? ChangeKind::kEntered : ChangeKind::kLeft,
                                  cause, now});
    }
  }
  p->contacts = std::move(mutations);
}

}  // namespace segments
