// Analytics through the Workspace facade, over the in-memory store, checked
// against a brute-force computation: random contacts and random valid
// filters (tests/testing/random_data.h), each segment's members recomputed
// by the independent evaluator (tests/testing/brute_force.h), and every
// breakdown, overlap, membership check, contact's segments and export
// recomputed from those members and the contacts' own fields. Then the
// refusals: field paths, limits named, codes, plan gates, frozen segments.
//
// Seeds are fixed; SEGMENTS_DIFF_SEED=<n> shifts them.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/errors.h"
#include "core/engine/workspace.h"
#include "core/index/bitmap_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "roaring/roaring.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr UnixSeconds kNow = 1'800'000'000;

uint64_t Seed(uint64_t base) {
  const char* shift = std::getenv("SEGMENTS_DIFF_SEED");
  return base + (shift == nullptr ? 0 : std::strtoull(shift, nullptr, 10));
}

// value -> members holding it, for one dimension, by brute force.
using Counts = std::map<std::string, uint64_t>;

std::string EnumName(std::string_view field, int wire) {
  const RefField* f = FindReferenceField(field);
  return wire == 0 ? "" : std::string(f->enum_names[wire - 1]);
}

// The values a contact holds in a breakdown dimension, as the breakdown
// reports them (enum names, "" for unset; lowercased strings; tags).
std::vector<std::string> ValuesOf(const Contact& c, std::string_view dim) {
  auto one = [](const std::string& s) {
    return s.empty() ? std::vector<std::string>{}
                     : std::vector<std::string>{RefLower(s)};
  };
  if (dim == "lifecycle_stage") {
    return {EnumName(dim, static_cast<int>(c.lifecycle_stage))};
  }
  if (dim == "engagement_trend") {
    return {EnumName(dim, static_cast<int>(c.engagement_trend))};
  }
  if (dim == "conversion_likelihood") {
    return {EnumName(dim, static_cast<int>(c.conversion_likelihood))};
  }
  if (dim == "country") return one(c.country);
  if (dim == "city") return one(c.city);
  if (dim == "source") return one(c.source);
  if (dim == "company") return one(c.company);
  if (dim == "job_title") return one(c.job_title);
  return c.tags;
}

const std::vector<std::string>& Dimensions() {
  static const auto* dims =
      new std::vector<std::string>{"lifecycle_stage",
                                   "engagement_trend",
                                   "conversion_likelihood",
                                   "country",
                                   "city",
                                   "source",
                                   "company",
                                   "job_title",
                                   "tags"};
  return *dims;
}

bool IsEnumDimension(std::string_view dim) {
  return dim == "lifecycle_stage" || dim == "engagement_trend" ||
         dim == "conversion_likelihood";
}

class WorkspaceAnalyticsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(Plan::kPro); }

  void Open(Plan plan) {
    ws_.reset();
    auto ws = testing::OpenMemoryWorkspace(storage_, plan, &clock_, Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  // `n` random contacts, in batches, then every contact as stored.
  void AddContacts(RandomData& rd, int n) {
    while (n > 0) {
      const int batch = std::min(n, 10000);
      std::vector<ContactDraft> drafts;
      for (int i = 0; i < batch; ++i) {
        drafts.push_back(rd.Draft());
        // Many values held by a few contacts each (the vocabularies of
        // random_data are small), so that top-N lists end among ties of
        // small counts and small postings are read.
        if (rd.Percent(50)) {
          drafts.back().company = absl::StrCat("Firm ", rd.Uniform(0, 800));
        }
        if (rd.Percent(30)) {
          drafts.back().job_title = absl::StrCat("Role ", rd.Uniform(0, 150));
        }
      }
      ASSERT_THAT(ws_->BatchUpsertContacts(std::move(drafts), {},
                                           ContactView::kIdAndEmail),
                  IsOk());
      n -= batch;
    }
    contacts_.clear();
    for (ContactId id = 1;; ++id) {
      absl::StatusOr<Contact> c = ws_->GetContact(id);
      if (!c.ok()) break;
      contacts_.push_back(*c);
    }
  }

  // A segment of `filter` (or nothing, if the engine refuses it) and its
  // members by brute force.
  void AddSegment(const FilterSpec& filter) {
    SegmentDraft d;
    d.display_name = absl::StrCat("s", segments_.size());
    d.filter = filter;
    absl::StatusOr<SegmentView> view = ws_->CreateSegment(d);
    ASSERT_THAT(view, IsOk()) << DescribeFilter(filter);
    std::set<ContactId> members;
    for (const Contact& c : contacts_) {
      if (BruteForceMatches(filter, c, kNow)) members.insert(c.id);
    }
    segments_.push_back({view->record.id, members});
  }

  void RandomSegments(RandomData& rd, int n) {
    FilterShape shape;
    shape.max_conditions = 4;
    for (int i = 0; i < n; ++i) AddSegment(rd.Filter(shape));
    // And the edges: everyone, and no one.
    AddSegment({static_cast<int>(Match::kAll),
                {Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                      {std::string("SUBSCRIBER")})}});
    AddSegment({static_cast<int>(Match::kAll),
                {Cond("email", Operator::kEquals,
                      {std::string("nobody@nowhere.invalid")})}});
  }

  // The breakdown of one segment by brute force, checked against the
  // workspace's.
  void CheckBreakdown(size_t s, size_t top_n) {
    const std::set<ContactId>& members = segments_[s].members;
    absl::StatusOr<BreakdownAnswer> got = ws_->GetSegmentBreakdown(
        segments_[s].id, {}, static_cast<int64_t>(top_n));
    ASSERT_THAT(got, IsOk());
    const analytics::Breakdown& b = got->breakdown;
    ASSERT_EQ(b.member_count, members.size());
    ASSERT_EQ(b.dimensions.size(), Dimensions().size());
    for (size_t d = 0; d < Dimensions().size(); ++d) {
      const std::string& dim = Dimensions()[d];
      Counts counts;
      uint64_t unset = 0;
      for (const Contact& c : contacts_) {
        if (members.count(c.id) == 0) continue;
        const std::vector<std::string> values = ValuesOf(c, dim);
        if (values.empty() || (values.size() == 1 && values[0].empty())) {
          ++unset;
        }
        for (const std::string& v : values) ++counts[v];
      }
      const analytics::DimensionBreakdown& got_dim = b.dimensions[d];
      SCOPED_TRACE(absl::StrCat("segment ", s, " dimension ", dim));
      EXPECT_EQ(GetFieldInfo(got_dim.field).name, dim);
      EXPECT_EQ(got_dim.unset_count, dim == "lifecycle_stage" ? 0 : unset);
      std::vector<std::pair<std::string, uint64_t>> want;
      if (IsEnumDimension(dim)) {
        const RefField* f = FindReferenceField(dim);
        for (std::string_view name : f->enum_names) {
          want.emplace_back(std::string(name), counts[std::string(name)]);
        }
        if (f->optional) want.emplace_back("", counts[""]);
      } else {
        for (const auto& [v, n] : counts) want.emplace_back(v, n);
        std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) {
          return x.second != y.second ? x.second > y.second : x.first < y.first;
        });
        if (want.size() > top_n) want.resize(top_n);
      }
      std::vector<std::pair<std::string, uint64_t>> have;
      for (const analytics::ValueCount& v : got_dim.values) {
        have.emplace_back(v.value, v.count);
        const double share =
            members.empty() ? 0 : static_cast<double>(v.count) / members.size();
        EXPECT_DOUBLE_EQ(v.share, share);
      }
      EXPECT_EQ(have, want);
    }
  }

  struct BruteSegment {
    SegmentId id;
    std::set<ContactId> members;
  };

  FakeClock clock_{kNow};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Workspace> ws_;
  std::vector<Contact> contacts_;
  std::vector<BruteSegment> segments_;
};

