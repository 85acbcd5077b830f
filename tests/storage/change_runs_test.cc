// Tests of storage/change_runs.cc: a run's contact ids after the first as
// zigzag varint deltas, expanded back into events; a blob that does not
// decode to exactly the run's events is refused without touching the output.
#include "storage/change_runs.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr ContactId kMaxId = std::numeric_limits<ContactId>::max();

MembershipChange First(uint64_t sequence, ContactId contact) {
  MembershipChange c;
  c.sequence = sequence;
  c.segment_id = 7;
  c.contact_id = contact;
  c.kind = ChangeKind::kLeft;
  c.cause = ChangeCause::kRulesChanged;
  c.time = 1'800'000'000;
  return c;
}

// The events of a run of `ids` starting at `sequence`.
std::vector<MembershipChange> Events(uint64_t sequence,
                                     const std::vector<ContactId>& ids) {
  std::vector<MembershipChange> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    out.push_back(First(sequence + i, ids[i]));
  }
  return out;
}

// Encodes `ids`, expands them again; the events, or the error.
std::vector<MembershipChange> RoundTrip(uint64_t sequence,
                                        const std::vector<ContactId>& ids) {
  std::string blob;
  EncodeMoreContactIds(ids, &blob);
  std::vector<MembershipChange> out;
  const std::string problem = ExpandRun(First(sequence, ids.front()),
                                        sequence + ids.size() - 1, blob, &out);
  EXPECT_EQ(problem, "");
  return out;
}

TEST(ChangeRuns, ASingleEventHasAnEmptyBlob) {
  std::string blob = "stale";
  EncodeMoreContactIds({42}, &blob);
  EXPECT_THAT(blob, IsEmpty());
  EXPECT_THAT(RoundTrip(5, {42}), ElementsAreArray(Events(5, {42})));
}

TEST(ChangeRuns, RoundTrips) {
  const std::vector<std::vector<ContactId>> runs = {
      {1, 2, 3, 4},                         // the usual: consecutive ids
      {10, 9, 8, 1},                        // descending
      {1, kMaxId, 1, kMaxId},               // the largest gaps both ways
      {kMaxId, kMaxId - 1, kMaxId},         // at the top of the range
      {5, 5, 5},                            // repeated (delta 0)
      {100, 163, 164, 228, 100000, 99937},  // deltas around varint widths
  };
  for (const std::vector<ContactId>& ids : runs) {
    EXPECT_THAT(RoundTrip(1000, ids), ElementsAreArray(Events(1000, ids)))
        << ::testing::PrintToString(ids);
  }
  std::vector<ContactId> many;
  for (ContactId id = 1; id <= 10000; ++id) many.push_back(id * 3 % 10007 + 1);
  EXPECT_THAT(RoundTrip(1, many), ElementsAreArray(Events(1, many)));
}

// Small deltas take one byte each: that is what makes runs compact.
TEST(ChangeRuns, ConsecutiveIdsTakeOneByteEach) {
  std::vector<ContactId> ids;
  for (ContactId id = 1000; id < 2000; ++id) ids.push_back(id);
  std::string blob;
  EncodeMoreContactIds(ids, &blob);
  EXPECT_EQ(blob.size(), ids.size() - 1);
  EXPECT_EQ(blob, std::string(ids.size() - 1, '\x02'));  // zigzag(+1) = 2
  EncodeMoreContactIds({10, 9}, &blob);
  EXPECT_EQ(blob, "\x01");  // zigzag(-1) = 1
  EncodeMoreContactIds({1, 65}, &blob);
  EXPECT_EQ(blob, std::string("\x80\x01", 2));  // zigzag(+64) = 128
}

TEST(ChangeRuns, AppendsToTheOutput) {
  std::vector<MembershipChange> out = Events(1, {9});
  std::string blob;
  EncodeMoreContactIds({3, 4}, &blob);
  EXPECT_EQ(ExpandRun(First(2, 3), 3, blob, &out), "");
  EXPECT_THAT(out, ElementsAreArray(Events(1, {9, 3, 4})));
}

