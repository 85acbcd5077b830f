// Harness's checks: what the workspace shows and what its store's change
// log holds, against the shadow.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/index/evaluator.h"
#include "core/model/filter.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/workspace_harness.h"

namespace segments::testing {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// ---------------------------------------------------------------------------
// Checks

std::pair<AssertionResult, std::vector<ContactId>> Harness::ListAll(
    SegmentId id, size_t page_size, bool full) const {
  std::vector<ContactId> ids;
  ContactId after = 0;
  for (int pages = 0;; ++pages) {
    if (pages > 1'000'000)
      return {AssertionFailure() << "paging does not end", ids};
    absl::StatusOr<Page<Contact>> page = ws_->ListMembers(
        id, after, page_size, full ? ContactView::kFull : ContactView::kId);
    if (!page.ok()) {
      return {AssertionFailure() << "ListMembers(" << id << ", " << after
                                 << ", " << page_size << "): " << page.status(),
              ids};
    }
    if (page->items.size() > page_size) {
      return {AssertionFailure()
                  << "page of " << page->items.size() << " > " << page_size,
              ids};
    }
    for (size_t i = 0; i < page->items.size(); ++i) {
      ContactId m = page->items[i].id;
      if (m <= after || (!ids.empty() && m <= ids.back())) {
        return {AssertionFailure()
                    << "ListMembers ids not ascending after " << after,
                ids};
      }
      ids.push_back(m);
      if (full) {
        auto c = contacts_.find(m);
        if (c == contacts_.end() || !(page->items[i] == c->second)) {
          return {AssertionFailure()
                      << "ListMembers full contact " << m << " differs",
                  ids};
        }
      }
    }
    if (!page->more) break;
    if (page->items.empty()) {
      return {AssertionFailure() << "ListMembers: more=true on an empty page",
              ids};
    }
    after = page->items.back().id;
  }
  return {AssertionSuccess(), ids};
}

AssertionResult Harness::CheckCounts() const {
  for (const auto& [id, s] : segments_) {
    absl::StatusOr<MemberCount> count = ws_->CountMembers(id);
    if (!count.ok())
      return AssertionFailure()
             << "CountMembers(" << id << "): " << count.status();
    if (count->member_count != s.members.size()) {
      return AssertionFailure()
             << "segment " << id << " count " << count->member_count
             << ", brute force " << s.members.size() << "\n"
             << ExplainSegment(id, s,
                               s.restricted ? std::vector<ContactId>()
                                            : ListAll(id, 1000, false).second);
    }
    const uint64_t as_of = s.restricted ? s.frozen_as_of : last_sequence_;
    if (count->as_of_sequence != as_of) {
      return AssertionFailure()
             << "segment " << id << (s.restricted ? " (restricted)" : "")
             << " as_of_sequence " << count->as_of_sequence << ", want "
             << as_of;
    }
  }
  return AssertionSuccess();
}

AssertionResult Harness::CheckSegmentList() const {
  std::vector<SegmentView> all;
  SegmentId after = 0;
  for (;;) {
    const Page<SegmentView> page = ws_->ListSegments(after, 7);
    all.insert(all.end(), page.items.begin(), page.items.end());
    if (!page.more || page.items.empty()) break;
    after = page.items.back().record.id;
  }
  if (all.size() != segments_.size()) {
    return AssertionFailure() << "ListSegments has " << all.size()
                              << " segments, want " << segments_.size();
  }
  auto it = segments_.begin();
  for (const SegmentView& v : all) {
    if (v.record.id != it->first || v.record.display_name != it->second.name ||
        v.member_count != it->second.members.size()) {
      return AssertionFailure()
             << "ListSegments entry " << v.record.id << " \""
             << v.record.display_name << "\" count " << v.member_count
             << ", want " << it->first << " \"" << it->second.name
             << "\" count " << it->second.members.size();
    }
    ++it;
  }
  return AssertionSuccess();
}

AssertionResult Harness::CheckExplanations() const {
  if (contacts_.empty()) return AssertionSuccess();
  // A few contacts per segment, spread over the ids (no random draw, so the
  // sequences stay as they were).
  std::vector<const Contact*> all;
  for (const auto& [cid, c] : contacts_) all.push_back(&c);
  size_t k = 0;
  for (const auto& [id, s] : segments_) {
    for (int n = 0; n < 3; ++n, k += 7) {
      const Contact& c = *all[k % all.size()];
      absl::StatusOr<MembershipExplanation> e =
          ws_->ExplainMembership(id, c.id);
      if (!e.ok()) {
        return AssertionFailure() << "ExplainMembership(" << id << ", " << c.id
                                  << "): " << e.status();
      }
      const bool member = s.members.count(c.id) > 0;
      auto in = [&](SegmentId r) {
        auto it = segments_.find(r);
        return it != segments_.end() && it->second.members.count(c.id) > 0;
      };
      const bool want = Matches(s.spec, c, e->evaluated_at, in);
      if (e->member != member || e->filter.matches != want ||
          e->filter.conditions.size() != s.spec.conditions.size()) {
        return AssertionFailure()
               << "ExplainMembership(" << id << ", " << c.id << "): member "
               << e->member << " matches " << e->filter.matches << " at "
               << e->evaluated_at << ", want member " << member << " matches "
               << want << "\n"
               << ExplainSegment(id, s, {});
      }
      for (size_t i = 0; i < s.spec.conditions.size(); ++i) {
        const ConditionSpec& cs = s.spec.conditions[i];
        FilterSpec one = cs.group.has_value() ? *cs.group : FilterSpec{};
        if (!cs.group.has_value()) one.conditions = {cs};
        if (e->filter.conditions[i].matches !=
            Matches(one, c, e->evaluated_at, in)) {
          return AssertionFailure()
                 << "ExplainMembership(" << id << ", " << c.id
                 << "): condition " << i << " (" << DescribeCondition(cs)
                 << ") explained " << e->filter.conditions[i].matches;
        }
      }
    }
  }
  return AssertionSuccess();
}

AssertionResult Harness::CheckEverything() {
  RETURN_IF_FAILED(CheckExplanations());
  for (auto& [id, s] : segments_) {
    // Every active segment, relative ones too, is its filter's answer at
    // the applied moment (now, once the timer has run).
    if (!s.restricted && Recompute(s.spec) != s.members) {
      return AssertionFailure() << "test bug: incremental shadow of segment "
                                << id << " differs from its recompute";
    }
    absl::StatusOr<SegmentView> view = ws_->GetSegment(id);
    const SegmentState state =
        s.restricted ? SegmentState::kPlanRestricted : SegmentState::kActive;
    if (!view.ok() || view->member_count != s.members.size() ||
        view->record.display_name != s.name || view->record.state != state ||
        view->kind != KindOf(s.spec)) {
      return AssertionFailure()
             << "GetSegment(" << id << ") disagrees: "
             << (view.ok()
                     ? absl::StrCat("\"", view->record.display_name,
                                    "\" count ", view->member_count, " state ",
                                    static_cast<int>(view->record.state))
                     : view.status().ToString())
             << ", want \"" << s.name << "\" count " << s.members.size()
             << " state " << static_cast<int>(state);
    }
    if (s.restricted) {
      absl::StatusOr<Page<Contact>> page =
          ws_->ListMembers(id, 0, 10, ContactView::kId);
      if (page.status().code() != absl::StatusCode::kFailedPrecondition) {
        return AssertionFailure()
               << "ListMembers of PLAN_RESTRICTED segment " << id << ": "
               << page.status() << ", want FAILED_PRECONDITION";
      }
      continue;
    }
    static const std::vector<size_t> kPageSizes = {1, 3, 100, 1000};
    const size_t page_size = rd_.Percent(50)
                                 ? rd_.Pick(kPageSizes)
                                 : static_cast<size_t>(rd_.Uniform(1, 1000));
    const bool full = rd_.Percent(25);
    auto [listed, ids] = ListAll(id, page_size, full);
    RETURN_IF_FAILED(listed);
    if (std::set<ContactId>(ids.begin(), ids.end()) != s.members ||
        ids.size() != s.members.size()) {
      return AssertionFailure() << "segment " << id << " listing (page_size "
                                << page_size << ") differs from brute force\n"
                                << ExplainSegment(id, s, ids);
    }
  }
  RETURN_IF_FAILED(CheckCounts());
  RETURN_IF_FAILED(CheckSegmentList());
  for (const auto& [id, c] : contacts_) {
    absl::StatusOr<Contact> got = ws_->GetContact(id);
    if (!got.ok())
      return AssertionFailure() << "GetContact(" << id << "): " << got.status();
    if (!(*got == c)) {
      return AssertionFailure()
             << "GetContact(" << id << ")\n got:  " << DescribeContact(*got)
             << "\n want: " << DescribeContact(c);
    }
  }
  for (ContactId id : deleted_) {
    if (ws_->GetContact(id).status().code() != absl::StatusCode::kNotFound) {
      return AssertionFailure()
             << "deleted contact " << id << " still readable";
    }
  }
  return AssertionSuccess();
}

AssertionResult Harness::CheckChangeLog() {
  ++stats_.log_checks;
  // The log, through a second store on the same data (the workspace keeps
  // its own).
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
      catalog_->OpenWorkspace(kWorkspace);
  if (!store.ok())
    return AssertionFailure() << "OpenWorkspace: " << store.status();
  std::vector<MembershipChange> log;
  for (;;) {
    absl::StatusOr<std::vector<MembershipChange>> page =
        (*store)->ReadChanges(log.empty() ? 0 : log.back().sequence, 10'000);
    if (!page.ok())
      return AssertionFailure() << "ReadChanges: " << page.status();
    if (page->empty()) break;
    log.insert(log.end(), page->begin(), page->end());
  }
  store->reset();

  // 1. Numbered 1..N, no gaps.
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].sequence != i + 1) {
      return AssertionFailure()
             << "change log entry #" << i << " has sequence " << log[i].sequence
             << ", want " << i + 1 << " (strictly increasing, no gaps)";
    }
  }
  // 2. Each write's events, as a set; the first write whose events differ
  // is the culprit (or, when it logged one too many as its last, the write
  // before it).
  auto note = [this](SegmentId id) {
    auto it = segments_.find(id);
    if (it == segments_.end()) return std::string(" (segment deleted since)");
    return absl::StrCat(" (segment ", it->second.relative ? "with" : "without",
                        " relative rules, renamed ", it->second.renames,
                        " times; now ", DescribeFilter(it->second.spec), ")");
  };
  size_t at = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::vector<ExpectedChange>& want = groups_[g];
    std::vector<ExpectedChange> got;
    const size_t first = at;
    for (size_t i = 0; i < want.size() && at < log.size(); ++i, ++at) {
      const MembershipChange& e = log[at];
      got.push_back({e.segment_id, e.contact_id, e.kind, e.cause, e.time});
    }
    std::sort(got.begin(), got.end());
    if (got == want) continue;
    std::vector<ExpectedChange> missing, extra;
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                        std::back_inserter(extra));
    // A write that logged too many events pushes its last predicted ones
    // past the compared stretch: those are not missing.
    for (size_t i = at; i < log.size() && i < at + extra.size(); ++i) {
      const MembershipChange& e = log[i];
      auto it = std::find(
          missing.begin(), missing.end(),
          ExpectedChange{e.segment_id, e.contact_id, e.kind, e.cause, e.time});
      if (it != missing.end()) missing.erase(it);
    }
    AssertionResult r = AssertionFailure();
    r << "write #" << g << " of " << groups_.size() << " (sequences "
      << first + 1 << ".." << first + want.size() << " of " << log.size()
      << " logged, " << last_sequence_
      << " predicted) logged other events than the brute force predicts:";
    for (size_t i = 0; i < missing.size() && i < 5; ++i)
      r << "\n missing: " << DescribeChange(missing[i])
        << note(missing[i].segment);
    for (size_t i = 0; i < extra.size() && i < 5; ++i)
      r << "\n logged:  " << DescribeChange(extra[i]) << note(extra[i].segment);
    return r;
  }
  if (log.size() != last_sequence_) {
    AssertionResult r = AssertionFailure();
    r << "change log has " << log.size() << " events, the brute force predicts "
      << last_sequence_;
    for (size_t i = last_sequence_; i < log.size() && i < last_sequence_ + 5;
         ++i) {
      const MembershipChange& e = log[i];
      r << "\n logged beyond: "
        << DescribeChange({e.segment_id, e.contact_id, e.kind, e.cause, e.time})
        << note(e.segment_id);
    }
    return r;
  }
  // 3. ENTERED and LEFT alternate per (segment, contact), starting with
  // ENTERED; the unlogged build and restart changes count as events at their
  // place.
  // 4. Folded up to each segment's as_of, the events give its members.
  std::map<SegmentId, uint64_t> as_of = Sequences();
  absl::flat_hash_map<std::pair<SegmentId, ContactId>, bool> in;
  std::map<SegmentId, std::set<ContactId>> folded;
  std::set<SegmentId> deleted;
  size_t next_silent = 0;
  auto apply = [&](const ExpectedChange& c, uint64_t position,
                   bool logged) -> AssertionResult {
    if (deleted.count(c.segment) != 0) {
      return AssertionFailure()
             << "event at " << position << ": " << DescribeChange(c)
             << " after the segment's deletion";
    }
    if (c.kind == ChangeKind::kSegmentDeleted) {
      deleted.insert(c.segment);
      return AssertionSuccess();
    }
    bool& member = in[{c.segment, c.contact}];
    const bool enters = c.kind == ChangeKind::kEntered;
    if (member == enters) {
      return AssertionFailure()
             << (logged ? "logged event "
                        : "unlogged build or restart change at ")
             << position << ": " << DescribeChange(c)
             << (enters ? " but it is already a member (double ENTERED)"
                        : " without an ENTERED before it");
    }
    member = enters;
    auto seg = as_of.find(c.segment);
    if (seg != as_of.end() && position <= seg->second) {
      if (enters) {
        folded[c.segment].insert(c.contact);
      } else {
        folded[c.segment].erase(c.contact);
      }
    }
    return AssertionSuccess();
  };
  for (size_t i = 0; i <= log.size(); ++i) {
    // Restart changes at position i come after event i (sequence i).
    while (next_silent < silent_.size() && silent_[next_silent].position <= i) {
      RETURN_IF_FAILED(apply(silent_[next_silent].change,
                             silent_[next_silent].position, false));
      ++next_silent;
    }
    if (i == log.size()) break;
    const MembershipChange& e = log[i];
    RETURN_IF_FAILED(
        apply({e.segment_id, e.contact_id, e.kind, e.cause, e.time}, e.sequence,
              true));
  }
  for (const auto& [id, s] : segments_) {
    std::set<ContactId> members = s.members;
    if (!s.restricted) {
      auto [listed, ids] = ListAll(id, 1000, false);
      RETURN_IF_FAILED(listed);
      members = std::set<ContactId>(ids.begin(), ids.end());
    }
    const std::set<ContactId>& fold = folded[id];
    if (fold != members) {
      std::vector<ContactId> only_fold, only_members;
      std::set_difference(fold.begin(), fold.end(), members.begin(),
                          members.end(), std::back_inserter(only_fold));
      std::set_difference(members.begin(), members.end(), fold.begin(),
                          fold.end(), std::back_inserter(only_members));
      AssertionResult r = AssertionFailure();
      r << "segment " << id << (s.restricted ? " (restricted)" : "")
        << ": its change events up to as_of " << as_of[id] << " give "
        << fold.size() << " members, it has " << members.size() << ";";
      for (size_t i = 0; i < only_fold.size() && i < 5; ++i)
        r << " in the log only: " << only_fold[i] << ";";
      for (size_t i = 0; i < only_members.size() && i < 5; ++i)
        r << " member only: " << only_members[i] << ";";
      return r;
    }
  }
  return AssertionSuccess();
}