TEST_F(WorkspaceAnalyticsTest, BreakdownsMatchBruteForceOnRandomData) {
  RandomData rd(Seed(1501), kNow);
  AddContacts(rd, 3000);
  RandomSegments(rd, 20);
  for (size_t s = 0; s < segments_.size(); ++s) {
    CheckBreakdown(s, 10);
    CheckBreakdown(s, 1);
    CheckBreakdown(s, 100);
  }
}

// Above 16,384 members the breakdown counts small postings against a bit
// array of the members instead of the bitmap: the same answers.
TEST_F(WorkspaceAnalyticsTest, BreakdownOfABigSegmentMatchesBruteForce) {
  RandomData rd(Seed(1502), kNow);
  AddContacts(rd, 20000);
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                    {std::string("SUBSCRIBER")})}});
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{0}})}});
  CheckBreakdown(0, 100);
  CheckBreakdown(1, 10);
}

TEST_F(WorkspaceAnalyticsTest, OverlapsMatchBruteForceOnRandomData) {
  RandomData rd(Seed(1503), kNow);
  AddContacts(rd, 2000);
  RandomSegments(rd, 16);
  for (int round = 0; round < 60; ++round) {
    // 2..10 distinct segments in a random order.
    std::vector<size_t> pick(segments_.size());
    for (size_t i = 0; i < pick.size(); ++i) pick[i] = i;
    for (size_t i = pick.size(); i > 1; --i) {
      std::swap(pick[i - 1], pick[static_cast<size_t>(
                                 rd.Uniform(0, static_cast<int64_t>(i) - 1))]);
    }
    pick.resize(static_cast<size_t>(rd.Uniform(2, 10)));
    std::vector<uint64_t> ids;
    for (size_t p : pick) ids.push_back(segments_[p].id);
    absl::StatusOr<OverlapAnswer> got = ws_->GetSegmentOverlap(ids);
    ASSERT_THAT(got, IsOk());
    const analytics::Overlap& o = got->overlap;
    const size_t k = pick.size();
    SCOPED_TRACE(absl::StrCat("round ", round, ", ", k, " segments"));
    // Per contact, the mask of the picked segments it is in.
    std::map<ContactId, uint32_t> mask;
    for (size_t i = 0; i < k; ++i) {
      for (ContactId c : segments_[pick[i]].members) mask[c] |= 1u << i;
    }
    size_t pair = 0;
    for (size_t i = 0; i < k; ++i) {
      EXPECT_EQ(o.sizes[i], segments_[pick[i]].members.size());
      uint64_t exclusive = 0;
      for (const auto& [c, m] : mask) exclusive += m == (1u << i) ? 1 : 0;
      EXPECT_EQ(o.exclusive[i], exclusive) << "segment " << i;
      for (size_t j = i + 1; j < k; ++j, ++pair) {
        uint64_t both = 0, either = 0;
        for (const auto& [c, m] : mask) {
          const bool in_i = (m >> i) & 1, in_j = (m >> j) & 1;
          both += in_i && in_j ? 1 : 0;
          either += in_i || in_j ? 1 : 0;
        }
        ASSERT_LT(pair, o.pairs.size());
        EXPECT_EQ(o.pairs[pair].first, i);
        EXPECT_EQ(o.pairs[pair].second, j);
        EXPECT_EQ(o.pairs[pair].intersection, both);
        EXPECT_EQ(o.pairs[pair].union_count, either);
      }
    }
    EXPECT_EQ(o.pairs.size(), pair);
    uint64_t all = 0;
    for (const auto& [c, m] : mask) all += m == (1u << k) - 1 ? 1 : 0;
    EXPECT_EQ(o.union_count, mask.size());
    EXPECT_EQ(o.intersection_count, all);
    if (k > analytics::kMaxVennSegments) {
      EXPECT_TRUE(o.regions.empty());
      continue;
    }
    ASSERT_EQ(o.regions.size(), (1u << k) - 1);
    for (uint32_t r = 1; r < (1u << k); ++r) {
      uint64_t n = 0;
      for (const auto& [c, m] : mask) n += m == r ? 1 : 0;
      EXPECT_EQ(o.regions[r - 1].mask, r);
      EXPECT_EQ(o.regions[r - 1].count, n) << "region " << r;
    }
  }
}

