// Explain (issue 14): every node of ExplainFilter, for random contacts and
// random filters with nested groups and references, against the
// brute-force evaluator (tests/testing/brute_force.h) on the same subtree;
// the paths as the caller would write them; the contact's value of each
// field read. Workspace::ExplainMembership over a workspace is checked
// against the brute force by the differential harness (CheckEverything);
// here its NOT_FOUND answers.
#include "core/index/explain.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/engine/workspace.h"
#include "core/index/evaluator.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

// Memberships of the segments 1..kSegments, drawn per contact.
constexpr SegmentId kSegments = 6;

class FixedAnswers : public ReferenceAnswers {
 public:
  explicit FixedAnswers(std::map<SegmentId, bool> in) : in_(std::move(in)) {}
  bool IsMember(SegmentId s) const override { return in_.at(s); }

 private:
  std::map<SegmentId, bool> in_;
};

// The contact's value of `field` as the reference reads it, in rule form.
std::vector<RawValue> ReferenceFieldValues(const Contact& c,
                                           const std::string& field) {
  auto str = [](const std::string& s) {
    return s.empty() ? std::vector<RawValue>{} : std::vector<RawValue>{s};
  };
  auto name = [&](int wire) -> std::vector<RawValue> {
    const RefField* f = FindReferenceField(field);
    if (wire == 0) return {};
    return {std::string(f->enum_names[static_cast<size_t>(wire) - 1])};
  };
  if (field == "email") return str(c.email);
  if (field == "company") return str(c.company);
  if (field == "job_title") return str(c.job_title);
  if (field == "country") return str(c.country);
  if (field == "city") return str(c.city);
  if (field == "source") return str(c.source);
  if (field == "tags") {
    std::vector<RawValue> out;
    for (const std::string& t : c.tags) out.push_back(t);
    return out;
  }
  if (field == "lifecycle_stage")
    return name(static_cast<int>(c.lifecycle_stage));
  if (field == "lead_score") return {int64_t{c.lead_score}};
  if (field == "engagement_score") return {int64_t{c.engagement_score}};
  if (field == "engagement_trend")
    return name(static_cast<int>(c.engagement_trend));
  if (field == "conversion_likelihood")
    return name(static_cast<int>(c.conversion_likelihood));
  if (field == "created_at") return {TimestampValue{c.created_at}};
  if (c.last_engaged_at.has_value())
    return {TimestampValue{*c.last_engaged_at}};
  return {};
}

