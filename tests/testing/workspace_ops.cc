#include "tests/testing/workspace_ops.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/differential_util.h"

namespace segments::testing {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

FilterShape SegmentShape() {
  FilterShape shape;
  shape.single_percent = 45;
  shape.many_percent = 4;
  return shape;
}

FilterShape ReferenceShape() {
  FilterShape shape = SegmentShape();
  shape.group_percent = 20;
  shape.reference_percent = 35;
  return shape;
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kCreateContact:
      return "CreateContact";
    case Op::kUpdateContact:
      return "UpdateContact";
    case Op::kDeleteContact:
      return "DeleteContact";
    case Op::kBatchUpsert:
      return "BatchUpsert";
    case Op::kCreateSegment:
      return "CreateSegment";
    case Op::kUpdateSegment:
      return "UpdateSegment";
    case Op::kRenameSegment:
      return "RenameSegment";
    case Op::kDeleteSegment:
      return "DeleteSegment";
    case Op::kSetPlan:
      return "SetPlan";
    case Op::kDuplicateEmail:
      return "DuplicateEmail";
    case Op::kMissing:
      return "Missing";
    case Op::kAdvanceTime:
      return "AdvanceTime";
    case Op::kRestart:
      return "Restart";
    case Op::kBadReference:
      return "BadReference";
  }
  return "?";
}

AssertionResult Do(Harness& h, Op op, bool fail) {
  switch (op) {
    case Op::kCreateContact:
      return h.CreateContact(fail);
    case Op::kUpdateContact:
      return h.UpdateContact(fail);
    case Op::kDeleteContact:
      return h.DeleteContact(fail);
    case Op::kBatchUpsert:
      return h.BatchUpsert(fail, static_cast<size_t>(h.rd().Uniform(1, 40)));
    case Op::kCreateSegment:
      return h.CreateSegment(fail);
    case Op::kUpdateSegment:
      return h.UpdateSegment(fail);
    case Op::kRenameSegment:
      return h.RenameSegment(fail);
    case Op::kDeleteSegment:
      return h.DeleteSegment(fail);
    case Op::kSetPlan:
      return h.SetPlan(fail);
    case Op::kDuplicateEmail:
      return h.CreateDuplicateEmail();
    case Op::kMissing:
      return h.Missing();
    case Op::kAdvanceTime:
      return h.AdvanceTime(fail);
    case Op::kRestart:
      return h.Restart();
    case Op::kBadReference:
      return h.BadReference();
  }
  return AssertionFailure() << "unknown op";
}

Op RandomOp(Harness& h, const SequenceOptions& o) {
  for (;;) {
    const int64_t r = h.rd().Uniform(0, 99);
    Op op = r < 12               ? Op::kCreateContact
            : r < 40             ? Op::kUpdateContact
            : r < 48             ? Op::kDeleteContact
            : r < 56             ? Op::kBatchUpsert
            : r < 64             ? Op::kCreateSegment
            : r < 72             ? Op::kUpdateSegment
            : r < 78             ? Op::kRenameSegment
            : r < 83             ? Op::kDeleteSegment
            : r < 84             ? Op::kSetPlan
            : r < 88             ? Op::kDuplicateEmail
            : r < 90             ? Op::kMissing
            : r < 99             ? Op::kAdvanceTime
            : h.rd().Percent(50) ? Op::kRestart
                                 : Op::kAdvanceTime;
    // One op in fifty of the reference sequences: a missing or cycle
    // reference (drawn only there, so flat sequences stay as they were).
    if (o.references && op == Op::kMissing && h.rd().Percent(50))
      op = Op::kBadReference;
    if ((op == Op::kAdvanceTime && !o.move_time) ||
        (op == Op::kRenameSegment && !o.renames) ||
        (op == Op::kSetPlan && !o.plans) ||
        (op == Op::kRestart && !o.restarts)) {
      continue;
    }
    // A lower plan refuses most new rules: go back up more often than not.
    if (op == Op::kCreateSegment && h.plan() != Plan::kPro &&
        h.rd().Percent(15)) {
      op = Op::kSetPlan;
    }
    if (op == Op::kDeleteContact && h.contact_count() < 40)
      op = Op::kCreateContact;
    if ((op == Op::kCreateContact || op == Op::kBatchUpsert) &&
        h.contact_count() > 2000) {
      op = Op::kDeleteContact;
    }
    if (op == Op::kDeleteSegment && h.segment_count() < 5)
      op = Op::kCreateSegment;
    if (op == Op::kCreateSegment && h.segment_count() > 60)
      op = Op::kUpdateSegment;
    return op;
  }
}

AssertionResult RunSequence(Harness& h, const SequenceOptions& o) {
  for (int step = 0; step < o.steps; ++step) {
    const Op op = RandomOp(h, o);
    // A timer run may meet a failing commit (AdvanceTime decides when);
    // the other writes fail in FailedCommitChangesNothing.
    const AssertionResult done =
        Do(h, op, op == Op::kAdvanceTime && h.can_fail());
    if (!done) {
      return AssertionFailure()
             << "step " << step << " " << OpName(op) << " (now=" << h.now()
             << "): " << done.message();
    }
    AssertionResult checked = h.CheckCounts();
    if (checked && (op == Op::kRestart ||
                    step % o.full_check_every == o.full_check_every - 1)) {
      checked = h.CheckEverything();
    }
    if (checked && op == Op::kRestart) checked = h.CheckChangeLog();
    if (!checked) {
      // The change log often says which write went wrong.
      std::string log;
      if (op != Op::kRestart) {
        const AssertionResult logged = h.CheckChangeLog();
        if (!logged) log = absl::StrCat("\nchange log: ", logged.message());
      }
      return AssertionFailure()
             << "after step " << step << " " << OpName(op)
             << " (now=" << h.now() << "): " << checked.message() << log;
    }
  }
  RETURN_IF_FAILED(h.CheckEverything());
  return h.CheckChangeLog();
}

}  // namespace segments::testing
