#include "tests/testing/history_replay.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/differential_util.h"

namespace segments::testing {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// Written out here rather than taken from core/history/buckets.h, so the
// check does not share the arithmetic it checks.
UnixSeconds FloorTo(UnixSeconds t, int64_t width) {
  UnixSeconds q = t / width;
  if (t % width < 0) --q;
  return q * width;
}

template <typename T>
const T& Pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

std::string Describe(const HistoryBucket& b) {
  return absl::StrCat("{start ", b.start_time, " existed ", b.segment_existed,
                      " entered ", b.entered, " left ", b.left, " members ",
                      b.member_count, "}");
}

}  // namespace

AssertionResult HistoryReplay::Observe(const Workspace& ws) {
  std::set<SegmentId> live;
  SegmentId after = 0;
  while (true) {
    const Page<SegmentView> page = ws.ListSegments(after, 1000);
    for (const SegmentView& v : page.items) {
      const SegmentId id = v.record.id;
      live.insert(id);
      if (origins_.count(id) != 0) continue;
      Origin o;
      o.create_time = v.record.create_time;
      o.as_of = v.as_of_sequence;
      for (ContactId from = 0;;) {
        absl::StatusOr<Page<Contact>> members =
            ws.ListMembers(id, from, 1000, ContactView::kId);
        if (!members.ok()) {
          return AssertionFailure() << "new segment " << id
                                    << ": ListMembers: " << members.status();
        }
        for (const Contact& c : members->items) o.members.insert(c.id);
        if (!members->more || members->items.empty()) break;
        from = members->items.back().id;
      }
      if (!o.members.empty()) {
        max_contact_ = std::max(max_contact_, *o.members.rbegin());
      }
      origins_.emplace(id, std::move(o));
    }
    if (!page.more || page.items.empty()) break;
    after = page.items.back().record.id;
  }
  for (auto it = origins_.begin(); it != origins_.end();) {
    if (live.count(it->first) != 0) {
      ++it;
    } else {
      deleted_.insert(it->first);
      it = origins_.erase(it);
    }
  }
  return AssertionSuccess();
}