std::map<SegmentId, uint64_t> Harness::Sequences() const {
  std::map<SegmentId, uint64_t> out;
  for (const auto& [id, s] : segments_) {
    absl::StatusOr<MemberCount> count = ws_->CountMembers(id);
    out[id] = count.ok() ? count->as_of_sequence : ~uint64_t{0};
  }
  return out;
}

double Harness::NontrivialFraction() const {
  if (segments_.empty()) return 0;
  int n = 0;
  for (const auto& [id, s] : segments_) {
    if (!s.members.empty() && s.members.size() < contacts_.size()) ++n;
  }
  return static_cast<double>(n) / static_cast<double>(segments_.size());
}

std::string Harness::ExplainSegment(SegmentId id, const ShadowSegment& s,
                                    const std::vector<ContactId>& got) const {
  const std::set<ContactId> have(got.begin(), got.end());
  std::string out = absl::StrCat(
      "segment ", id, " now=", now(), " applied=", applied_,
      s.relative ? " (relative)" : "", s.restricted ? " (restricted)" : "",
      " filter: ", DescribeFilter(s.spec));
  absl::StatusOr<Filter> filter = ValidateFilter(s.spec, "filter");
  int shown = 0;
  auto show = [&](ContactId cid, const char* what) {
    if (++shown > 4) return;
    auto c = contacts_.find(cid);
    if (c == contacts_.end()) {
      absl::StrAppend(&out, "\n", what, " contact ", cid,
                      " (not in the shadow)");
      return;
    }
    bool nested = !s.refs.empty();
    for (const ConditionSpec& cond : s.spec.conditions)
      nested = nested || cond.group.has_value();
    if (nested) {
      // Groups and references: the shadow's answer, and what it read of
      // the segments referred to (core's evaluator needs the engine's).
      auto member = [&](SegmentId r) {
        auto it = segments_.find(r);
        return it != segments_.end() && it->second.members.count(cid) > 0;
      };
      absl::StrAppend(
          &out, "\n", what, ": ", DescribeContact(c->second), "\n brute force ",
          Matches(s.spec, c->second, applied_, member) ? "true" : "false",
          " at the applied moment; in the segments referred to:");
      for (SegmentId r : s.refs) {
        absl::StrAppend(&out, " ", r, "=", member(r) ? "in" : "out");
      }
      return;
    }
    absl::StrAppend(
        &out, "\n", what, ": ", DescribeContact(c->second), "\n brute force ",
        BruteForceMatches(s.spec, c->second, applied_) ? "true" : "false",
        ", core FilterMatches ",
        filter.ok()
            ? (FilterMatches(*filter, c->second, applied_) ? "true" : "false")
            : "invalid",
        " at the applied moment");
    absl::StrAppend(&out, ExplainConditions(s.spec, c->second, applied_));
  };
  if (s.restricted) return out;
  for (ContactId cid : s.members) {
    if (have.count(cid) == 0) show(cid, "member missing from the engine");
  }
  for (ContactId cid : have) {
    if (s.members.count(cid) == 0) show(cid, "engine lists a non-member");
  }
  return out;
}

}  // namespace segments::testing
