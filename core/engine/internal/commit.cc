#include "core/engine/internal/commit.h"

#include <iterator>
#include <utility>

#include "core/base/status_macros.h"

namespace segments::engine {
namespace {

// Appends `from` to `to`, moving the elements.
template <typename T>
void Append(std::vector<T>& from, std::vector<T>* to) {
  to->insert(to->end(), std::make_move_iterator(from.begin()),
             std::make_move_iterator(from.end()));
}

// Moves a committed group's merged rows back into its prepared writes, in
// the order they were merged, for the apply.
void SplitMerged(WorkspaceWrite merged, std::vector<PreparedWrite>* prepared) {
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

}  // namespace

absl::Status CommitPrepared(WorkspaceStore& store, const MembershipDiff& diff,
                            std::vector<PreparedWrite>* prepared) {
  if (prepared->size() == 1) {
    // The write as it is. A batch of new contacts is matched on another
    // thread while the store writes their rows; a thread is not worth
    // starting for less.
    PreparedWrite& only = (*prepared)[0];
    if (MembershipDiff::HasBatchToMatch(only)) {
      return store.CommitCompleting(&only.write, [&] { diff.Complete(&only); });
    }
    diff.Complete(&only);
    return store.Commit(only.write);
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
  RETURN_IF_ERROR(store.Commit(merged));
  // The parts were moved out, and the apply reads them back.
  SplitMerged(std::move(merged), prepared);
  return absl::OkStatus();
}

}  // namespace segments::engine