AssertionResult HistoryReplay::LoadLog(CatalogStore& catalog, WorkspaceId id) {
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
      catalog.OpenWorkspace(id);
  if (!store.ok()) {
    return AssertionFailure() << "OpenWorkspace: " << store.status();
  }
  log_.clear();
  by_segment_.clear();
  while (true) {
    absl::StatusOr<std::vector<MembershipChange>> page =
        (*store)->ReadChanges(log_.empty() ? 0 : log_.back().sequence, 10'000);
    if (!page.ok())
      return AssertionFailure() << "ReadChanges: " << page.status();
    if (page->empty()) break;
    log_.insert(log_.end(), page->begin(), page->end());
  }
  for (size_t i = 0; i < log_.size(); ++i) {
    // The forward walk of CountsAt relies on it (SPEC §6, docs/engine.md).
    if (i > 0 && log_[i].time < log_[i - 1].time) {
      return AssertionFailure()
             << "time goes backwards at sequence " << log_[i].sequence;
    }
    by_segment_[log_[i].segment_id].push_back(&log_[i]);
    max_contact_ = std::max(max_contact_, log_[i].contact_id);
  }
  return AssertionSuccess();
}

std::set<ContactId> HistoryReplay::MembersAt(SegmentId segment,
                                             UnixSeconds t) const {
  const auto origin = origins_.find(segment);
  if (origin == origins_.end() || t < origin->second.create_time) return {};
  std::set<ContactId> members = origin->second.members;
  const auto events = by_segment_.find(segment);
  if (events == by_segment_.end()) return members;
  for (const MembershipChange* e : events->second) {
    if (e->sequence <= origin->second.as_of || e->time > t) continue;
    if (e->kind == ChangeKind::kEntered) {
      members.insert(e->contact_id);
    } else {
      members.erase(e->contact_id);
    }
  }
  return members;
}

std::vector<size_t> HistoryReplay::CountsAt(
    SegmentId id, const std::vector<UnixSeconds>& moments) const {
  std::vector<size_t> counts;
  const Origin& origin = origins_.at(id);
  std::set<ContactId> members = origin.members;
  static const std::vector<const MembershipChange*> kNone;
  const auto found = by_segment_.find(id);
  const auto& events = found == by_segment_.end() ? kNone : found->second;
  size_t next = 0;
  for (UnixSeconds t : moments) {
    for (; next < events.size() && events[next]->time <= t; ++next) {
      const MembershipChange& e = *events[next];
      if (e.sequence <= origin.as_of) continue;
      if (e.kind == ChangeKind::kEntered) {
        members.insert(e.contact_id);
      } else {
        members.erase(e.contact_id);
      }
    }
    counts.push_back(t < origin.create_time ? 0 : members.size());
  }
  return counts;
}

UnixSeconds HistoryReplay::RandomMoment(Question& q, SegmentId id) const {
  const Origin& origin = origins_.at(id);
  const auto events = by_segment_.find(id);
  const int r = std::uniform_int_distribution<int>(0, 9)(q.rng);
  const int64_t nudge = std::uniform_int_distribution<int64_t>(-1, 1)(q.rng);
  if (r < 4 && events != by_segment_.end()) {
    return std::min(q.now, Pick(events->second, q.rng)->time + nudge);
  }
  if (r < 6) return std::min(q.now, origin.create_time + nudge);
  if (r < 7) return q.now;
  const UnixSeconds first = log_.empty() ? origin.create_time : log_[0].time;
  return std::uniform_int_distribution<UnixSeconds>(first - 3 * 86400,
                                                    q.now)(q.rng);
}

AssertionResult HistoryReplay::CheckSegment(Question& q, SegmentId id) const {
  const bool daily = std::uniform_int_distribution<int>(0, 2)(q.rng) == 0;
  const int64_t width = daily ? 86400 : 3600;
  const int64_t n = std::uniform_int_distribution<int64_t>(1, 240)(q.rng);
  HistoryRequest request;
  request.granularity = daily ? Granularity::kDay : Granularity::kHour;
  request.start_time = RandomMoment(q, id);
  request.end_time =
      request.start_time + n * width -
      std::uniform_int_distribution<int64_t>(0, width - 1)(q.rng);
  const std::string what =
      absl::StrCat("segment ", id, " history [", request.start_time, ", ",
                   request.end_time, ") by ", width, " s");
  absl::StatusOr<SegmentHistory> got = q.ws.GetSegmentHistory(id, request);
  const UnixSeconds first = FloorTo(request.start_time, width);
  if (first < q.retained_since) {
    ++stats_.not_retained;
    if (got.status().code() != absl::StatusCode::kOutOfRange) {
      return AssertionFailure()
             << what << ": want OUT_OF_RANGE, got " << got.status();
    }
    return AssertionSuccess();
  }
  if (!got.ok()) return AssertionFailure() << what << ": " << got.status();
  std::vector<HistoryBucket> want;
  std::vector<UnixSeconds> ends;
  for (UnixSeconds s = first; s < request.end_time && s <= q.now; s += width) {
    HistoryBucket& b = want.emplace_back();
    b.start_time = s;
    b.segment_existed = origins_.at(id).create_time < s + width;
    ends.push_back(s + width - 1);
  }
  const std::vector<size_t> counts = CountsAt(id, ends);
  const auto events = by_segment_.find(id);
  for (size_t i = 0; i < want.size(); ++i) {
    HistoryBucket& b = want[i];
    b.member_count = counts[i];
    if (events == by_segment_.end()) continue;
    for (const MembershipChange* e : events->second) {
      if (e->time < b.start_time || e->time >= b.start_time + width) continue;
      ++(e->kind == ChangeKind::kEntered ? b.entered : b.left);
    }
  }
  if (got->buckets.size() != want.size()) {
    return AssertionFailure() << what << ": " << got->buckets.size()
                              << " buckets, want " << want.size();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    ++stats_.buckets;
    if (want[i].entered + want[i].left > 0) ++stats_.nonempty_buckets;
    if (!want[i].segment_existed) ++stats_.before_creation;
    if (!(got->buckets[i] == want[i])) {
      return AssertionFailure()
             << what << ": bucket " << i << " is " << Describe(got->buckets[i])
             << ", the replay says " << Describe(want[i]) << " (created at "
             << origins_.at(id).create_time << ")";
    }
  }
  return AssertionSuccess();
}

AssertionResult HistoryReplay::CheckContact(Question& q, SegmentId id) const {
  const auto events = by_segment_.find(id);
  const Origin& origin = origins_.at(id);
  const int r = std::uniform_int_distribution<int>(0, 3)(q.rng);
  ContactId contact = 0;
  if (r < 2 && events != by_segment_.end()) {
    contact = Pick(events->second, q.rng)->contact_id;
  } else if (r < 3 && !origin.members.empty()) {
    contact = *std::next(
        origin.members.begin(),
        std::uniform_int_distribution<std::ptrdiff_t>(
            0, static_cast<std::ptrdiff_t>(origin.members.size() - 1))(q.rng));
  } else {
    if (max_contact_ == 0) return AssertionSuccess();
    contact = std::uniform_int_distribution<ContactId>(1, max_contact_)(q.rng);
  }
  std::optional<UnixSeconds> at;
  if (std::uniform_int_distribution<int>(0, 4)(q.rng) > 0) {
    at = RandomMoment(q, id);
  }
  const UnixSeconds t = at.value_or(q.now);
  const std::string what = absl::StrCat("segment ", id, " contact ", contact,
                                        " at ", t, at ? "" : " (now)");
  absl::StatusOr<ContactHistory> got =
      q.ws.GetContactMembershipHistory(id, contact, at);
  if (t < q.retained_since) {
    ++stats_.not_retained;
    if (got.status().code() != absl::StatusCode::kOutOfRange) {
      return AssertionFailure()
             << what << ": want OUT_OF_RANGE, got " << got.status();
    }
    return AssertionSuccess();
  }
  if (!got.ok()) return AssertionFailure() << what << ": " << got.status();
  const bool want = MembersAt(id, t).count(contact) != 0;
  ++stats_.members_at;
  if (want) ++stats_.was_member;
  if (got->member_at != want) {
    return AssertionFailure() << what << ": member_at " << got->member_at
                              << ", the replay says " << want;
  }
  std::vector<MembershipChange> want_events;
  if (events != by_segment_.end()) {
    for (const MembershipChange* e : events->second) {
      if (e->contact_id == contact && e->time >= q.retained_since) {
        want_events.push_back(*e);
      }
    }
  }
  const size_t max_events = Limits().max_history_events;
  if (want_events.size() > max_events) {
    want_events.erase(
        want_events.begin(),
        want_events.end() - static_cast<std::ptrdiff_t>(max_events));
    if (!got->events_truncated) {
      return AssertionFailure() << what << ": events not marked truncated";
    }
  }
  if (got->events != want_events) {
    return AssertionFailure() << what << ": " << got->events.size()
                              << " events, the log has " << want_events.size();
  }
  return AssertionSuccess();
}

AssertionResult HistoryReplay::Check(const Workspace& ws, UnixSeconds now,
                                     uint64_t seed, int rounds,
                                     UnixSeconds retained_since) const {
  std::mt19937_64 rng(seed);
  Question q{ws, now, retained_since, rng};
  for (SegmentId id : deleted_) {
    if (ws.GetSegmentHistory(id, {now - 3600, now, Granularity::kHour})
            .status()
            .code() != absl::StatusCode::kNotFound) {
      return AssertionFailure() << "deleted segment " << id << " not NOT_FOUND";
    }
  }
  if (origins_.empty()) return AssertionSuccess();
  std::vector<SegmentId> ids;
  for (const auto& [id, origin] : origins_) ids.push_back(id);
  for (int i = 0; i < rounds; ++i) {
    const SegmentId id = Pick(ids, rng);
    RETURN_IF_FAILED(CheckSegment(q, id));
    RETURN_IF_FAILED(CheckContact(q, id));
  }
  return AssertionSuccess();
}

}  // namespace segments::testing
