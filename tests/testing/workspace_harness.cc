#include "tests/testing/workspace_harness.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <tuple>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
    if (x.field != y.field || x.op != y.op || x.values != y.values)
      return false;
  }
  return true;
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

SegmentKind ReferenceKind(const FilterSpec& spec) {
  for (const ConditionSpec& c : spec.conditions) {
    const RefField* f = FindReferenceField(c.field);
    if (f != nullptr && f->smart) return SegmentKind::kSmart;
  }
  return SegmentKind::kStandard;
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
  const Plan needs = ReferenceKind(spec) == SegmentKind::kSmart
                         ? Plan::kGrowth
                         : Plan::kStarter;
  return static_cast<int>(plan_) >= static_cast<int>(needs);
}

ShadowSegment Harness::NewShadow(std::string name, FilterSpec spec) const {
  ShadowSegment s;
  s.name = std::move(name);
  for (const ConditionSpec& c : spec.conditions) {
    s.fields.insert(c.field);
    if (IsRelative(c)) s.relative = true;
  }
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
    if (BruteForceMatches(spec, c, applied_)) out.insert(id);
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
  for (auto& [sid, s] : segments_) {
    if (s.restricted) continue;  // frozen, even for deletes
    // Time has been applied up to now (LogTime), so the contact is a member
    // exactly when the filter matches it now.
    const bool was = s.members.count(id) > 0;
    const bool is =
        after != nullptr && BruteForceMatches(s.spec, *after, applied_);
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
  for (const auto& [sid, s] : segments_) {
    if (s.restricted || !s.relative) continue;
    for (const auto& [cid, c] : contacts_) {
      // Only a relative rule's truth moves with time, and only around
      // t + n days; the seconds around it are evaluated in turn, so the
      // flip is found wherever the brute force puts it.
      std::set<UnixSeconds> seconds;
      for (const ConditionSpec& cond : s.spec.conditions) {
        if (!IsRelative(cond)) continue;
        const std::optional<UnixSeconds> t = TimeOf(c, cond.field);
        if (!t.has_value()) continue;
        const UnixSeconds edge = *t + std::get<int64_t>(cond.values[0]) * kDay;
        for (UnixSeconds at = edge - 1; at <= edge + 2; ++at) {
          if (at > applied_ && at <= now()) seconds.insert(at);
        }
      }
      bool member = s.members.count(cid) > 0;
      for (UnixSeconds at : seconds) {
        const bool is = BruteForceMatches(s.spec, c, at);
        if (is == member) continue;
        member = is;
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
  SegmentDraft draft{NewSegmentName(), rd_.Filter(shape_)};
  const bool allowed = PlanAllows(draft.filter);
  if (!allowed) fail = false;  // refused before any commit
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
  if (got->kind != ReferenceKind(draft.filter)) {
    return AssertionFailure() << "segment kind " << static_cast<int>(got->kind)
                              << " for " << DescribeFilter(draft.filter);
  }
  ShadowSegment& s = segments_[id] =
      NewShadow(draft.display_name, draft.filter);
  // A segment's initial build logs nothing: its members are the snapshot
  // as of the current sequence that the log continues.
  for (const ExpectedChange& c : Rebuild(id, s, ChangeCause::kRulesChanged))
    silent_.push_back({last_sequence_, c});
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
  SegmentDraft draft{NewSegmentName(), rd_.Filter(shape_)};
  for (int tries = 0; tries < 20 && !SameSpec(draft.filter, s.spec); ++tries) {
    absl::StatusOr<Filter> a = ValidateFilter(draft.filter, "filter");
    absl::StatusOr<Filter> b = ValidateFilter(s.spec, "filter");
    if (!a.ok() || !b.ok() || !(*a == *b)) break;
    draft.filter = rd_.Filter(shape_);
  }
  const bool take_name = InMask(mask, "display_name");
  const bool take_filter = InMask(mask, "filter");
  const bool allowed = !take_filter || PlanAllows(draft.filter);
  if (!allowed) fail = false;
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
    ShadowSegment next = NewShadow(s.name, draft.filter);
    next.members = std::move(s.members);
    s = std::move(next);
    Log(Rebuild(id, s, ChangeCause::kRulesChanged));
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
  auto it = segments_.begin();
  std::advance(it, rd_.Uniform(0, static_cast<int64_t>(segments_.size()) - 1));
  InjectFailure(fail);
  absl::Status s = ws_->DeleteSegment(it->first);
  if (fail) return ExpectUnavailable(s, "DeleteSegment");
  LogTime();
  if (!s.ok())
    return AssertionFailure() << "DeleteSegment(" << it->first << "): " << s;
  LogDeletion(it->first);
  segments_.erase(it);
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
  for (auto& [id, s] : segments_) {
    const bool allowed = PlanAllows(s.spec);
    if (allowed && s.restricted) {
      ++stats_.upgrades;
      for (ExpectedChange& c : Rebuild(id, s, ChangeCause::kPlanChanged))
        changes.push_back(c);
    } else if (!allowed && !s.restricted) {
      ++stats_.downgrades;
      s.restricted = true;
      s.frozen_as_of = last_sequence_;  // before this write's events
    }
  }
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
      for (const ConditionSpec& c : s.spec.conditions) {
        if (!IsRelative(c)) continue;
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
  if (!segments_.empty() && segments_.rbegin()->first == max_segment_id_) {
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
      st.log_checks, " change-log checks");
}

}  // namespace segments::testing
