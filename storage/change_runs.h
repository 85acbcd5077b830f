// The change log is stored as runs: consecutive events (consecutive sequence
// numbers) of one segment with the same kind, cause and time share one row,
// their contact ids delta-encoded in a blob. A batch of 10,000 new contacts
// entering 200 segments logs a few hundred rows instead of hundreds of
// thousands, in the same transaction as the contacts (SPEC §6 change feed).
//
// Row layout (table change_runs, see workspace_rows.cc):
//   first_sequence   the run's first event
//   last_sequence    its last; last - first + 1 events
//   segment_id, kind, cause, time
//   first_contact_id the first event's contact
//   more_contact_ids the others, each as a zigzag LEB128 varint of its
//                    difference from the previous contact id
#ifndef SEGMENTS_STORAGE_CHANGE_RUNS_H_
#define SEGMENTS_STORAGE_CHANGE_RUNS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/store.h"

namespace segments {

// The delta blob of a run's contact ids after the first.
void EncodeMoreContactIds(const std::vector<ContactId>& ids, std::string* out);

// The contact ids of a stored run, appended to `out`: `first_contact`,
// then the `more` ids the blob holds. Returns "" or what is wrong with the
// blob (fewer or more ids than `more`, an id out of range); on error `out`
// is as it was.
std::string DecodeMoreContactIds(ContactId first_contact, uint64_t more,
                                 std::string_view blob,
                                 std::vector<ContactId>* out);

// Expands a stored run into its events, appending to `out`. Returns "" or
// what is wrong with the row (a blob that does not decode to exactly
// last - first contact ids, an id out of range).
std::string ExpandRun(const MembershipChange& first, uint64_t last_sequence,
                      std::string_view more_contact_ids,
                      std::vector<MembershipChange>* out);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_CHANGE_RUNS_H_
