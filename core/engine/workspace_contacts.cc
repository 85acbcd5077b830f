// Workspace: contact writes and their group commit.

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/base/status_macros.h"
#include "core/engine/workspace.h"
#include "core/engine/workspace_internal.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_batch.h"
#include "core/index/evaluator.h"

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

// Below this many new contacts, a write matches them contact by contact:
// indexing them costs more than it saves.
constexpr size_t kBatchMatchMinItems = 256;

// Appends `from` to `to`.
template <typename T>
void Append(std::vector<T>& from, std::vector<T>* to) {
  to->insert(to->end(), std::make_move_iterator(from.begin()),
             std::make_move_iterator(from.end()));
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
void SetAfterAndEcho(Contact next, BatchEcho echo,
                     std::optional<Contact>* after,
                     std::vector<Contact>* echoed) {
  if (echo == BatchEcho::kFullContacts) {
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
    std::vector<ContactDraft> drafts,
    const std::vector<std::string>& mask_paths, BatchEcho echo) {
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
  r.echo = echo;
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
  absl::Status committed;
  {
    // Held through the commit (readers share it; writers queue on
    // write_mu_ anyway): a write alone in its group computes its membership
    // changes during the commit.
    absl::ReaderMutexLock l(&mu_);
    PrepareGroup(group, &prepared, &writers);
    if (prepared.empty()) return;
    committed = CommitPrepared(&prepared);
  }
  if (!committed.ok()) {
    for (WriteRequest* r : writers) r->status = committed;
    return;
  }
  size_t contacts_written = 0;
  {
    absl::MutexLock l(&mu_);
    for (PreparedWrite& p : prepared) {
      contacts_written +=
          p.write.put_contacts.size() + p.write.deleted_contacts.size();
      Apply(&p);
    }
  }
  if (contacts_written >= kParallelMinItems) {
    DestroyInBackground(std::move(prepared));
  }
}

void Workspace::PrepareGroup(const std::vector<WriteRequest*>& group,
                             std::vector<PreparedWrite>* prepared,
                             std::vector<WriteRequest*>* writers) const {
  const UnixSeconds now = clock_->Now();
  Overlay overlay;
  overlay.counters = counters_;
  for (size_t i = 0; i < group.size(); ++i) {
    WriteRequest* r = group[i];
    PreparedWrite p;
    p.write.counters = overlay.counters;
    r->status = PrepareRequest(r, now, overlay, &p);
    if (!r->status.ok() ||
        (p.write.put_contacts.empty() && p.write.deleted_contacts.empty())) {
      continue;
    }
    // The writes after this one are prepared against its changes, and a
    // group of several commits them merged.
    if (group.size() > 1) CompleteChanges(&p);
    // The overlay serves the requests after this one only.
    if (i + 1 < group.size()) RecordInOverlay(p, &overlay);
    overlay.counters = p.write.counters;
    prepared->push_back(std::move(p));
    writers->push_back(r);
  }
}

absl::Status Workspace::CommitPrepared(std::vector<PreparedWrite>* prepared) {
  if (prepared->size() == 1) {
    // Commits the write as it is. A batch of new contacts is matched on
    // another thread while the store writes their rows; a thread is not
    // worth starting for less.
    PreparedWrite& only = (*prepared)[0];
    if (only.pending.has_value() &&
        only.pending->first_batch_matched < only.write.put_contacts.size()) {
      return store_->CommitCompleting(
          &only.write,
          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { CompleteChanges(&only); });
    }
    CompleteChanges(&only);
    return store_->Commit(only.write);
  }
  // Puts before deletes is the store's order; ids are never reused, so no
  // id is deleted by one write and put again by a later one.
  WorkspaceWrite merged;
  for (PreparedWrite& p : *prepared) {
    Append(p.write.put_contacts, &merged.put_contacts);
    merged.deleted_contacts.insert(merged.deleted_contacts.end(),
                                   p.write.deleted_contacts.begin(),
                                   p.write.deleted_contacts.end());
    Append(p.write.changes, &merged.changes);
  }
  merged.counters = prepared->back().write.counters;  // includes the others'
  RETURN_IF_ERROR(store_->Commit(merged));
  // The parts were moved out, and Apply reads them back.
  SplitMerged(std::move(merged), prepared);
  return absl::OkStatus();
}

void Workspace::SplitMerged(WorkspaceWrite merged,
                            std::vector<PreparedWrite>* prepared) {
  size_t puts = 0, changes = 0;
  for (PreparedWrite& p : *prepared) {
    for (Contact& c : p.write.put_contacts) {
      c = std::move(merged.put_contacts[puts++]);
    }
    for (ChangeRun& r : p.write.changes) {
      r = std::move(merged.changes[changes++]);
    }
  }
}

void Workspace::RecordInOverlay(const PreparedWrite& p,
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
  // Only segments with relative date rules read membership from the overlay
  // (WasMember); the others answer from the contacts above.
  for (const ChangeRun& run : p.write.changes) {
    if (!segments_.at(run.segment_id)->relative) continue;
    for (ContactId id : run.contact_ids) {
      overlay->membership[{run.segment_id, id}] =
          run.kind == ChangeKind::kEntered;
    }
  }
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
  PrepareContactWrite(std::move(mutations), now, overlay, p);
  return absl::OkStatus();
}

std::vector<Workspace::BatchEntry> Workspace::LookUpBatchEmails(
    const std::vector<ContactDraft>& drafts, const Overlay& overlay) const {
  std::vector<BatchEntry> entries(drafts.size());
  // The halves only read memory, which the caller's lock on mu_ keeps as it
  // is (the analysis cannot see that lock held on the second thread).
  ForEachHalf(drafts.size(), drafts.size() >= kParallelMinItems,
              [&](size_t from, size_t end, size_t /*half*/)
                  ABSL_NO_THREAD_SAFETY_ANALYSIS {
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

void Workspace::NormalizeFirstEntries(std::vector<ContactDraft>* drafts,
                                      ContactFieldSet mask, UnixSeconds now,
                                      const Overlay& overlay,
                                      std::vector<BatchEntry>* entries) const {
  // An email's first entry has no earlier one to build on, so it depends on
  // no other entry; the repeats wait for PrepareBatch's ordered pass. Each
  // entry keeps its own violations, merged later in entry order.
  ForEachHalf(entries->size(), entries->size() >= kParallelMinItems,
              [&](size_t from, size_t end, size_t /*half*/)
                  ABSL_NO_THREAD_SAFETY_ANALYSIS {
                    for (size_t i = from; i < end; ++i) {
                      BatchEntry& e = (*entries)[i];
                      if (e.first != i) continue;
                      NormalizeBatchEntry(std::move((*drafts)[i]), i, mask, now,
                                          overlay, &e);
                    }
                  });
}

void Workspace::NormalizeBatchEntry(ContactDraft draft, size_t i,
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

void Workspace::DiffMemberships(absl::Span<const ContactMutation> mutations,
                                UnixSeconds now, const Overlay& overlay,
                                ContactFieldSet* changed,
                                ChangesBySegment* out) const {
  // The segments each set of changed fields can affect; a batch of new
  // contacts has one set, so SegmentsReading runs once, not per contact.
  absl::flat_hash_map<ContactFieldSet, std::vector<const SegmentEntry*>>
      readers;
  for (size_t i = 0; i < mutations.size(); ++i) {
    const ContactMutation& m = mutations[i];
    changed[i] = m.before.has_value() && m.after.has_value()
                     ? DiffFields(*m.before, *m.after)
                     : kAllContactFields;
    auto [reading, inserted] = readers.try_emplace(changed[i]);
    if (inserted) reading->second = SegmentsReading(changed[i]);
    for (const SegmentEntry* s : reading->second) {
      const bool was = m.before.has_value() && WasMember(*s, m, now, overlay);
      const bool is =
          m.after.has_value() && FilterMatches(s->record.filter, *m.after, now);
      if (was == is) continue;
      SegmentChanges& c = (*out)[s->record.id];
      (is ? c.entered : c.left).push_back(m.id);
    }
  }
}

void Workspace::MatchNewContacts(
    absl::Span<const Contact> created, UnixSeconds now, ChangesBySegment* out,
    std::unique_ptr<AttributeIndex>* index_out) const {
  std::vector<const Contact*> contacts;
  contacts.reserve(created.size());
  for (const Contact& c : created) contacts.push_back(&c);
  const ContactBatch batch(std::move(contacts));
  auto index = std::make_unique<AttributeIndex>();
  // A new contact was in no segment, so the segments it matches are the
  // ones it enters; every filter reads some field, and a new contact sets
  // them all. Both halves of the work go on two threads when the batch is
  // big.
  const std::vector<const SegmentEntry*> segments =
      SegmentsReading(kAllContactFields);
  const bool big = created.size() >= kParallelMinItems;
  if (big) {
    index->AddBatchConcurrently(batch.contacts());
  } else {
    index->AddBatch(batch.contacts());
  }
  std::array<ChangesBySegment, 2> parts;
  ForEachHalf(segments.size(), big, [&](size_t from, size_t end, size_t half) {
    for (size_t i = from; i < end; ++i) {
      const SegmentEntry& s = *segments[i];
      const Roaring matches = index->Evaluate(s.record.filter, now, batch);
      if (matches.isEmpty()) continue;
      std::vector<ContactId>& entered = parts[half][s.record.id].entered;
      entered.resize(matches.cardinality());
      matches.toUint32Array(entered.data());
    }
  });
  // The halves cover different segments.
  for (ChangesBySegment& part : parts) {
    for (auto& [sid, changes] : part) (*out)[sid] = std::move(changes);
  }
  *index_out = std::move(index);
}

void Workspace::PrepareContactWrite(std::vector<ContactMutation> mutations,
                                    UnixSeconds now, const Overlay& overlay,
                                    PreparedWrite* p) const {
  // New contacts go last, still by ascending id: many of them are matched
  // against the segments as a batch (CompleteChanges), the others contact
  // by contact, in two halves when they are many.
  auto is_not_new = [](const ContactMutation& m) {
    return m.before.has_value() || !m.after.has_value();
  };
  // Usually true already (one kind of write), and checking is cheaper than
  // moving every contact.
  const auto first_new =
      std::is_partitioned(mutations.begin(), mutations.end(), is_not_new)
          ? std::partition_point(mutations.begin(), mutations.end(), is_not_new)
          : std::stable_partition(mutations.begin(), mutations.end(),
                                  is_not_new);
  const auto all = absl::MakeConstSpan(mutations);
  const size_t created = static_cast<size_t>(mutations.end() - first_new);
  const bool match_created = created >= kBatchMatchMinItems;
  const auto diffed = match_created ? all.first(all.size() - created) : all;
  // A contact appears once per write, so the order of its changes is free
  // to choose: gathered by segment, each segment's entries (and exits) are
  // consecutive and the store keeps them as one run.
  std::vector<ContactFieldSet> changed(mutations.size(), kAllContactFields);
  PendingChanges& pending = p->pending.emplace();
  pending.now = now;
  ForEachHalf(
      diffed.size(), diffed.size() >= kParallelMinItems,
      [&](size_t from, size_t end, size_t half) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        DiffMemberships(diffed.subspan(from, end - from), now, overlay,
                        changed.data() + from, &pending.parts[half]);
      });
  // A write either deletes contacts (a delete) or puts them (the others).
  for (size_t i = 0; i < mutations.size(); ++i) {
    ContactMutation& m = mutations[i];
    if (m.after.has_value()) {
      p->write.put_contacts.push_back(*std::move(m.after));
      p->put_origins.push_back({std::move(m.before), changed[i]});
    } else {
      pending.cause = ChangeCause::kContactDeleted;
      p->write.deleted_contacts.push_back(m.id);
      p->deleted_before.push_back(*std::move(m.before));
    }
  }
  pending.first_batch_matched =
      p->write.put_contacts.size() - (match_created ? created : 0);
}

void Workspace::CompleteChanges(PreparedWrite* p) const {
  if (!p->pending.has_value()) return;
  PendingChanges& pending = *p->pending;
  const auto batch = absl::MakeConstSpan(p->write.put_contacts)
                         .subspan(pending.first_batch_matched);
  if (!batch.empty()) {
    MatchNewContacts(batch, pending.now, &pending.parts[2], &p->created_index);
  }
  NumberChanges(pending.parts, pending.cause, pending.now, &p->write);
  p->pending.reset();
}

void Workspace::NumberChanges(std::array<ChangesBySegment, 3>& parts,
                              ChangeCause cause, UnixSeconds now,
                              WorkspaceWrite* write) {
  std::vector<SegmentId> segment_ids;
  for (const ChangesBySegment& part : parts) {
    for (const auto& [sid, unused] : part) segment_ids.push_back(sid);
  }
  std::sort(segment_ids.begin(), segment_ids.end());
  segment_ids.erase(std::unique(segment_ids.begin(), segment_ids.end()),
                    segment_ids.end());
  uint64_t& sequence = write->counters.last_sequence;
  // Each segment's entries, then its exits, in mutation order: one run
  // each, the parts' ids moved in (a batch has a single part).
  auto append = [&](SegmentId sid, ChangeKind kind) {
    std::vector<ContactId> ids;
    for (ChangesBySegment& part : parts) {
      auto it = part.find(sid);
      if (it == part.end()) continue;
      std::vector<ContactId>& more =
          kind == ChangeKind::kEntered ? it->second.entered : it->second.left;
      if (ids.empty()) {
        ids = std::move(more);
      } else {
        ids.insert(ids.end(), more.begin(), more.end());
      }
    }
    if (ids.empty()) return;
    write->changes.push_back(
        {sequence + 1, sid, kind, cause, now, std::move(ids)});
    sequence += write->changes.back().contact_ids.size();
  };
  for (SegmentId sid : segment_ids) {
    append(sid, ChangeKind::kEntered);
    append(sid, ChangeKind::kLeft);
  }
}

bool Workspace::WasMember(const SegmentEntry& s, const ContactMutation& m,
                          UnixSeconds now, const Overlay& overlay) const {
  // The members of a segment without relative date rules are exactly the
  // contacts its filter matches, so the filter answers from the contact
  // already in cache, without a cache miss in the bitmap.
  if (!s.relative) return FilterMatches(s.record.filter, *m.before, now);
  auto it = overlay.membership.find({s.record.id, m.id});
  return it != overlay.membership.end() ? it->second : s.members.contains(m.id);
}

}  // namespace segments
