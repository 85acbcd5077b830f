#include "core/engine/internal/apply.h"

#include <memory>
#include <utility>
#include <vector>

#include "core/base/parallel.h"

namespace segments::engine {
namespace {

using ColumnGroup = ContactTable::ColumnGroup;

// The new contacts among p's puts.
std::vector<const Contact*> NewContacts(const PreparedWrite& p) {
  std::vector<const Contact*> created;
  for (size_t i = 0; i < p.write.put_contacts.size(); ++i) {
    if (!p.put_origins[i].before.has_value()) {
      created.push_back(&p.write.put_contacts[i]);
    }
  }
  return created;
}

void ApplyToIndex(PreparedWrite* p, AttributeIndex* index) {
  const std::vector<Contact>& puts = p->write.put_contacts;
  // New contacts matched as a batch were indexed then: that index joins
  // whole. Others are indexed in runs, field by field (AddBatch).
  const bool created_indexed = p->created_index != nullptr;
  if (created_indexed) index->Merge(std::move(*p->created_index));
  size_t run_start = 0;
  for (size_t i = 0; i <= puts.size(); ++i) {
    const bool is_new =
        i < puts.size() && !p->put_origins[i].before.has_value();
    if (is_new) {
      if (created_indexed) run_start = i + 1;
      continue;
    }
    if (run_start < i) {
      index->AddBatch(
          absl::MakeConstSpan(puts).subspan(run_start, i - run_start));
    }
    run_start = i + 1;
    if (i < puts.size()) {
      const PutOrigin& origin = p->put_origins[i];
      index->Update(*origin.before, puts[i], origin.changed);
    }
  }
  for (const Contact& before : p->deleted_before) index->Remove(before);
}

// One column group of the contact table: the new contacts' columns, and
// the stored contacts' changed fields of that group.
void ApplyToTable(const PreparedWrite& p,
                  absl::Span<const Contact* const> created, ColumnGroup group,
                  ContactTable* table) {
  table->InsertColumns(created, group);
  for (size_t i = 0; i < p.write.put_contacts.size(); ++i) {
    const PutOrigin& origin = p.put_origins[i];
    if (origin.before.has_value()) {
      table->UpdateColumns(p.write.put_contacts[i], origin.changed, group);
    }
  }
}

void ApplyToMembers(const PreparedWrite& p, SegmentSet* segments) {
  // A segment's many entries or exits (a batch, a burst of flips) are
  // applied at once, then counted; a few are applied and counted one by
  // one, sparing a single update the count of a big bitmap.
  constexpr size_t kAddManyMin = 64;
  for (const ChangeRun& run : p.write.changes) {
    SegmentEntry& s = *segments->Mutable(run.segment_id);
    const std::vector<ContactId>& ids = run.contact_ids;
    if (run.kind == ChangeKind::kLeft && ids.size() >= kAddManyMin) {
      // Container by container, not a lookup per contact: a burst of
      // 100,000 contacts leaving 10 segments spent a quarter of its
      // ApplyDueFlips removing them one by one.
      Roaring left;
      left.addMany(ids.size(), ids.data());
      s.members -= left;
      s.count = s.members.cardinality();
    } else if (run.kind == ChangeKind::kLeft) {
      for (ContactId id : ids) s.count -= s.members.removeChecked(id);
    } else if (ids.size() >= kAddManyMin) {
      s.members.addMany(ids.size(), ids.data());
      s.count = s.members.cardinality();
    } else {
      for (ContactId id : ids) s.count += s.members.addChecked(id);
    }
  }
}

// The contacts of p: the index, the table and the segment bitmaps.
void ApplyContacts(PreparedWrite* p, WorkspaceMemory* m) {
  // The index and the table share nothing, and the table's column groups
  // touch disjoint state (ContactTable::InsertColumns), so each group goes
  // to one thread only: every email change (of a new contact or a stored
  // one) to the first, the other groups and the bitmaps to the second. The
  // caller's exclusive lock covers both; the second ends before this
  // returns.
  const std::vector<const Contact*> created = NewContacts(*p);
  m->contacts.BeginInsert(created);
  RunBoth(
      p->contacts_written() >= kParallelMinItems,
      [&] {
        ApplyToIndex(p, &m->index);
        ApplyToTable(*p, created, ColumnGroup::kEmail, &m->contacts);
      },
      [&] {
        ApplyToTable(*p, created, ColumnGroup::kText, &m->contacts);
        ApplyToTable(*p, created, ColumnGroup::kTags, &m->contacts);
        ApplyToMembers(*p, &m->segments);
      });
  // A write that deletes contacts puts none; erasing touches every group.
  for (const Contact& before : p->deleted_before) {
    m->contacts.Erase(before.id);
  }
}

}  // namespace

void Apply(PreparedWrite* p, WorkspaceMemory* m) noexcept {
  if (p->contacts_written() > 0) ApplyContacts(p, m);
  if (p->time_flips) ApplyToMembers(*p, &m->segments);
  for (std::unique_ptr<SegmentEntry>& s : p->segments) {
    s->members.runOptimize();
    m->segments.Install(std::move(s));
  }
  for (SegmentId sid : p->deleted_segments) m->segments.Remove(sid);
  if (!p->segments.empty() || !p->deleted_segments.empty()) {
    m->segments.RebuildReaders();
  }
  for (Snapshot& s : p->snapshots) m->snapshots.Install(std::move(s));
  for (SnapshotId id : p->write.deleted_snapshots) m->snapshots.Remove(id);
  if (p->plan.has_value()) m->plan = *p->plan;
  m->counters = p->write.counters;
}

}  // namespace segments::engine
