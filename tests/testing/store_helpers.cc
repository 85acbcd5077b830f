#include "tests/testing/store_helpers.h"

#include <utility>

namespace segments {

absl::StatusOr<WorkspaceData> LoadAll(WorkspaceStore& store) {
  std::vector<Contact> contacts;
  absl::StatusOr<WorkspaceData> data = store.LoadStreaming(
      [&contacts](const Contact& c) { contacts.push_back(c); });
  if (data.ok()) data->contacts = std::move(contacts);
  return data;
}

std::vector<MembershipChange> ExpandRuns(const std::vector<ChangeRun>& runs) {
  std::vector<MembershipChange> events;
  for (const ChangeRun& r : runs) {
    for (size_t i = 0; i < r.contact_ids.size(); ++i) {
      events.push_back({r.first_sequence + i, r.segment_id, r.contact_ids[i],
                        r.kind, r.cause, r.time});
    }
  }
  return events;
}

std::vector<ChangeRun> GroupIntoRuns(
    const std::vector<MembershipChange>& events) {
  std::vector<ChangeRun> runs;
  for (const MembershipChange& e : events) {
    if (!runs.empty()) {
      ChangeRun& last = runs.back();
      if (e.sequence == last.last_sequence() + 1 &&
          e.segment_id == last.segment_id && e.kind == last.kind &&
          e.cause == last.cause && e.time == last.time) {
        last.contact_ids.push_back(e.contact_id);
        continue;
      }
    }
    runs.push_back(
        {e.sequence, e.segment_id, e.kind, e.cause, e.time, {e.contact_id}});
  }
  return runs;
}

}  // namespace segments
