#include "core/engine/internal/membership_diff.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/base/parallel.h"
#include "core/engine/internal/reference_answers.h"
#include "core/index/contact_batch.h"
#include "core/index/evaluator.h"

namespace segments::engine {
namespace {

// Below this many new contacts, a write matches them contact by contact:
// indexing them costs more than it saves.
constexpr size_t kBatchMatchMinItems = 256;

// What a batch of new contacts matches in each segment evaluated so far.
class BatchBitmaps : public ReferenceBitmaps {
 public:
  void Add(SegmentId id, const Roaring* matches) { by_id_[id] = matches; }
  const Roaring& Members(SegmentId segment) const override {
    auto it = by_id_.find(segment);
    return it == by_id_.end() ? empty_ : *it->second;
  }

 private:
  absl::flat_hash_map<SegmentId, const Roaring*> by_id_;
  Roaring empty_;
};

}  // namespace

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

void MembershipDiff::Prepare(std::vector<ContactMutation> mutations,
                             UnixSeconds now, PreparedWrite* p) const {
  // New contacts go last, still by ascending id: many of them are matched
  // against the segments as a batch (Complete), the others contact by
  // contact, in two halves when they are many.
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
  // consecutive and travel as one run.
  std::vector<ContactFieldSet> changed(mutations.size(), kAllContactFields);
  PendingChanges& pending = p->pending.emplace();
  pending.now = now;
  ForEachHalf(diffed.size(), diffed.size() >= kParallelMinItems,
              [&](size_t from, size_t end, size_t half) {
                DiffContacts(diffed.subspan(from, end - from), now,
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

bool MembershipDiff::HasBatchToMatch(const PreparedWrite& p) {
  return p.pending.has_value() &&
         p.pending->first_batch_matched < p.write.put_contacts.size();
}

void MembershipDiff::Complete(PreparedWrite* p) const {
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

void MembershipDiff::DiffContacts(absl::Span<const ContactMutation> mutations,
                                  UnixSeconds now, ContactFieldSet* changed,
                                  ChangesBySegment* out) const {
  // The segments each set of changed fields can affect; a batch of new
  // contacts has one set, so Reading runs once, not per contact.
  absl::flat_hash_map<ContactFieldSet, std::vector<const SegmentEntry*>>
      readers;
  for (size_t i = 0; i < mutations.size(); ++i) {
    const ContactMutation& m = mutations[i];
    changed[i] = m.before.has_value() && m.after.has_value()
                     ? DiffFields(*m.before, *m.after)
                     : kAllContactFields;
    // A stored contact changed: only the segments a rule of a changed field
    // moves in (SegmentSet::MayChange); a new or deleted one: every segment
    // reading any field.
    const std::vector<const SegmentEntry*>* candidates = nullptr;
    std::vector<const SegmentEntry*> may_change;
    if (m.before.has_value() && m.after.has_value()) {
      may_change =
          memory_.segments.MayChange(changed[i], *m.before, *m.after, now);
      candidates = &may_change;
    } else {
      auto [reading, inserted] = readers.try_emplace(changed[i]);
      if (inserted) reading->second = memory_.segments.Reading(changed[i]);
      candidates = &reading->second;
    }
    // A segment that refers to others is re-evaluated whenever a field one
    // of them reads changed (SegmentEntry::fields_read), and asks them about
    // this contact as it was and as it is: the referenced segments' answers
    // follow their filters, so a chain moves in the same write.
    std::optional<ContactReferences> before_refs, after_refs;
    if (m.before.has_value())
      before_refs.emplace(memory_.segments, *m.before, now);
    if (m.after.has_value())
      after_refs.emplace(memory_.segments, *m.after, now);
    for (const SegmentEntry* s : *candidates) {
      // Every active segment's members are exactly the contacts its filter
      // matches at `now` (the write applied the flips due by then first,
      // Workspace::CatchUp), so the filter answers from the contact already
      // in cache, without a cache miss in the bitmap.
      const bool was =
          m.before.has_value() &&
          FilterMatches(s->record.filter, *m.before, now, &*before_refs);
      const bool is =
          m.after.has_value() &&
          FilterMatches(s->record.filter, *m.after, now, &*after_refs);
      if (was == is) continue;
      SegmentChanges& c = (*out)[s->record.id];
      (is ? c.entered : c.left).push_back(m.id);
    }
  }
}

void MembershipDiff::MatchNewContacts(
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
      memory_.segments.Reading(kAllContactFields);
  const bool big = created.size() >= kParallelMinItems;
  if (big) {
    index->AddBatchConcurrently(batch.contacts());
  } else {
    index->AddBatch(batch.contacts());
  }
  // Segments that refer to others read what the batch's contacts match in
  // them: they go after the others, in dependency order, one at a time.
  std::vector<const SegmentEntry*> flat, referring;
  for (const SegmentEntry* s : segments) {
    (s->references.empty() ? flat : referring).push_back(s);
  }
  std::sort(referring.begin(), referring.end(), DependencyOrder);
  std::vector<Roaring> matches(segments.size());
  ForEachHalf(flat.size(), big, [&](size_t from, size_t end, size_t) {
    for (size_t i = from; i < end; ++i) {
      matches[i] = index->Evaluate(flat[i]->record.filter, now, batch);
    }
  });
  // New contacts are in no segment yet: a referenced segment's members
  // among them are what this batch matches in it (none for a frozen one).
  BatchBitmaps matched;
  for (size_t i = 0; i < flat.size(); ++i) {
    matched.Add(flat[i]->record.id, &matches[i]);
  }
  for (size_t i = 0; i < referring.size(); ++i) {
    Roaring& m = matches[flat.size() + i];
    m = index->Evaluate(referring[i]->record.filter, now, batch, &matched);
    matched.Add(referring[i]->record.id, &m);
  }
  for (size_t i = 0; i < matches.size(); ++i) {
    if (matches[i].isEmpty()) continue;
    const SegmentEntry* s =
        i < flat.size() ? flat[i] : referring[i - flat.size()];
    std::vector<ContactId>& entered = (*out)[s->record.id].entered;
    entered.resize(matches[i].cardinality());
    matches[i].toUint32Array(entered.data());
  }
  *index_out = std::move(index);
}

void MembershipDiff::NumberChanges(std::array<ChangesBySegment, 3>& parts,
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

}  // namespace segments::engine
