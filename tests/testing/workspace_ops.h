// Random operation sequences over a differential Harness
// (workspace_harness.h): which operations a sequence draws and how often,
// and the loop that runs and checks them.
#ifndef SEGMENTS_TESTS_TESTING_WORKSPACE_OPS_H_
#define SEGMENTS_TESTS_TESTING_WORKSPACE_OPS_H_

#include "gtest/gtest.h"
#include "tests/testing/random_data.h"
#include "tests/testing/workspace_harness.h"

namespace segments::testing {

// Segments for workspaces: fewer conditions than the predicate test, so that
// memberships are neither always empty nor always everyone.
FilterShape SegmentShape();
// The same, with nested groups and references to other segments (issue 14):
// chains, diamonds and NOT_IN_SEGMENT chains form as new segments refer to
// older ones and updates to any that does not reach them.
FilterShape ReferenceShape();

enum class Op {
  kCreateContact,
  kUpdateContact,
  kDeleteContact,
  kBatchUpsert,
  kCreateSegment,
  kUpdateSegment,
  kRenameSegment,
  kDeleteSegment,
  kSetPlan,
  kDuplicateEmail,
  kMissing,
  kAdvanceTime,
  kRestart,
  kBadReference,
};
const char* OpName(Op op);
// The writes, for the failed-commit test.
inline constexpr Op kWrites[] = {
    Op::kCreateContact, Op::kUpdateContact, Op::kDeleteContact,
    Op::kBatchUpsert,   Op::kCreateSegment, Op::kUpdateSegment,
    Op::kRenameSegment, Op::kDeleteSegment, Op::kSetPlan};

::testing::AssertionResult Do(Harness& h, Op op, bool fail);

struct SequenceOptions {
  int steps = 1500;
  int full_check_every = 60;
  // Which of the newer operations the sequence draws (the classic contact
  // and segment writes are always drawn).
  bool move_time = true;
  bool renames = true;
  bool plans = true;
  bool restarts = true;
  // Missing and cycle references (Harness::BadReference); for harnesses
  // over ReferenceShape().
  bool references = false;
};
// A random operation, keeping 40..2000 contacts and 5..60 segments.
Op RandomOp(Harness& h, const SequenceOptions& options);
// `options.steps` random operations, each followed by CheckCounts, with
// CheckEverything every `full_check_every` steps and CheckEverything plus
// CheckChangeLog after every restart and at the end.
::testing::AssertionResult RunSequence(Harness& h,
                                       const SequenceOptions& options);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_WORKSPACE_OPS_H_
