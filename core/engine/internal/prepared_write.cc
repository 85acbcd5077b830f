#include "core/engine/internal/prepared_write.h"

namespace segments::engine {

void AppendRun(const Roaring& ids, SegmentId segment, ChangeKind kind,
               ChangeCause cause, UnixSeconds time, WorkspaceWrite* write) {
  if (ids.isEmpty()) return;
  uint64_t& sequence = write->counters.last_sequence;
  ChangeRun& run = write->changes.emplace_back();
  run = {sequence + 1, segment, kind, cause, time, {}};
  run.contact_ids.resize(ids.cardinality());
  ids.toUint32Array(run.contact_ids.data());
  sequence += run.contact_ids.size();
}

void AppendSegmentDeletion(SegmentId segment, UnixSeconds time,
                           WorkspaceWrite* write) {
  uint64_t& sequence = write->counters.last_sequence;
  write->changes.push_back({++sequence,
                            segment,
                            ChangeKind::kSegmentDeleted,
                            ChangeCause::kRulesChanged,
                            time,
                            {0}});
}

}  // namespace segments::engine
