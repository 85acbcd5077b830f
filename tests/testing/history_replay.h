// The brute-force side of the history tests: membership at any moment by
// replaying the full change log forward from each segment's creation, with
// sets, independently of core/history's backward arithmetic and of the
// store's SQL aggregates.
//
// A segment's initial build logs nothing (SPEC §6), so the replay starts
// from the members each segment was created with: Observe, called after
// every operation, records them (and the sequence they are as of) for the
// segments that appeared since the last call. "At T" means after every
// event with time <= T; before its create_time a segment has no members.
//
// Not thread-safe; one per test.
#ifndef SEGMENTS_TESTS_TESTING_HISTORY_REPLAY_H_
#define SEGMENTS_TESTS_TESTING_HISTORY_REPLAY_H_

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "core/engine/workspace.h"
#include "core/store/store.h"
#include "gtest/gtest.h"

namespace segments::testing {

class HistoryReplay {
 public:
  // Records the segments created since the last call (their members now,
  // which are their initial build's, and their create_time and as_of).
  ::testing::AssertionResult Observe(const Workspace& ws);
  // Reads the whole change log through a second store on the workspace's
  // data.
  ::testing::AssertionResult LoadLog(CatalogStore& catalog, WorkspaceId id);

  const std::vector<MembershipChange>& log() const { return log_; }
  // Members of `segment` after every event with time <= t.
  std::set<ContactId> MembersAt(SegmentId segment, UnixSeconds t) const;

  // `rounds` random questions of each kind, for random live segments,
  // moments (event times, creation times, +-1 s of them, bucket edges) and
  // contacts (deleted ones too), each compared with the replay:
  // GetSegmentHistory's every bucket and GetContactMembershipHistory's
  // member_at and events. Moments before `retained_since` must be
  // OUT_OF_RANGE. `now` is the workspace's time (buckets after it are not
  // reported). REQUIRES: LoadLog after the last write (and before any
  // pruning).
  ::testing::AssertionResult Check(const Workspace& ws, UnixSeconds now,
                                   uint64_t seed, int rounds,
                                   UnixSeconds retained_since = 0) const;

  // Segment histories and contact answers compared so far (for sanity).
  struct Stats {
    int64_t buckets = 0, nonempty_buckets = 0, members_at = 0, was_member = 0,
            not_retained = 0, before_creation = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Origin {
    UnixSeconds create_time = 0;
    uint64_t as_of = 0;
    std::set<ContactId> members;
  };
  struct Question {
    const Workspace& ws;
    UnixSeconds now;
    UnixSeconds retained_since;
    std::mt19937_64& rng;
  };
  ::testing::AssertionResult CheckSegment(Question& q, SegmentId id) const;
  ::testing::AssertionResult CheckContact(Question& q, SegmentId id) const;
  UnixSeconds RandomMoment(Question& q, SegmentId id) const;
  // The segment's member counts after every event with time <= each of
  // `moments` (ascending), by one forward walk of its events.
  std::vector<size_t> CountsAt(SegmentId id,
                               const std::vector<UnixSeconds>& moments) const;

  std::map<SegmentId, Origin> origins_;
  std::set<SegmentId> deleted_;
  std::vector<MembershipChange> log_;
  std::map<SegmentId, std::vector<const MembershipChange*>> by_segment_;
  ContactId max_contact_ = 0;
  mutable Stats stats_;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_HISTORY_REPLAY_H_
