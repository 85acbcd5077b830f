// Every configurable limit (SPEC §10), in one place. Defaults are the SPEC's.
// A limit's name is what an error that enforces it says ("limit
// max_conditions").
#ifndef SEGMENTS_CORE_BASE_LIMITS_H_
#define SEGMENTS_CORE_BASE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace segments {

struct Limits {
  size_t max_segments = 1000;  // per workspace
  size_t max_conditions = 50;  // per segment filter, nested ones included
  // How deep groups nest, the filter itself being level 1 (SPEC §4 Phase 2).
  size_t max_group_depth = 4;
  size_t max_list_values = 500;  // values of one IN / NOT_IN condition
  size_t max_segment_name_bytes = 200;
  size_t max_batch_contacts = 10000;
  size_t max_page_size = 1000;
  size_t max_preview_sample = 100;  // ids in a preview's sample
  // The change feed (SPEC §6): how long the log is kept, and how many
  // streams may follow one workspace's at once.
  size_t feed_retention_seconds = 7 * 86400;
  size_t max_feed_streams = 100;
  // Buckets of one GetSegmentHistory call: a month of hours.
  size_t max_history_buckets = 24 * 31;
  // Events of one contact listed by GetContactMembershipHistory (the newest).
  size_t max_history_events = 1000;
  // Audience snapshots: live (not yet expired) ones per workspace, and how
  // far ahead a snapshot may expire. A snapshot holds a copy of its
  // segment's bitmap in memory and on disk until it expires.
  size_t max_snapshots = 100;
  int64_t max_snapshot_ttl_seconds = 30 * 86400;
  // Analytics (SPEC §7): contact ids of one membership check, segments of
  // one overlap, values listed per dimension of a breakdown (and the
  // number listed when the caller does not say).
  size_t max_membership_check_ids = 10000;
  size_t max_overlap_segments = 10;
  size_t max_breakdown_top_n = 100;
  size_t default_breakdown_top_n = 10;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_LIMITS_H_