TEST_F(WorkspaceAnalyticsTest, MembershipAndContactSegmentsMatchBruteForce) {
  RandomData rd(Seed(1504), kNow);
  AddContacts(rd, 1500);
  RandomSegments(rd, 12);
  const uint64_t past_last = contacts_.size() + 1;
  for (const BruteSegment& s : segments_) {
    std::vector<uint64_t> ids;
    for (int i = 0; i < 3000; ++i) {
      ids.push_back(static_cast<uint64_t>(
          rd.Uniform(1, static_cast<int64_t>(past_last) + 50)));
    }
    ids.push_back(uint64_t{1} << 32);  // beyond any bit position
    ids.push_back(std::numeric_limits<uint64_t>::max());
    absl::StatusOr<MembershipAnswer> got = ws_->CheckMembership(s.id, ids);
    ASSERT_THAT(got, IsOk());
    ASSERT_EQ(got->check.is_member.size(), ids.size());
    uint64_t members = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const bool want = ids[i] <= std::numeric_limits<uint32_t>::max() &&
                        s.members.count(static_cast<ContactId>(ids[i])) > 0;
      EXPECT_EQ(got->check.is_member[i], want) << "id " << ids[i];
      members += want ? 1 : 0;
    }
    EXPECT_EQ(got->check.member_count, members);
  }
  for (const Contact& c : contacts_) {
    absl::StatusOr<ContactSegments> got = ws_->ListContactSegments(c.id, true);
    ASSERT_THAT(got, IsOk());
    std::vector<SegmentId> want, have;
    for (const BruteSegment& s : segments_) {
      if (s.members.count(c.id)) want.push_back(s.id);
    }
    for (const ContactSegments::Entry& e : got->segments) {
      have.push_back(e.id);
      EXPECT_EQ(e.display_name, absl::StrCat("s", e.id - 1));
    }
    EXPECT_EQ(have, want) << "contact " << c.id;
  }
  absl::StatusOr<ContactSegments> unnamed = ws_->ListContactSegments(1, false);
  ASSERT_THAT(unnamed, IsOk());
  for (const auto& e : unnamed->segments) EXPECT_EQ(e.display_name, "");
  EXPECT_THAT(ws_->ListContactSegments(static_cast<ContactId>(past_last), true),
              StatusIs(absl::StatusCode::kNotFound));
}

// The export read back by CRoaring's C API (not the C++ wrapper the engine
// writes with), id by id against the brute-force members.
TEST_F(WorkspaceAnalyticsTest, ExportsDeserializeToTheMembers) {
  RandomData rd(Seed(1505), kNow);
  AddContacts(rd, 3000);
  RandomSegments(rd, 8);
  for (const BruteSegment& s : segments_) {
    absl::StatusOr<analytics::BitmapExport> got = ws_->ExportSegment(s.id);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->member_count, s.members.size());
    roaring_bitmap_t* r = roaring_bitmap_portable_deserialize_safe(
        got->bytes.data(), got->bytes.size());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(roaring_bitmap_portable_size_in_bytes(r), got->bytes.size());
    std::vector<uint32_t> ids(roaring_bitmap_get_cardinality(r));
    roaring_bitmap_to_uint32_array(r, ids.data());
    roaring_bitmap_free(r);
    EXPECT_THAT(ids, ElementsAreArray(s.members));
  }
}

