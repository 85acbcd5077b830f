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

}  // namespace segments
