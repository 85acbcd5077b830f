#include "tests/testing/workspace_harness.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <tuple>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/limits.h"
#include "core/model/filter.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/differential_util.h"

namespace segments::testing {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

namespace {

std::string MaskString(const std::vector<std::string>& mask) {
  std::string out = "[";
  for (const std::string& m : mask)
    absl::StrAppend(&out, out.size() > 1 ? "," : "", m);
  return out + "]";
}

bool InMask(const std::vector<std::string>& mask, std::string_view path) {
  return mask.empty() ||
         std::find(mask.begin(), mask.end(), path) != mask.end();
}

bool SameSpec(const FilterSpec& a, const FilterSpec& b) {
  if (a.match != b.match || a.conditions.size() != b.conditions.size())
    return false;
  for (size_t i = 0; i < a.conditions.size(); ++i) {
    const ConditionSpec& x = a.conditions[i];
    const ConditionSpec& y = b.conditions[i];
    if (x.field != y.field || x.op != y.op || x.values != y.values ||
        x.segment_id != y.segment_id ||
        x.group.has_value() != y.group.has_value())
      return false;
    if (x.group.has_value() && !SameSpec(*x.group, *y.group)) return false;
  }
  return true;
}

bool HasGroup(const FilterSpec& spec) {
  for (const ConditionSpec& c : spec.conditions) {
    if (c.group.has_value()) return true;
  }
  return false;
}

constexpr int kOpInSegment = static_cast<int>(Operator::kInSegment);
constexpr int kOpNotInSegment = static_cast<int>(Operator::kNotInSegment);

bool IsReference(const ConditionSpec& c) {
  return !c.group.has_value() &&
         (c.op == kOpInSegment || c.op == kOpNotInSegment);
}

const char* KindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kEntered:
      return "ENTERED";
    case ChangeKind::kLeft:
      return "LEFT";
    case ChangeKind::kSegmentDeleted:
      return "SEGMENT_DELETED";
  }
  return "?";
}

const char* CauseName(ChangeCause c) {
  switch (c) {
    case ChangeCause::kContactChanged:
      return "CONTACT_CHANGED";
    case ChangeCause::kContactDeleted:
      return "CONTACT_DELETED";
    case ChangeCause::kTime:
      return "TIME";
    case ChangeCause::kRulesChanged:
      return "RULES_CHANGED";
    case ChangeCause::kPlanChanged:
      return "PLAN_CHANGED";
  }
  return "?";
}

AssertionResult SameContact(const Contact& got, const Contact& want,
                            const ContactDraft& draft,
                            std::string_view what = "") {
  if (got == want) return AssertionSuccess();
  return AssertionFailure()
         << "contact differs from the reference normalization " << what
         << "\n draft: " << DescribeDraft(draft)
         << "\n got:   " << DescribeContact(got)
         << "\n want:  " << DescribeContact(want);
}

}  // namespace

bool ExpectedChange::operator<(const ExpectedChange& o) const {
  return std::tie(segment, contact, kind, cause, time) <
         std::tie(o.segment, o.contact, o.kind, o.cause, o.time);
}

bool ExpectedChange::operator==(const ExpectedChange& o) const {
  return std::tie(segment, contact, kind, cause, time) ==
         std::tie(o.segment, o.contact, o.kind, o.cause, o.time);
}

void ForEachLeaf(const FilterSpec& spec,
                 const std::function<void(const ConditionSpec&)>& visit) {
  for (const ConditionSpec& c : spec.conditions) {
    if (c.group.has_value()) {
      ForEachLeaf(*c.group, visit);
    } else {
      visit(c);
    }
  }
}

SegmentKind ReferenceKind(const FilterSpec& spec) {
  SegmentKind kind = SegmentKind::kStandard;
  ForEachLeaf(spec, [&](const ConditionSpec& c) {
    if (IsReference(c)) return;
    const RefField* f = FindReferenceField(c.field);
    if (f != nullptr && f->smart) kind = SegmentKind::kSmart;
  });
  return kind;
}

std::string DescribeChange(const ExpectedChange& c) {
  return absl::StrCat("segment ", c.segment, " contact ", c.contact, " ",
                      KindName(c.kind), " ", CauseName(c.cause), " at ",
                      c.time);
}

// ---------------------------------------------------------------------------
// Setup

Harness::Harness(uint64_t seed, UnixSeconds now, FilterShape shape)
    : rd_(seed, now),
      shape_(shape),
      clock_(now),
      storage_(std::make_shared<MemoryStorage>()),
      owned_catalog_(std::make_unique<MemoryCatalogStore>(storage_)),
      catalog_(owned_catalog_.get()) {}

absl::Status Harness::CreateWorkspaceIn(CatalogStore& catalog) {
  absl::StatusOr<NewWorkspaceStore> created = catalog.CreateWorkspaceStore();
  if (!created.ok()) return created.status();
  if (created->id != kWorkspace) {
    return absl::InternalError(absl::StrCat("the new workspace is ",
                                            created->id, ", not ", kWorkspace));
  }
  WorkspaceRecord record;
  record.id = created->id;
  record.display_name = "differential";
  record.plan = Plan::kPro;
  record.key_hash = std::string(32, 'k');
  return catalog.PutWorkspace(record);
}

Harness::Harness(uint64_t seed, UnixSeconds now, FilterShape shape,
                 CatalogStore* catalog, std::function<CatalogStore*()> reopen)
    : rd_(seed, now),
      shape_(shape),
      clock_(now),
      catalog_(catalog),
      reopen_(std::move(reopen)) {}

Harness::~Harness() { ws_.reset(); }

AssertionResult Harness::Open() {
  ws_.reset();
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
      catalog_->OpenWorkspace(kWorkspace);
  if (!store.ok())
    return AssertionFailure() << "OpenWorkspace: " << store.status();
  absl::StatusOr<std::unique_ptr<Workspace>> ws =
      Workspace::Open(kWorkspace, plan_, std::move(*store), &clock_, Limits());
  if (!ws.ok()) return AssertionFailure() << "Workspace::Open: " << ws.status();
  ws_ = std::move(*ws);
  if (applied_ == 0) {
    applied_ = now();  // a new workspace starts its time now
    return AssertionSuccess();
  }
  // A restart: the flips that fell due while it was down, at their seconds.
  const uint64_t before = last_sequence_;
  LogTime();
  stats_.restart_flips += static_cast<int64_t>(last_sequence_ - before);
  return AssertionSuccess();
}