// Each refusal leaves `out` as it was.
class ExpandRunRefuses : public ::testing::Test {
 protected:
  std::string Expand(uint64_t first_sequence, ContactId first_contact,
                     uint64_t last_sequence, const std::string& blob) {
    out_ = Events(1, {77});
    const std::string problem = ExpandRun(First(first_sequence, first_contact),
                                          last_sequence, blob, &out_);
    EXPECT_THAT(out_, ElementsAreArray(Events(1, {77})));
    return problem;
  }
  std::vector<MembershipChange> out_;
};

TEST_F(ExpandRunRefuses, LastSequenceBeforeFirst) {
  EXPECT_THAT(Expand(10, 1, 9, ""), HasSubstr("before first_sequence"));
}

TEST_F(ExpandRunRefuses, FewerIdsThanSequences) {
  std::string blob;
  EncodeMoreContactIds({1, 2, 3}, &blob);
  EXPECT_THAT(Expand(10, 1, 13, blob), HasSubstr("fewer ids"));
  EXPECT_THAT(Expand(10, 1, 11, ""), HasSubstr("fewer ids"));
}

TEST_F(ExpandRunRefuses, MoreIdsThanSequences) {
  std::string blob;
  EncodeMoreContactIds({1, 2, 3}, &blob);
  EXPECT_THAT(Expand(10, 1, 11, blob), HasSubstr("more ids"));
  EXPECT_THAT(Expand(10, 1, 10, blob), HasSubstr("more ids"));
  EXPECT_THAT(Expand(10, 1, 10, std::string(1, '\0')), HasSubstr("more ids"));
}

TEST_F(ExpandRunRefuses, AVarintCutShort) {
  // A continuation bit on the last byte: the varint never ends.
  EXPECT_THAT(Expand(10, 1, 11, "\x82"), HasSubstr("fewer ids"));
  EXPECT_THAT(Expand(10, 1, 12, std::string("\x02\x80\x80", 3)),
              HasSubstr("fewer ids"));
}

TEST_F(ExpandRunRefuses, AVarintLongerThan64Bits) {
  // Ten continuation bytes and a terminator: 77 bits.
  EXPECT_THAT(Expand(10, 1, 11, std::string(10, '\xff') + '\x01'),
              HasSubstr("fewer ids"));
}

TEST_F(ExpandRunRefuses, IdsOutOfRange) {
  // 1 - 1 = 0: not a contact id.
  EXPECT_THAT(Expand(10, 1, 11, "\x01"), HasSubstr("out of range"));
  // Below 0.
  EXPECT_THAT(Expand(10, 1, 11, "\x03"), HasSubstr("out of range"));
  // kMaxId + 1.
  EXPECT_THAT(Expand(10, kMaxId, 11, "\x02"), HasSubstr("out of range"));
  // A valid id first, then one out of range.
  EXPECT_THAT(Expand(10, 5, 12, std::string("\x02\x7f", 2)),
              HasSubstr("out of range"));
}

// Deltas so large that adding them to the current id would overflow 64
// bits are refused too (checked before the addition).
TEST_F(ExpandRunRefuses, HugeDeltas) {
  // zigzag 2^64 - 2, a delta of 2^63 - 1.
  const std::string max_up = "\xfe" + std::string(8, '\xff') + "\x01";
  // zigzag 2^64 - 1, a delta of -2^63.
  const std::string max_down = std::string(9, '\xff') + "\x01";
  EXPECT_THAT(Expand(10, 1, 11, max_up), HasSubstr("out of range"));
  EXPECT_THAT(Expand(10, kMaxId, 11, max_up), HasSubstr("out of range"));
  EXPECT_THAT(Expand(10, 1, 11, max_down), HasSubstr("out of range"));
  EXPECT_THAT(Expand(10, kMaxId, 11, max_down), HasSubstr("out of range"));
}

}  // namespace
}  // namespace segments