TEST_F(WorkspaceAnalyticsTest, ExportOfASnapshotIsItsFrozenMembers) {
  RandomData rd(Seed(1506), kNow);
  AddContacts(rd, 500);
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("lead_score", Operator::kGreaterThan, {int64_t{0}})}});
  SnapshotDraft draft;
  draft.segment_id = segments_[0].id;
  ASSERT_OK_AND_ASSIGN(SnapshotView snap, ws_->CreateSnapshot(draft));
  // The segment moves on; the snapshot does not.
  ContactDraft more = rd.Draft();
  more.lead_score = 5;
  ASSERT_THAT(ws_->CreateContact(more), IsOk());
  ASSERT_OK_AND_ASSIGN(analytics::BitmapExport got,
                       ws_->ExportSnapshot(snap.record.id));
  EXPECT_EQ(got.as_of_sequence, snap.record.as_of_sequence);
  ASSERT_OK_AND_ASSIGN(Roaring members, DeserializeBitmap(got.bytes));
  std::vector<uint32_t> ids(members.cardinality());
  members.toUint32Array(ids.data());
  EXPECT_THAT(ids, ElementsAreArray(segments_[0].members));
  ASSERT_OK_AND_ASSIGN(analytics::BitmapExport live,
                       ws_->ExportSegment(segments_[0].id));
  EXPECT_EQ(live.member_count, segments_[0].members.size() + 1);
  EXPECT_GT(live.as_of_sequence, got.as_of_sequence);
  EXPECT_THAT(ws_->ExportSnapshot(snap.record.id + 1),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkspaceAnalyticsTest, EmptySegmentsAnswerZeroes) {
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("country", Operator::kEquals, {std::string("de")})}});
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("country", Operator::kEquals, {std::string("fr")})}});
  ASSERT_OK_AND_ASSIGN(BreakdownAnswer b,
                       ws_->GetSegmentBreakdown(segments_[0].id, {}, 0));
  EXPECT_EQ(b.breakdown.member_count, 0);
  for (const auto& d : b.breakdown.dimensions) {
    for (const auto& v : d.values) {
      EXPECT_EQ(v.count, 0);
      EXPECT_EQ(v.share, 0);
    }
    if (!IsEnumDimension(GetFieldInfo(d.field).name)) {
      EXPECT_TRUE(d.values.empty());
    }
  }
  ASSERT_OK_AND_ASSIGN(
      OverlapAnswer o,
      ws_->GetSegmentOverlap({segments_[0].id, segments_[1].id}));
  EXPECT_EQ(o.overlap.union_count, 0);
  EXPECT_EQ(o.overlap.regions.size(), 3);
  ASSERT_OK_AND_ASSIGN(MembershipAnswer m,
                       ws_->CheckMembership(segments_[0].id, {1, 2, 3}));
  EXPECT_EQ(m.check.member_count, 0);
  ASSERT_OK_AND_ASSIGN(analytics::BitmapExport e,
                       ws_->ExportSegment(segments_[0].id));
  EXPECT_EQ(e.member_count, 0);
  ASSERT_OK_AND_ASSIGN(Roaring none, DeserializeBitmap(e.bytes));
  EXPECT_TRUE(none.isEmpty());
}

