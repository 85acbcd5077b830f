#include "storage/record_checks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/ascii.h"
#include "core/base/types.h"
#include "core/base/utf8.h"
#include "core/engine/registry.h"
#include "core/engine/workspace.h"

namespace segments {
namespace {

template <typename E>
bool EnumIn(E value, int low, int high) {
  const int v = static_cast<int>(value);
  return v >= low && v <= high;
}

template <typename E>
std::string EnumProblem(const char* name, E value) {
  return absl::StrCat(name, " ", static_cast<int>(value), " is out of range");
}

bool TimeIn(UnixSeconds t) { return t >= kMinTimestamp && t <= kMaxTimestamp; }

bool HasAsciiUpper(std::string_view s) {
  for (char c : s) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

bool IsTrimmed(std::string_view s) { return TrimAscii(s).size() == s.size(); }

// The problem with an optional string field or a name of at most
// `max_bytes`, as the core stores it: trimmed, valid UTF-8.
std::string TextProblem(const char* name, std::string_view value,
                        size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::StrCat(name, " is longer than ", max_bytes, " bytes");
  }
  if (!IsValidUtf8(value)) return absl::StrCat(name, " is not valid UTF-8");
  if (!IsTrimmed(value)) return absl::StrCat(name, " is not trimmed");
  return "";
}

}  // namespace

std::string ContactProblem(const Contact& c) {
  if (c.id == 0) return "id is 0";
  if (c.email.empty()) return "email is empty";
  if (std::string p = EmailProblem(c.email); !p.empty()) {
    return absl::StrCat("email ", p);
  }
  if (HasAsciiUpper(c.email)) return "email is not lowercase";
  const std::pair<const char*, const std::string*> strings[] = {
      {"company", &c.company}, {"job_title", &c.job_title},
      {"country", &c.country}, {"city", &c.city},
      {"source", &c.source},
  };
  for (const auto& [name, value] : strings) {
    if (std::string p = TextProblem(name, *value, kMaxStringFieldBytes);
        !p.empty()) {
      return p;
    }
  }
  if (!EnumIn(c.lifecycle_stage, 1, 5)) {
    return EnumProblem("lifecycle_stage", c.lifecycle_stage);
  }
  if (c.engagement_score < 0 || c.engagement_score > 100) {
    return absl::StrCat("engagement_score ", c.engagement_score,
                        " is out of range");
  }
  if (!EnumIn(c.engagement_trend, 0, 3)) {
    return EnumProblem("engagement_trend", c.engagement_trend);
  }
  if (!EnumIn(c.conversion_likelihood, 0, 4)) {
    return EnumProblem("conversion_likelihood", c.conversion_likelihood);
  }
  if (!TimeIn(c.created_at)) {
    return absl::StrCat("created_at ", c.created_at, " is out of range");
  }
  if (c.last_engaged_at.has_value() && !TimeIn(*c.last_engaged_at)) {
    return absl::StrCat("last_engaged_at ", *c.last_engaged_at,
                        " is out of range");
  }
  if (c.tags.size() > kMaxTags) {
    return absl::StrCat("has ", c.tags.size(), " tags, more than ", kMaxTags);
  }
  for (size_t i = 0; i < c.tags.size(); ++i) {
    if (c.tags[i].empty()) return absl::StrCat("tags[", i, "] is empty");
    const std::string tag_name = absl::StrCat("tags[", i, "]");
    if (std::string p = TextProblem(tag_name.c_str(), c.tags[i], kMaxTagBytes);
        !p.empty()) {
      return p;
    }
    if (HasAsciiUpper(c.tags[i])) {
      return absl::StrCat(tag_name, " is not lowercase");
    }
    // The core relies on sorted, unique tags.
    if (i > 0 && !(c.tags[i - 1] < c.tags[i])) {
      return absl::StrCat("tags[", i, "] is not sorted or not unique");
    }
  }
  return "";
}

// A name was accepted under the max_segment_name_bytes in force when it was
// written, and a lowered limit must not refuse it at load: only a bound no
// configuration reaches is checked here, against corruption.
constexpr size_t kMaxStoredNameBytes = 1 << 16;

std::string SegmentProblem(const SegmentRecord& s) {
  if (s.id == 0 || s.id > kMaxStoredUint)
    return absl::StrCat("id ", s.id, " is out of range");
  if (!EnumIn(s.state, 1, 2)) return EnumProblem("state", s.state);
  if (s.display_name.empty()) return "display_name is empty";
  if (std::string p =
          TextProblem("display_name", s.display_name, kMaxStoredNameBytes);
      !p.empty()) {
    return p;
  }
  if (s.frozen_as_of > kMaxStoredUint) {
    return absl::StrCat("frozen_as_of ", s.frozen_as_of, " is out of range");
  }
  return "";
}

std::string SnapshotProblem(const SnapshotRecord& s) {
  const std::pair<const char*, uint64_t> ids[] = {
      {"id", s.id},
      {"segment_id", s.segment_id},
  };
  for (const auto& [name, value] : ids) {
    if (value == 0 || value > kMaxStoredUint) {
      return absl::StrCat(name, " ", value, " is out of range");
    }
  }
  if (s.as_of_sequence > kMaxStoredUint) {
    return absl::StrCat("as_of_sequence ", s.as_of_sequence,
                        " is out of range");
  }
  if (s.member_count >= (uint64_t{1} << 32)) {  // ids are 1 .. 2^32-1
    return absl::StrCat("member_count ", s.member_count, " is out of range");
  }
  if (!TimeIn(s.create_time) || !TimeIn(s.expire_time)) {
    return "create_time or expire_time is out of range";
  }
  if (s.expire_time <= s.create_time) {
    return "expire_time is not after create_time";
  }
  return "";
}

std::string ChangeProblem(const MembershipChange& c) {
  if (c.sequence == 0 || c.sequence > kMaxStoredUint) {
    return absl::StrCat("sequence ", c.sequence, " is out of range");
  }
  if (c.segment_id == 0 || c.segment_id > kMaxStoredUint) {
    return absl::StrCat("segment_id ", c.segment_id, " is out of range");
  }
  if (!EnumIn(c.kind, 1, 3)) return EnumProblem("kind", c.kind);
  const bool deletion = c.kind == ChangeKind::kSegmentDeleted;
  if (deletion && c.contact_id != 0) {
    return "a segment deletion has a contact_id";
  }
  if (!deletion && c.contact_id == 0) return "contact_id is 0";
  if (!EnumIn(c.cause, 1, 5)) return EnumProblem("cause", c.cause);
  return "";
}

std::string RunProblem(const ChangeRun& run) {
  if (run.contact_ids.empty()) return "the run has no events";
  MembershipChange first{
      run.first_sequence, run.segment_id, run.contact_ids.front(),
      run.kind,           run.cause,      run.time};
  if (std::string p = ChangeProblem(first); !p.empty()) return p;
  if (run.last_sequence() > kMaxStoredUint ||
      run.last_sequence() < run.first_sequence) {
    return absl::StrCat("last sequence ", run.last_sequence(),
                        " is out of range");
  }
  if (run.kind == ChangeKind::kSegmentDeleted) {
    if (run.contact_ids.size() != 1) return "a segment deletion is one event";
    return "";
  }
  for (ContactId id : run.contact_ids) {
    if (id == 0) return "contact_id is 0";
  }
  return "";
}

std::string CountersProblem(const WorkspaceCounters& c) {
  if (c.next_contact_id == 0) return "next_contact_id is 0";
  if (c.next_segment_id == 0 || c.next_segment_id > kMaxStoredUint) {
    return absl::StrCat("next_segment_id ", c.next_segment_id,
                        " is out of range");
  }
  if (c.last_sequence > kMaxStoredUint) {
    return absl::StrCat("last_sequence ", c.last_sequence, " is out of range");
  }
  if (c.next_snapshot_id == 0 || c.next_snapshot_id > kMaxStoredUint) {
    return absl::StrCat("next_snapshot_id ", c.next_snapshot_id,
                        " is out of range");
  }
  if (c.time_applied_until < 0) {
    return absl::StrCat("time_applied_until ", c.time_applied_until,
                        " is out of range");
  }
  return "";
}

std::string WorkspaceProblem(const WorkspaceRecord& w) {
  if (w.id == 0 || w.id > kMaxStoredUint)
    return absl::StrCat("id ", w.id, " is out of range");
  if (!EnumIn(w.plan, 1, 4)) return EnumProblem("plan", w.plan);
  // Empty: a revoked key (nothing authenticates).
  if (!w.key_hash.empty() && w.key_hash.size() != kKeyHashBytes) {
    return absl::StrCat("key_hash has ", w.key_hash.size(), " bytes, not ",
                        kKeyHashBytes);
  }
  if (w.display_name.empty()) return "display_name is empty";
  if (std::string p =
          TextProblem("display_name", w.display_name, kMaxWorkspaceNameBytes);
      !p.empty()) {
    return p;
  }
  return "";
}

namespace {

absl::Status Refuse(absl::string_view what, uint64_t id,
                    absl::string_view problem) {
  return absl::InternalError(
      absl::StrCat("refusing to store ", what, " ", id, ": ", problem));
}

}  // namespace

absl::Status CheckWriteRows(const WorkspaceWrite& write) {
  for (const Contact& c : write.put_contacts) {
    if (std::string p = ContactProblem(c); !p.empty())
      return Refuse("contact", c.id, p);
  }
  for (const SegmentRecord& s : write.put_segments) {
    if (std::string p = SegmentProblem(s); !p.empty())
      return Refuse("segment", s.id, p);
  }
  for (const SnapshotRecord& s : write.put_snapshots) {
    if (std::string p = SnapshotProblem(s); !p.empty())
      return Refuse("snapshot", s.id, p);
  }
  return absl::OkStatus();
}

absl::Status CheckWriteChanges(const WorkspaceWrite& write) {
  for (const ChangeRun& r : write.changes) {
    if (std::string p = RunProblem(r); !p.empty())
      return Refuse("change", r.first_sequence, p);
  }
  if (std::string p = CountersProblem(write.counters); !p.empty()) {
    return Refuse("counters of", 0, p);
  }
  return absl::OkStatus();
}

void CompleteLoadedWorkspace(int64_t plan, std::optional<int64_t> wake_time,
                             std::string_view where,
                             LoadedWorkspaceRecord* loaded) {
  loaded->wake_time = std::nullopt;
  if (wake_time.has_value()) {
    loaded->wake_time = std::max<int64_t>(*wake_time, kWakeAtOnce);
  }
  if (plan < 0 || plan > std::numeric_limits<int>::max()) {
    loaded->problem = "plan is out of range";
  } else {
    loaded->record.plan = static_cast<Plan>(plan);
    loaded->problem = WorkspaceProblem(loaded->record);
  }
  if (!loaded->problem.empty()) {
    loaded->problem = absl::StrCat(
        absl::string_view(where.data(), where.size()),
        ": workspaces row id=", loaded->record.id, ": ", loaded->problem);
  }
}

}  // namespace segments