// Compares `node` with the brute force's reading of `spec` at `path`.
::testing::AssertionResult SameTree(const ExplainedCondition& node,
                                    const FilterSpec& spec,
                                    const std::string& path, const Contact& c,
                                    UnixSeconds now,
                                    const std::function<bool(SegmentId)>& in) {
  if (node.path != path) {
    return ::testing::AssertionFailure()
           << "path " << node.path << ", want " << path;
  }
  const bool want = BruteForceMatches(spec, c, now, in);
  if (node.matches != want) {
    return ::testing::AssertionFailure()
           << path << " (" << DescribeFilter(spec) << "): explained "
           << node.matches << ", brute force " << want;
  }
  if (node.conditions.size() != spec.conditions.size() ||
      node.condition.has_value()) {
    return ::testing::AssertionFailure() << path << ": not a group node";
  }
  for (size_t i = 0; i < spec.conditions.size(); ++i) {
    const ConditionSpec& cs = spec.conditions[i];
    const ExplainedCondition& child = node.conditions[i];
    const std::string at = absl::StrCat(path, ".conditions[", i, "]");
    if (cs.group.has_value()) {
      if (child.path != at) {
        return ::testing::AssertionFailure()
               << "group path " << child.path << ", want " << at;
      }
      ExplainedCondition inner = child;
      inner.path = at + ".group";
      RETURN_IF_FAILED(SameTree(inner, *cs.group, at + ".group", c, now, in));
      continue;
    }
    FilterSpec one;
    one.conditions = {cs};
    const bool leaf = BruteForceMatches(one, c, now, in);
    if (child.path != at || child.matches != leaf ||
        !child.condition.has_value()) {
      return ::testing::AssertionFailure()
             << at << " (" << DescribeCondition(cs) << "): explained "
             << child.matches << " at " << child.path << ", brute force "
             << leaf;
    }
    const bool reference = cs.op == static_cast<int>(Operator::kInSegment) ||
                           cs.op == static_cast<int>(Operator::kNotInSegment);
    const std::vector<RawValue> values =
        reference ? std::vector<RawValue>{} : ReferenceFieldValues(c, cs.field);
    if (child.field_values != values) {
      return ::testing::AssertionFailure()
             << at << ": the contact's values of " << cs.field << " differ ("
             << child.field_values.size() << " vs " << values.size() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(ExplainTest, EveryNodeMatchesTheBruteForce) {
  const uint64_t seed = Seed(31);
  SCOPED_TRACE(SeedTrace(seed));
  RandomData rd(seed, kBase);
  FilterShape shape;
  shape.max_conditions = 12;
  shape.group_percent = 30;
  shape.reference_percent = 25;
  std::vector<SegmentId> refs;
  for (SegmentId s = 1; s <= kSegments; ++s) refs.push_back(s);
  int groups = 0, false_roots = 0, true_roots = 0;
  for (int round = 0; round < 3000; ++round) {
    const Contact c = ReferenceApplyDraft(rd.Draft(), {}, nullptr, kBase);
    std::map<SegmentId, bool> in;
    for (SegmentId s : refs) in[s] = rd.Percent(50);
    const FilterSpec spec = rd.Filter(shape, refs);
    absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
    ASSERT_TRUE(filter.ok()) << filter.status() << " " << DescribeFilter(spec);
    const UnixSeconds now = rd.Now();
    const FixedAnswers answers(in);
    const ExplainedCondition node = ExplainFilter(*filter, c, now, &answers);
    ASSERT_TRUE(SameTree(node, spec, "filter", c, now,
                         [&](SegmentId s) { return in.at(s); }))
        << "round " << round << "\ncontact " << DescribeContact(c);
    // The root is what the evaluator that keeps memberships says.
    ASSERT_EQ(node.matches, FilterMatches(*filter, c, now, &answers));
    for (const ConditionSpec& cs : spec.conditions)
      groups += cs.group.has_value() ? 1 : 0;
    (node.matches ? true_roots : false_roots) += 1;
  }
  EXPECT_GT(groups, 500);
  EXPECT_GT(true_roots, 300);
  EXPECT_GT(false_roots, 300);
}

TEST(ExplainTest, MissingSegmentOrContactIsNotFound) {
  auto storage = std::make_shared<MemoryStorage>();
  FakeClock clock(kBase);
  auto ws = OpenMemoryWorkspace(storage, Plan::kStarter, &clock, Limits());
  ASSERT_THAT(ws, IsOk());
  ContactDraft d;
  d.email = "a@x.io";
  d.country = "DE";
  auto c = (*ws)->CreateContact(d);
  ASSERT_THAT(c, IsOk());
  auto s = (*ws)->CreateSegment(SegmentOf(
      "de", {Cond("country", Operator::kEquals, {std::string("de")})}));
  ASSERT_THAT(s, IsOk());
  auto explained = (*ws)->ExplainMembership(s->record.id, c->id);
  ASSERT_THAT(explained, IsOk());
  EXPECT_TRUE(explained->member);
  EXPECT_TRUE(explained->filter.matches);
  ASSERT_EQ(explained->filter.conditions.size(), 1u);
  EXPECT_EQ(explained->filter.conditions[0].path, "filter.conditions[0]");
  EXPECT_EQ(explained->filter.conditions[0].field_values,
            std::vector<RawValue>{std::string("DE")});
  EXPECT_THAT((*ws)->ExplainMembership(s->record.id + 1, c->id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT((*ws)->ExplainMembership(s->record.id, c->id + 1),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT((*ws)->DeleteContact(c->id), IsOk());
  EXPECT_THAT((*ws)->ExplainMembership(s->record.id, c->id),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace segments::testing