AssertionResult Harness::Restart() {
  // Down for a while, half the time: flips may fall due meanwhile.
  return Restart(rd_.Percent(50));
}

AssertionResult Harness::Restart(bool down_a_while, int64_t down_for) {
  ws_.reset();
  if (down_for > 0) {
    clock_.Advance(down_for);
  } else if (down_a_while) {
    MoveClock();
  }
  if (reopen_) {
    catalog_ = reopen_();
    if (catalog_ == nullptr) return AssertionFailure() << "reopen failed";
  }
  ++stats_.restarts;
  return Open();
}

void Harness::InjectFailure(bool fail) {
  if (!fail) return;
  if (storage_ == nullptr) {
    ADD_FAILURE() << "fault injection needs the memory store";
    return;
  }
  storage_->FailNextCommits(1);
}

AssertionResult Harness::ExpectUnavailable(const absl::Status& s,
                                           std::string_view call) {
  if (s.code() != absl::StatusCode::kUnavailable) {
    return AssertionFailure()
           << call << " with a failing commit: " << s << ", want UNAVAILABLE";
  }
  return AssertionSuccess();
}

bool Harness::PlanAllows(const FilterSpec& spec) const {
  const Plan needs =
      KindOf(spec) == SegmentKind::kSmart ? Plan::kGrowth : Plan::kStarter;
  return static_cast<int>(plan_) >= static_cast<int>(needs);
}

SegmentKind Harness::KindOf(const FilterSpec& spec) const {
  if (ReferenceKind(spec) == SegmentKind::kSmart) return SegmentKind::kSmart;
  SegmentKind kind = SegmentKind::kStandard;
  ForEachLeaf(spec, [&](const ConditionSpec& c) {
    if (!IsReference(c)) return;
    auto it = segments_.find(c.segment_id);
    if (it != segments_.end() && KindOf(it->second.spec) == SegmentKind::kSmart)
      kind = SegmentKind::kSmart;
  });
  return kind;
}

bool Harness::Reaches(const FilterSpec& spec, SegmentId target) const {
  std::vector<const FilterSpec*> todo = {&spec};
  std::set<SegmentId> seen;
  while (!todo.empty()) {
    const FilterSpec* f = todo.back();
    todo.pop_back();
    bool found = false;
    ForEachLeaf(*f, [&](const ConditionSpec& c) {
      if (!IsReference(c)) return;
      if (c.segment_id == target) found = true;
      auto it = segments_.find(c.segment_id);
      if (it != segments_.end() && seen.insert(c.segment_id).second)
        todo.push_back(&it->second.spec);
    });
    if (found) return true;
  }
  return false;
}

std::vector<SegmentId> Harness::Order() const {
  std::vector<SegmentId> order;
  std::set<SegmentId> placed;
  // Depth first from every segment; the graph is acyclic (the engine
  // refuses cycles, and the harness only accepts what the engine did).
  std::function<void(SegmentId)> place = [&](SegmentId id) {
    if (placed.count(id) > 0) return;
    auto it = segments_.find(id);
    if (it == segments_.end()) return;
    placed.insert(id);
    for (SegmentId r : it->second.refs) place(r);
    order.push_back(id);
  };
  for (const auto& [id, s] : segments_) place(id);
  return order;
}

std::vector<SegmentId> Harness::ReferenceCandidates(SegmentId id) const {
  std::vector<SegmentId> out;
  for (const auto& [sid, s] : segments_) {
    if (id == 0 || (sid != id && !Reaches(s.spec, id))) out.push_back(sid);
  }
  return out;
}

void Harness::CountShape(const FilterSpec& spec) {
  if (HasGroup(spec)) ++stats_.grouped_segments;
  bool refers = false;
  ForEachLeaf(spec, [&](const ConditionSpec& c) {
    if (!IsReference(c)) return;
    refers = true;
    if (c.op == kOpNotInSegment) ++stats_.not_in_references;
  });
  if (!refers) return;
  ++stats_.referring_segments;
  // The longest path of references from `spec`, and whether some segment
  // is reached along two different direct references (a diamond).
  std::function<int64_t(const FilterSpec&)> depth =
      [&](const FilterSpec& f) -> int64_t {
    int64_t d = 0;
    ForEachLeaf(f, [&](const ConditionSpec& c) {
      if (!IsReference(c)) return;
      auto it = segments_.find(c.segment_id);
      if (it != segments_.end()) d = std::max(d, depth(it->second.spec));
    });
    return d + 1;
  };
  stats_.longest_chain = std::max(stats_.longest_chain, depth(spec));
  std::set<SegmentId> direct;
  ForEachLeaf(spec, [&](const ConditionSpec& c) {
    if (IsReference(c)) direct.insert(c.segment_id);
  });
  std::map<SegmentId, int> reached;
  for (SegmentId d : direct) {
    for (const auto& [sid, s] : segments_) {
      if (sid == d ||
          (direct.count(sid) == 0 && Reaches(segments_.at(d).spec, sid)))
        ++reached[sid];
    }
  }
  for (const auto& [sid, n] : reached) {
    if (n > 1) {
      ++stats_.diamonds;
      break;
    }
  }
}

bool Harness::Matches(const FilterSpec& spec, const Contact& c, UnixSeconds at,
                      const std::function<bool(SegmentId)>& member) {
  return BruteForceMatches(spec, c, at, member);
}

void Harness::Settle(std::set<SegmentId> changed, ChangeCause cause,
                     std::vector<ExpectedChange>* out) {
  for (SegmentId id : Order()) {
    ShadowSegment& s = segments_.at(id);
    if (!PlanAllows(s.spec)) {
      if (!s.restricted) {
        ++stats_.downgrades;
        s.restricted = true;
        s.frozen_as_of = last_sequence_;  // before this write's events
      }
      continue;
    }
    bool rebuild = s.restricted || changed.count(id) > 0;
    for (SegmentId r : s.refs) rebuild = rebuild || changed.count(r) > 0;
    if (!rebuild) continue;
    if (s.restricted && cause == ChangeCause::kPlanChanged) ++stats_.upgrades;
    changed.insert(id);
    for (ExpectedChange& c : Rebuild(id, s, cause)) out->push_back(c);
  }
}