TEST_F(WorkspaceAnalyticsTest, RefusalsNameTheFieldAndTheLimit) {
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("country", Operator::kEquals, {std::string("de")})}});
  const SegmentId seg = segments_[0].id;
  // Membership: 10,001 ids, none, and 0s.
  std::vector<uint64_t> many(10001, 1);
  absl::Status s = ws_->CheckMembership(seg, many).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("max_membership_check_ids")));
  EXPECT_EQ(GetFieldViolations(s).at(0).field, "contact_ids");
  EXPECT_THAT(ws_->CheckMembership(seg, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  s = ws_->CheckMembership(seg, {1, 0, 2, 0}).status();
  ASSERT_EQ(GetFieldViolations(s).size(), 2);
  EXPECT_EQ(GetFieldViolations(s)[1].field, "contact_ids[3]");
  std::vector<uint64_t> limit(10000, 7);
  EXPECT_THAT(ws_->CheckMembership(seg, limit), IsOk());
  // Overlap: 1 and 11 segments, repeats, 0.
  s = ws_->GetSegmentOverlap({seg}).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("max_overlap_segments")));
  std::vector<uint64_t> eleven;
  for (uint64_t i = 1; i <= 11; ++i) eleven.push_back(i);
  s = ws_->GetSegmentOverlap(eleven).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("max_overlap_segments")));
  EXPECT_EQ(GetFieldViolations(s).at(0).field, "segment_ids");
  s = ws_->GetSegmentOverlap({seg, 0, seg}).status();
  ASSERT_EQ(GetFieldViolations(s).size(), 2);
  EXPECT_EQ(GetFieldViolations(s)[0].field, "segment_ids[1]");
  EXPECT_EQ(GetFieldViolations(s)[1].field, "segment_ids[2]");
  EXPECT_THAT(ws_->GetSegmentOverlap({seg, seg + 1}),
              StatusIs(absl::StatusCode::kNotFound));
  // Breakdown: unknown and repeated dimensions, top_n out of range.
  s = ws_->GetSegmentBreakdown(seg, {"country", "email", "country"}, 101)
          .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : GetFieldViolations(s))
    fields.push_back(v.field);
  EXPECT_THAT(fields,
              ElementsAreArray({"dimensions[1]", "dimensions[2]", "top_n"}));
  EXPECT_THAT(GetFieldViolations(s)[2].description,
              HasSubstr("max_breakdown_top_n"));
  EXPECT_THAT(ws_->GetSegmentBreakdown(seg + 1, {}, 0),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->ExportSegment(seg + 1),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->CheckMembership(seg + 1, {1}),
              StatusIs(absl::StatusCode::kNotFound));
  // Recommendations: an unknown goal.
  s = ws_->RecommendSegments(6).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetFieldViolations(s).at(0).field, "goal");
}

// Below GROWTH the scoring enums are not broken down (asking is refused with
// the plan that allows them); below PRO there are no recommendations; a
// segment frozen by a downgrade is refused by every call that names it and
// left out of a contact's segments.
TEST_F(WorkspaceAnalyticsTest, PlansGateScoringDimensionsAndRecommendations) {
  RandomData rd(Seed(1507), kNow);
  AddContacts(rd, 200);
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                    {std::string("SUBSCRIBER")})}});
  AddSegment({static_cast<int>(Match::kAll),
              {Cond("lead_score", Operator::kGreaterOrEqual,
                    {int64_t{-2147483648LL}})}});
  ASSERT_THAT(ws_->SetPlan(Plan::kStarter), IsOk());
  const SegmentId standard = segments_[0].id, smart = segments_[1].id;
  ASSERT_OK_AND_ASSIGN(BreakdownAnswer b,
                       ws_->GetSegmentBreakdown(standard, {}, 0));
  std::vector<std::string> dims;
  for (const auto& d : b.breakdown.dimensions) {
    dims.emplace_back(GetFieldInfo(d.field).name);
  }
  EXPECT_THAT(dims,
              ElementsAreArray({"lifecycle_stage", "country", "city", "source",
                                "company", "job_title", "tags"}));
  absl::Status s =
      ws_->GetSegmentBreakdown(standard, {"country", "engagement_trend"}, 0)
          .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(GetErrorInfo(s).reason, "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(GetErrorInfo(s).metadata.at("required_plan"), "GROWTH");
  EXPECT_EQ(GetErrorInfo(s).metadata.at("field"), "engagement_trend");

  s = ws_->RecommendSegments(1).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(GetErrorInfo(s).reason, "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(GetErrorInfo(s).metadata.at("required_plan"), "PRO");

  for (absl::Status frozen :
       {ws_->GetSegmentBreakdown(smart, {}, 0).status(),
        ws_->GetSegmentOverlap({standard, smart}).status(),
        ws_->CheckMembership(smart, {1}).status(),
        ws_->ExportSegment(smart).status()}) {
    EXPECT_THAT(frozen, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(GetErrorInfo(frozen).reason, "SEGMENT_PLAN_RESTRICTED");
  }
  ASSERT_OK_AND_ASSIGN(ContactSegments in, ws_->ListContactSegments(1, false));
  ASSERT_EQ(in.segments.size(), 1);
  EXPECT_EQ(in.segments[0].id, standard);
}

}  // namespace
}  // namespace segments::testing