ShadowSegment Harness::NewShadow(std::string name, FilterSpec spec) const {
  ShadowSegment s;
  s.name = std::move(name);
  ForEachLeaf(spec, [&](const ConditionSpec& c) {
    if (IsReference(c)) {
      s.refs.insert(c.segment_id);
      return;
    }
    s.fields.insert(c.field);
    if (IsRelative(c)) {
      s.relative = true;
      s.relative_leaves.push_back(c);
    }
  });
  s.spec = std::move(spec);
  return s;
}

size_t Harness::active_relative_segments() const {
  return static_cast<size_t>(std::count_if(
      segments_.begin(), segments_.end(),
      [](const auto& e) { return e.second.relative && !e.second.restricted; }));
}

std::string Harness::NewSegmentName() {
  return absl::StrCat("segment ", ++segment_counter_);
}

const Contact& Harness::PickContact() {
  auto it = contacts_.begin();
  std::advance(it, rd_.Uniform(0, static_cast<int64_t>(contacts_.size()) - 1));
  return it->second;
}

std::set<ContactId> Harness::Recompute(const FilterSpec& spec) const {
  std::set<ContactId> out;
  for (const auto& [id, c] : contacts_) {
    const ContactId cid = id;
    auto member = [&](SegmentId r) {
      auto it = segments_.find(r);
      return it != segments_.end() && it->second.members.count(cid) > 0;
    };
    if (Matches(spec, c, applied_, member)) out.insert(id);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The model

std::vector<ExpectedChange> Harness::Rebuild(SegmentId id, ShadowSegment& s,
                                             ChangeCause cause) {
  std::set<ContactId> next = Recompute(s.spec);
  std::vector<ExpectedChange> out;
  for (ContactId c : s.members) {
    if (next.count(c) == 0)
      out.push_back({id, c, ChangeKind::kLeft, cause, now()});
  }
  for (ContactId c : next) {
    if (s.members.count(c) == 0)
      out.push_back({id, c, ChangeKind::kEntered, cause, now()});
  }
  s.members = std::move(next);
  s.restricted = false;
  s.frozen_as_of = 0;
  return out;
}

void Harness::ApplyContact(const Contact* before, const Contact* after,
                           std::vector<ExpectedChange>* out) {
  const ContactId id = before != nullptr ? before->id : after->id;
  if (before != nullptr) by_email_.erase(before->email);
  if (after != nullptr) {
    contacts_[id] = *after;
    by_email_[after->email] = id;
  } else {
    contacts_.erase(id);
    deleted_.push_back(id);
  }
  const ChangeCause cause = after == nullptr ? ChangeCause::kContactDeleted
                                             : ChangeCause::kContactChanged;
  auto member = [&](SegmentId r) {
    auto it = segments_.find(r);
    return it != segments_.end() && it->second.members.count(id) > 0;
  };
  // Referenced segments first: a referrer reads their new membership.
  for (SegmentId sid : Order()) {
    ShadowSegment& s = segments_.at(sid);
    if (s.restricted) continue;  // frozen, even for deletes
    // Time has been applied up to now (LogTime), so the contact is a member
    // exactly when the filter matches it now.
    const bool was = s.members.count(id) > 0;
    const bool is =
        after != nullptr && Matches(s.spec, *after, applied_, member);
    if (is == was) continue;
    if (is) {
      s.members.insert(id);
    } else {
      s.members.erase(id);
    }
    out->push_back(
        {sid, id, is ? ChangeKind::kEntered : ChangeKind::kLeft, cause, now()});
  }
}

void Harness::Log(std::vector<ExpectedChange> changes) {
  if (changes.empty()) return;
  for (const ExpectedChange& c : changes) {
    auto it = segments_.find(c.segment);
    if (it != segments_.end() && !it->second.refs.empty()) {
      ++stats_.referred_events;
      if (c.cause == ChangeCause::kTime) ++stats_.referred_time_events;
    }
  }
  last_sequence_ += changes.size();
  std::sort(changes.begin(), changes.end());
  groups_.push_back(std::move(changes));
}

void Harness::LogDeletion(SegmentId id) {
  // One event tells the feed's consumers that the segment is gone.
  Log({{id, 0, ChangeKind::kSegmentDeleted, ChangeCause::kRulesChanged,
        std::max(now(), applied_)}});
}

std::vector<ExpectedChange> Harness::DueFlips() const {
  std::vector<ExpectedChange> out;
  const std::vector<SegmentId> order = Order();
  std::vector<const ShadowSegment*> relative;
  for (SegmentId sid : order) {
    const ShadowSegment& s = segments_.at(sid);
    if (!s.restricted && s.relative) relative.push_back(&s);
  }
  if (relative.empty()) return out;
  for (const auto& [cid, c] : contacts_) {
    // Only a relative rule's truth moves with time, and only around
    // t + n days; the seconds around it are evaluated in turn, so the
    // flip is found wherever the brute force puts it. A flip of one
    // segment moves its referrers at the same second, so every active
    // segment is evaluated there, in dependency order.
    std::set<UnixSeconds> seconds;
    for (const ShadowSegment* s : relative) {
      for (const ConditionSpec& cond : s->relative_leaves) {
        const std::optional<UnixSeconds> t = TimeOf(c, cond.field);
        if (!t.has_value()) continue;
        const UnixSeconds edge = *t + std::get<int64_t>(cond.values[0]) * kDay;
        for (UnixSeconds at = edge - 1; at <= edge + 2; ++at) {
          if (at > applied_ && at <= now()) seconds.insert(at);
        }
      }
    }
    if (seconds.empty()) continue;
    std::map<SegmentId, bool> member;
    for (SegmentId sid : order)
      member[sid] = segments_.at(sid).members.count(cid) > 0;
    auto in = [&](SegmentId r) {
      auto it = member.find(r);
      return it != member.end() && it->second;
    };
    for (UnixSeconds at : seconds) {
      for (SegmentId sid : order) {
        const ShadowSegment& s = segments_.at(sid);
        if (s.restricted) continue;
        const bool is = Matches(s.spec, c, at, in);
        if (is == member[sid]) continue;
        member[sid] = is;
        out.push_back({sid, cid, is ? ChangeKind::kEntered : ChangeKind::kLeft,
                       ChangeCause::kTime, at});
      }
    }
  }
  return out;
}

void Harness::LogTime() {
  std::vector<ExpectedChange> flips = DueFlips();
  for (const ExpectedChange& c : flips) {
    std::set<ContactId>& members = segments_.at(c.segment).members;
    if (c.kind == ChangeKind::kEntered) {
      members.insert(c.contact);
    } else {
      members.erase(c.contact);
    }
  }
  stats_.time_events += static_cast<int64_t>(flips.size());
  applied_ = std::max(applied_, now());
  Log(std::move(flips));
}

// ---------------------------------------------------------------------------
// Contacts

AssertionResult Harness::CreateContact(bool fail) {
  ContactDraft d = rd_.Draft();
  Contact want = ReferenceApplyDraft(d, {}, nullptr, now());
  InjectFailure(fail);
  absl::StatusOr<Contact> got = ws_->CreateContact(d);
  if (fail) return ExpectUnavailable(got.status(), "CreateContact");
  LogTime();
  if (!got.ok()) {
    return AssertionFailure()
           << "CreateContact(" << DescribeDraft(d) << "): " << got.status();
  }
  if (got->id != max_contact_id_ + 1) {
    return AssertionFailure()
           << "new contact id " << got->id << ", want " << max_contact_id_ + 1
           << " (ids dense, never reused)";
  }
  want.id = got->id;
  RETURN_IF_FAILED(SameContact(*got, want, d));
  max_contact_id_ = got->id;
  std::vector<ExpectedChange> changes;
  ApplyContact(nullptr, &*got, &changes);
  Log(std::move(changes));
  return AssertionSuccess();
}

AssertionResult Harness::CreateDuplicateEmail() {
  if (contacts_.empty()) return AssertionSuccess();
  const Contact& other = PickContact();
  ContactDraft d = rd_.Draft(rd_.EmailVariant(other.email));
  absl::StatusOr<Contact> got = ws_->CreateContact(d);
  LogTime();  // a refused write applies time first too
  if (got.status().code() != absl::StatusCode::kAlreadyExists) {
    return AssertionFailure()
           << "CreateContact with the email of contact " << other.id << ": "
           << got.status() << ", want ALREADY_EXISTS";
  }
  return AssertionSuccess();
}

AssertionResult Harness::UpdateContact(bool fail) {
  if (contacts_.empty()) return CreateContact(fail);
  const Contact before = PickContact();
  std::string email;
  int64_t roll = rd_.Uniform(0, 99);
  if (fail || roll < 60) {
    email = rd_.EmailVariant(before.email);
  } else if (roll < 85) {
    email = rd_.NewEmail();
  } else {
    email = rd_.EmailVariant(PickContact().email);  // may collide
  }
  ContactDraft d = rd_.Draft(email);
  std::vector<std::string> mask = rd_.ContactMask();
  Contact want = ReferenceApplyDraft(d, mask, &before, now());
  if (fail && want == before) {
    // Make sure the write has something to commit.
    mask.push_back("lead_score");
    d.lead_score = before.lead_score == 0 ? 1 : 0;
    want = ReferenceApplyDraft(d, mask, &before, now());
  }
  auto owner = by_email_.find(want.email);
  const bool conflict = owner != by_email_.end() && owner->second != before.id;
  if (fail && conflict) return AssertionSuccess();  // nothing would commit
  InjectFailure(fail);
  absl::StatusOr<Contact> got = ws_->UpdateContact(before.id, d, mask);
  if (fail) return ExpectUnavailable(got.status(), "UpdateContact");
  LogTime();
  if (conflict) {
    if (got.status().code() != absl::StatusCode::kAlreadyExists) {
      return AssertionFailure() << "UpdateContact(" << before.id
                                << ") to the email of " << owner->second << ": "
                                << got.status() << ", want ALREADY_EXISTS";
    }
    return AssertionSuccess();
  }
  if (!got.ok()) {
    return AssertionFailure()
           << "UpdateContact(" << before.id << ", " << DescribeDraft(d)
           << ", mask " << MaskString(mask) << "): " << got.status();
  }
  RETURN_IF_FAILED(SameContact(*got, want, d, MaskString(mask)));
  std::vector<ExpectedChange> changes;
  ApplyContact(&before, &*got, &changes);
  Log(std::move(changes));
  return AssertionSuccess();
}

AssertionResult Harness::DeleteContact(bool fail) {
  if (contacts_.empty()) return CreateContact(fail);
  const Contact before = PickContact();
  InjectFailure(fail);
  absl::Status s = ws_->DeleteContact(before.id);
  if (fail) return ExpectUnavailable(s, "DeleteContact");
  LogTime();
  if (!s.ok())
    return AssertionFailure() << "DeleteContact(" << before.id << "): " << s;
  std::vector<ExpectedChange> changes;
  ApplyContact(&before, nullptr, &changes);
  Log(std::move(changes));
  return AssertionSuccess();
}

AssertionResult Harness::BatchUpsert(bool fail, size_t n) {
  std::vector<ContactDraft> drafts;
  std::vector<Contact> want;
  std::vector<std::optional<Contact>> before;
  std::set<ContactId> used;
  const std::vector<std::string> mask = rd_.ContactMask();
  for (size_t i = 0; i < n; ++i) {
    if (!contacts_.empty() && rd_.Percent(50)) {
      const Contact& b = PickContact();
      if (used.insert(b.id).second) {
        drafts.push_back(rd_.Draft(rd_.EmailVariant(b.email)));
        want.push_back(ReferenceApplyDraft(drafts.back(), mask, &b, now()));
        before.push_back(b);
        continue;
      }
    }
    drafts.push_back(rd_.Draft());
    want.push_back(ReferenceApplyDraft(drafts.back(), {}, nullptr, now()));
    before.push_back(std::nullopt);
  }
  auto is_new = [](const std::optional<Contact>& b) { return !b.has_value(); };
  if (fail && std::count_if(before.begin(), before.end(), is_new) == 0) {
    drafts.push_back(rd_.Draft());
    want.push_back(ReferenceApplyDraft(drafts.back(), {}, nullptr, now()));
    before.push_back(std::nullopt);
  }
  InjectFailure(fail);
  absl::StatusOr<BatchUpsertResult> got =
      ws_->BatchUpsertContacts(drafts, mask);
  if (fail) return ExpectUnavailable(got.status(), "BatchUpsertContacts");
  LogTime();
  if (!got.ok()) {
    return AssertionFailure()
           << "BatchUpsertContacts(" << drafts.size() << " drafts, mask "
           << MaskString(mask) << "): " << got.status();
  }
  if (got->contacts.size() != drafts.size()) {
    return AssertionFailure()
           << "BatchUpsertContacts returned " << got->contacts.size()
           << " contacts for " << drafts.size() << " drafts";
  }
  const uint32_t created = static_cast<uint32_t>(
      std::count_if(before.begin(), before.end(), is_new));
  if (got->created != created || got->updated != drafts.size() - created) {
    return AssertionFailure()
           << "BatchUpsertContacts created/updated " << got->created << "/"
           << got->updated << ", want " << created << "/"
           << drafts.size() - created;
  }
  std::set<ContactId> new_ids;
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (!before[i].has_value()) {
      want[i].id = got->contacts[i].id;
      new_ids.insert(got->contacts[i].id);
    }
    RETURN_IF_FAILED(SameContact(
        got->contacts[i], want[i], drafts[i],
        absl::StrCat("batch item ", i, ", mask ", MaskString(mask))));
  }
  // New ids: the next `created` ids, dense.
  std::set<ContactId> dense;
  for (uint32_t i = 1; i <= created; ++i) dense.insert(max_contact_id_ + i);
  if (new_ids != dense) {
    return AssertionFailure() << "batch assigned new ids that are not the next "
                              << created << " after " << max_contact_id_;
  }
  max_contact_id_ += created;
  std::vector<ExpectedChange> changes;
  for (size_t i = 0; i < drafts.size(); ++i) {
    ApplyContact(before[i].has_value() ? &*before[i] : nullptr,
                 &got->contacts[i], &changes);
  }
  Log(std::move(changes));
  return AssertionSuccess();
}

AssertionResult Harness::Missing() {
  ContactId id = max_contact_id_ + static_cast<ContactId>(rd_.Uniform(1, 1000));
  if (!deleted_.empty() && rd_.Percent(60)) id = rd_.Pick(deleted_);
  const int64_t which = rd_.Uniform(0, 4);
  absl::Status s;
  if (which == 0) s = ws_->GetContact(id).status();
  if (which == 1) s = ws_->UpdateContact(id, rd_.Draft(), {}).status();
  if (which == 2) s = ws_->DeleteContact(id);
  const SegmentId sid =
      max_segment_id_ + static_cast<SegmentId>(rd_.Uniform(1, 100));
  if (which == 3) s = ws_->DeleteSegment(sid);
  if (which == 4) s = ws_->CountMembers(sid).status();
  if (which >= 1 && which <= 3) LogTime();  // writes apply time first
  if (s.code() != absl::StatusCode::kNotFound) {
    return AssertionFailure() << "call #" << which << " on missing id " << id
                              << "/" << sid << ": " << s << ", want NOT_FOUND";
  }
  return AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Segments

AssertionResult Harness::CreateSegment(bool fail) {
  SegmentDraft draft{NewSegmentName(),
                     rd_.Filter(shape_, ReferenceCandidates(0))};
  const bool allowed = PlanAllows(draft.filter);
  if (!allowed) fail = false;  // refused before any commit
  std::optional<SegmentImpact> impact;
  if (!fail) {
    absl::StatusOr<std::optional<SegmentImpact>> validated = ValidateOnly(
        allowed, [&] { return ws_->ValidateCreateSegment(draft, 5); });
    if (!validated.ok()) {
      return AssertionFailure()
             << "validate_only CreateSegment: " << validated.status();
    }
    impact = *validated;
  }
  InjectFailure(fail);
  absl::StatusOr<SegmentView> got = ws_->CreateSegment(draft);
  if (fail) return ExpectUnavailable(got.status(), "CreateSegment");
  LogTime();
  if (!allowed) {
    if (got.status().code() != absl::StatusCode::kPermissionDenied) {
      return AssertionFailure()
             << "CreateSegment(" << DescribeFilter(draft.filter) << ") on plan "
             << PlanName(plan_) << ": " << got.status()
             << ", want PERMISSION_DENIED";
    }
    return AssertionSuccess();
  }
  if (!got.ok()) {
    return AssertionFailure()
           << "CreateSegment(" << DescribeFilter(draft.filter)
           << "): " << got.status();
  }
  const SegmentId id = got->record.id;
  if (id <= max_segment_id_) {
    return AssertionFailure()
           << "segment id " << id << " not above " << max_segment_id_;
  }
  max_segment_id_ = id;
  if (got->record.display_name != draft.display_name) {
    return AssertionFailure() << "segment name " << got->record.display_name;
  }
  if (got->kind != KindOf(draft.filter)) {
    return AssertionFailure() << "segment kind " << static_cast<int>(got->kind)
                              << " for " << DescribeFilter(draft.filter);
  }
  CountShape(draft.filter);
  ShadowSegment& s = segments_[id] =
      NewShadow(draft.display_name, draft.filter);
  // A segment's initial build logs nothing: its members are the snapshot
  // as of the current sequence that the log continues.
  const std::vector<ExpectedChange> built =
      Rebuild(id, s, ChangeCause::kRulesChanged);
  for (const ExpectedChange& c : built) silent_.push_back({last_sequence_, c});
  if (impact.has_value() && impact->view.record.id != id) {
    return AssertionFailure() << "validate_only CreateSegment announced id "
                              << impact->view.record.id << ", got " << id;
  }
  RETURN_IF_FAILED(SameImpact(impact, id, built, s.members.size()));
  auto [listed, ids] = ListAll(id, 1000, false);
  RETURN_IF_FAILED(listed);
  if (got->member_count != s.members.size() ||
      std::set<ContactId>(ids.begin(), ids.end()) != s.members) {
    return AssertionFailure()
           << "CreateSegment member_count " << got->member_count
           << ", brute force " << s.members.size() << "\n"
           << ExplainSegment(id, s, ids);
  }
  if (got->as_of_sequence != last_sequence_) {
    return AssertionFailure()
           << "CreateSegment as_of_sequence " << got->as_of_sequence
           << ", want " << last_sequence_;
  }
  return AssertionSuccess();
}

absl::StatusOr<std::optional<SegmentImpact>> Harness::ValidateOnly(
    bool allowed, const std::function<absl::StatusOr<SegmentImpact>()>& call) {
  // The impact is measured at the read moment without applying due flips,
  // the write after applying them: compared only when none is due.
  if (!DueFlips().empty()) return std::optional<SegmentImpact>();
  const std::map<SegmentId, uint64_t> sequences = Sequences();
  const int commits = can_fail() ? storage_->commit_count() : 0;
  absl::StatusOr<SegmentImpact> impact = call();
  if (Sequences() != sequences ||
      (can_fail() && storage_->commit_count() != commits)) {
    return absl::InternalError("validate_only wrote something");
  }
  if (impact.ok() != allowed) {
    return absl::InternalError(
        absl::StrCat("validate_only answered ", impact.status().ToString(),
                     ", want ", allowed ? "OK" : "PERMISSION_DENIED"));
  }
  if (!impact.ok()) return std::optional<SegmentImpact>();
  return std::optional<SegmentImpact>(*std::move(impact));
}

AssertionResult Harness::SameImpact(const std::optional<SegmentImpact>& impact,
                                    SegmentId id,
                                    const std::vector<ExpectedChange>& changes,
                                    size_t members) {
  if (!impact.has_value()) return AssertionSuccess();
  uint64_t entered = 0, left = 0;
  for (const ExpectedChange& c : changes) {
    if (c.segment != id) continue;
    (c.kind == ChangeKind::kEntered ? entered : left) += 1;
  }
  if (impact->entered_count != entered || impact->left_count != left ||
      impact->view.member_count != members) {
    return AssertionFailure()
           << "validate_only of segment " << id << " announced +"
           << impact->entered_count << " -" << impact->left_count << " = "
           << impact->view.member_count << ", the write did +" << entered
           << " -" << left << " = " << members;
  }
  ++stats_.validated_impacts;
  return AssertionSuccess();
}

AssertionResult Harness::UpdateSegment(bool fail) {
  if (segments_.empty()) return CreateSegment(fail);
  auto it = segments_.begin();
  std::advance(it, rd_.Uniform(0, static_cast<int64_t>(segments_.size()) - 1));
  const SegmentId id = it->first;
  ShadowSegment& s = it->second;
  static const std::vector<std::vector<std::string>> kMasks = {
      {}, {"filter"}, {"display_name"}, {"display_name", "filter"}};
  const std::vector<std::string> mask = fail ? kMasks[0] : rd_.Pick(kMasks);
  // The draft always carries both; the mask decides what is taken. A new
  // filter that differs from the old one only in what validation
  // normalizes is drawn again: whether it "changes the filter" would then
  // be core's call, not the model's.
  // References only to segments that do not reach this one (BadReference
  // tries cycles).
  const std::vector<SegmentId> candidates = ReferenceCandidates(id);
  SegmentDraft draft{NewSegmentName(), rd_.Filter(shape_, candidates)};
  for (int tries = 0; tries < 20 && !SameSpec(draft.filter, s.spec); ++tries) {
    absl::StatusOr<Filter> a = ValidateFilter(draft.filter, "filter");
    absl::StatusOr<Filter> b = ValidateFilter(s.spec, "filter");
    if (!a.ok() || !b.ok() || !(*a == *b)) break;
    draft.filter = rd_.Filter(shape_, candidates);
  }
  const bool take_name = InMask(mask, "display_name");
  const bool take_filter = InMask(mask, "filter");
  const bool allowed = !take_filter || PlanAllows(draft.filter);
  if (!allowed) fail = false;
  std::optional<SegmentImpact> impact;
  if (!fail) {
    absl::StatusOr<std::optional<SegmentImpact>> validated = ValidateOnly(
        allowed,
        [&] { return ws_->ValidateUpdateSegment(id, draft, mask, 5); });
    if (!validated.ok()) {
      return AssertionFailure() << "validate_only UpdateSegment(" << id
                                << "): " << validated.status();
    }
    impact = *validated;
  }
  InjectFailure(fail);
  absl::StatusOr<SegmentView> got = ws_->UpdateSegment(id, draft, mask);
  if (fail) return ExpectUnavailable(got.status(), "UpdateSegment");
  LogTime();
  if (!allowed) {
    if (got.status().code() != absl::StatusCode::kPermissionDenied) {
      return AssertionFailure()
             << "UpdateSegment(" << id << ", " << DescribeFilter(draft.filter)
             << ") on plan " << PlanName(plan_) << ": " << got.status()
             << ", want PERMISSION_DENIED";
    }
    return AssertionSuccess();
  }
  if (!got.ok()) {
    return AssertionFailure()
           << "UpdateSegment(" << id << ", mask " << MaskString(mask) << ", "
           << DescribeFilter(draft.filter) << "): " << got.status();
  }
  if (take_name) s.name = draft.display_name;
  if (take_filter && !(SameSpec(draft.filter, s.spec) && !s.restricted)) {
    CountShape(draft.filter);
    ShadowSegment next = NewShadow(s.name, draft.filter);
    next.members = std::move(s.members);
    next.renames = s.renames;
    s = std::move(next);
    // The segment and, in dependency order, every segment reaching it
    // (restricted ones the plan now allows too), in this one write.
    std::vector<ExpectedChange> changes;
    Settle({id}, ChangeCause::kRulesChanged, &changes);
    RETURN_IF_FAILED(SameImpact(impact, id, changes, s.members.size()));
    Log(std::move(changes));
  } else {
    RETURN_IF_FAILED(SameImpact(impact, id, {}, s.members.size()));
  }
  if (got->record.display_name != s.name ||
      got->member_count != s.members.size()) {
    return AssertionFailure()
           << "UpdateSegment(" << id << ", mask " << MaskString(mask)
           << ") -> name " << got->record.display_name << " count "
           << got->member_count << ", want " << s.name << " "
           << s.members.size() << "\n"
           << ExplainSegment(id, s, ListAll(id, 1000, false).second);
  }
  return AssertionSuccess();
}

AssertionResult Harness::RenameSegment(bool fail) {
  if (segments_.empty()) return CreateSegment(fail);
  std::vector<SegmentId> relative, all;
  for (const auto& [id, s] : segments_) {
    all.push_back(id);
    if (s.relative && !s.restricted) relative.push_back(id);
  }
  const SegmentId id =
      !relative.empty() && rd_.Percent(70) ? rd_.Pick(relative) : rd_.Pick(all);
  ShadowSegment& s = segments_.at(id);
  static const std::vector<std::vector<std::string>> kMasks = {
      {"display_name"}, {"filter"}, {"display_name", "filter"}, {}};
  const std::vector<std::string> mask = rd_.Pick(kMasks);
  const bool take_name = InMask(mask, "display_name");
  const bool take_filter = InMask(mask, "filter");
  // The same filter; a name only counts where the mask takes it.
  SegmentDraft draft{take_name ? NewSegmentName() : s.name, s.spec};
  // A restricted segment's rules are beyond the plan.
  const bool allowed = !take_filter || PlanAllows(s.spec);
  if (!allowed) fail = false;
  InjectFailure(fail);
  absl::StatusOr<SegmentView> got = ws_->UpdateSegment(id, draft, mask);
  if (fail) return ExpectUnavailable(got.status(), "UpdateSegment (rename)");
  LogTime();
  if (!allowed) {
    if (got.status().code() != absl::StatusCode::kPermissionDenied) {
      return AssertionFailure()
             << "UpdateSegment(" << id << ", mask " << MaskString(mask)
             << ", same filter) of a PLAN_RESTRICTED segment on plan "
             << PlanName(plan_) << ": " << got.status()
             << ", want PERMISSION_DENIED";
    }
    return AssertionSuccess();
  }
  if (!got.ok()) {
    return AssertionFailure()
           << "UpdateSegment(" << id << ", mask " << MaskString(mask)
           << ", same filter " << DescribeFilter(s.spec)
           << "): " << got.status();
  }
  if (s.relative && !s.restricted) ++stats_.relative_renames;
  ++s.renames;
  s.name = draft.display_name;
  if (got->record.display_name != s.name ||
      got->member_count != s.members.size() ||
      got->record.state != (s.restricted ? SegmentState::kPlanRestricted
                                         : SegmentState::kActive)) {
    return AssertionFailure()
           << "UpdateSegment(" << id << ", mask " << MaskString(mask)
           << ", same filter) -> name " << got->record.display_name << " count "
           << got->member_count << " state "
           << static_cast<int>(got->record.state) << ", want " << s.name << " "
           << s.members.size() << (s.restricted ? " restricted" : " active");
  }
  return AssertionSuccess();
}

AssertionResult Harness::DeleteSegment(bool fail) {
  if (segments_.empty()) return CreateSegment(fail);
  // The segments others refer to directly: their delete is refused.
  std::map<SegmentId, std::set<SegmentId>> referrers;
  for (const auto& [sid, s] : segments_) {
    for (SegmentId r : s.refs) referrers[r].insert(sid);
  }
  std::vector<SegmentId> free, all;
  for (const auto& [sid, s] : segments_) {
    all.push_back(sid);
    if (referrers.count(sid) == 0) free.push_back(sid);
  }
  // Without references, the draw flat sequences always made (their seeds
  // keep their meaning); with them, mostly a segment nobody refers to.
  const SegmentId id = referrers.empty() ? rd_.Pick(all)
                       : rd_.Percent(15) ? rd_.Pick(all)
                                         : rd_.Pick(free);
  const bool referenced = referrers.count(id) > 0;
  if (referenced) fail = false;  // refused before any commit
  InjectFailure(fail);
  absl::Status s = ws_->DeleteSegment(id);
  if (fail) return ExpectUnavailable(s, "DeleteSegment");
  LogTime();
  if (referenced) {
    // FAILED_PRECONDITION naming the direct referrers (docs/rules.md).
    std::string want;
    for (SegmentId r : referrers.at(id))
      absl::StrAppend(&want, want.empty() ? "" : ",", r);
    const ErrorInfo info = GetErrorInfo(s);
    if (s.code() != absl::StatusCode::kFailedPrecondition ||
        info.reason != "SEGMENT_REFERENCED" ||
        info.metadata.count("referrers") == 0 ||
        info.metadata.at("referrers") != want) {
      return AssertionFailure()
             << "DeleteSegment(" << id << ") referred to by " << want << ": "
             << s << ", want FAILED_PRECONDITION naming them";
    }
    ++stats_.refused_deletes;
    return AssertionSuccess();
  }
  if (!s.ok())
    return AssertionFailure() << "DeleteSegment(" << id << "): " << s;
  LogDeletion(id);
  segments_.erase(id);
  return AssertionSuccess();
}

AssertionResult Harness::BadReference() {
  // A missing segment: one deleted or never created.
  SegmentId missing =
      max_segment_id_ + 1 + static_cast<SegmentId>(rd_.Uniform(0, 50));
  for (SegmentId sid = max_segment_id_; sid >= 1; --sid) {
    if (segments_.count(sid) == 0 && rd_.Percent(50)) {
      missing = sid;
      break;
    }
  }
  // An update may close a cycle instead: refer to the segment itself or to
  // one reaching it.
  SegmentId target = 0;
  SegmentId bad = missing;
  bool cycle = false;
  if (!segments_.empty() && rd_.Percent(70)) {
    auto it = segments_.begin();
    std::advance(it,
                 rd_.Uniform(0, static_cast<int64_t>(segments_.size()) - 1));
    target = it->first;
    std::vector<SegmentId> reaching = {target};
    for (const auto& [sid, sh] : segments_) {
      if (Reaches(sh.spec, target)) reaching.push_back(sid);
    }
    if (rd_.Percent(80)) {
      bad = rd_.Pick(reaching);
      cycle = true;
    }
  }
  // The bad reference inside a group inside the filter, at a known path.
  // Within the limits: a filter over them is refused before its references
  // are looked at.
  FilterShape small = shape_;
  small.max_conditions = 10;
  FilterSpec filter = rd_.Filter(small, {});
  ConditionSpec ref;
  ref.op = rd_.Percent(50) ? kOpInSegment : kOpNotInSegment;
  ref.segment_id = bad;
  FilterSpec inner;
  inner.match = 2;
  inner.conditions.push_back(rd_.Condition());
  inner.conditions.push_back(ref);
  ConditionSpec group;
  group.group = std::move(inner);
  filter.conditions.push_back(std::move(group));
  const std::string path =
      absl::StrCat("segment.filter.conditions[", filter.conditions.size() - 1,
                   "].group.conditions[1].segment_id");
  SegmentDraft draft{NewSegmentName(), filter};
  const std::map<SegmentId, uint64_t> before = Sequences();
  absl::StatusOr<SegmentView> got =
      target != 0 ? ws_->UpdateSegment(target, draft, {"filter"})
                  : ws_->CreateSegment(draft);
  LogTime();  // a refused write applies time first
  bool at_path = false;
  for (const FieldViolation& v : GetFieldViolations(got.status()))
    at_path = at_path || v.field == path;
  if (got.status().code() != absl::StatusCode::kInvalidArgument || !at_path) {
    return AssertionFailure()
           << (target != 0 ? absl::StrCat("UpdateSegment(", target, ")")
                           : std::string("CreateSegment"))
           << " referring to "
           << (cycle ? "a segment reaching it " : "missing ") << bad << ": "
           << got.status() << ", want INVALID_ARGUMENT at " << path;
  }
  ++stats_.refused_references;
  if (Sequences() != before)
    return AssertionFailure() << "a refused reference moved a sequence";
  return AssertionSuccess();
}

AssertionResult Harness::SetPlan(bool fail) {
  static const std::vector<Plan> kLower = {Plan::kFree, Plan::kStarter,
                                           Plan::kStarter, Plan::kGrowth};
  Plan next = Plan::kPro;
  if (plan_ == Plan::kPro) {
    next = rd_.Pick(kLower);
  } else if (rd_.Percent(30)) {
    next = rd_.Pick(kLower);
  }
  return SetPlan(next, fail);
}

AssertionResult Harness::SetPlan(Plan plan, bool fail) {
  InjectFailure(fail);
  absl::Status status = ws_->SetPlan(plan);
  if (fail) return ExpectUnavailable(status, "SetPlan");
  LogTime();
  if (!status.ok()) {
    return AssertionFailure()
           << "SetPlan(" << PlanName(plan) << "): " << status;
  }
  plan_ = plan;
  std::vector<ExpectedChange> changes;
  Settle({}, ChangeCause::kPlanChanged, &changes);
  Log(std::move(changes));
  return AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Time

AssertionResult Harness::AdvanceTime(bool fail) {
  MoveClock();
  if (!rd_.Percent(75)) return AssertionSuccess();  // the next write's turn
  ++stats_.timer_runs;
  // A failing commit only matters when some flip changes a membership.
  fail = fail && can_fail() && !DueFlips().empty() && rd_.Percent(20);
  InjectFailure(fail);
  const absl::Status s = ws_->ApplyDueFlips();
  if (fail) {
    ++stats_.failed_flips;
    return ExpectUnavailable(s, "ApplyDueFlips");
  }
  if (!s.ok()) return AssertionFailure() << "ApplyDueFlips: " << s;
  LogTime();
  return AssertionSuccess();
}

void Harness::MoveClock() {
  ++stats_.time_moves;
  const UnixSeconds t = now();
  const int64_t roll = rd_.Uniform(0, 99);
  if (roll < 50) {
    // Onto a flip second of a live relative rule, +-1 s: the next ones
    // within ten days, over every live contact.
    std::vector<UnixSeconds> edges;
    for (const auto& [id, s] : segments_) {
      if (!s.relative || s.restricted) continue;
      for (const ConditionSpec& c : s.relative_leaves) {
        const int64_t days = std::get<int64_t>(c.values[0]);
        for (const auto& [cid, contact] : contacts_) {
          std::optional<UnixSeconds> at = TimeOf(contact, c.field);
          if (!at.has_value()) continue;
          const UnixSeconds edge = *at + days * kDay;
          if (edge > t + 1 && edge <= t + 10 * kDay) edges.push_back(edge);
        }
      }
    }
    if (!edges.empty()) {
      ++stats_.edge_hits;
      clock_.Set(rd_.Pick(edges) + rd_.Uniform(-1, 1));
      return;
    }
  }
  if (roll < 65) {
    clock_.Advance(rd_.Uniform(1, 120));
  } else if (roll < 80) {
    clock_.Advance(kDay + rd_.Uniform(-1, 1));
  } else if (roll < 85) {
    clock_.Advance(rd_.Uniform(2, 4) * kDay + rd_.Uniform(-1, 1));
  } else if (roll < 90) {
    clock_.Advance(rd_.Uniform(30, 100) * kDay + rd_.Uniform(-1, 1));
  } else {
    // Across the next UTC midnight, landing on it +-1 s.
    clock_.Set((t / kDay + 1) * kDay + rd_.Uniform(-1, 1));
  }
}

AssertionResult Harness::DeleteNewest() {
  if (!contacts_.empty() && contacts_.rbegin()->first == max_contact_id_) {
    const Contact before = contacts_.rbegin()->second;
    absl::Status s = ws_->DeleteContact(max_contact_id_);
    if (!s.ok()) return AssertionFailure() << "DeleteContact: " << s;
    LogTime();
    std::vector<ExpectedChange> changes;
    ApplyContact(&before, nullptr, &changes);
    Log(std::move(changes));
  }
  bool referenced = false;
  for (const auto& [sid, sh] : segments_)
    referenced = referenced || sh.refs.count(max_segment_id_) > 0;
  if (!segments_.empty() && segments_.rbegin()->first == max_segment_id_ &&
      !referenced) {
    absl::Status s = ws_->DeleteSegment(max_segment_id_);
    if (!s.ok()) return AssertionFailure() << "DeleteSegment: " << s;
    LogTime();
    LogDeletion(max_segment_id_);
    segments_.erase(max_segment_id_);
  }
  return AssertionSuccess();
}

std::string DescribeStats(const Harness::Stats& st) {
  return absl::StrCat(
      st.time_moves, " clock moves (", st.edge_hits, " onto flip seconds), ",
      st.timer_runs, " timer runs (", st.failed_flips, " failed), ",
      st.time_events, " TIME events, ", st.relative_renames,
      " renames of relative segments, ", st.downgrades,
      " segments frozen by downgrades, ", st.upgrades, " rebuilt by upgrades, ",
      st.restarts, " restarts (", st.restart_flips, " TIME events at start), ",
      st.log_checks, " change-log checks; ", st.grouped_segments,
      " filters with groups, ", st.referring_segments, " with references (",
      st.not_in_references, " NOT_IN_SEGMENT, ", st.diamonds,
      " diamonds, longest chain ", st.longest_chain, "), ", st.referred_events,
      " events of referring segments (", st.referred_time_events, " TIME), ",
      st.refused_deletes, " deletes of referenced segments refused, ",
      st.refused_references, " missing/cycle references refused; ",
      st.validated_impacts, " validate_only impacts checked");
}

}  // namespace segments::testing
