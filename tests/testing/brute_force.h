// A reference evaluator for the rule language, written from SPEC §3-§4 and
// the lead's rules-semantics notes only, as plainly as possible (lowercase
// copies, explicit loops), in the style of CRoaring's tests/roaring_checked.hh.
// It reads the caller's raw FilterSpec, never core's validated Condition, so
// the differential tests compare two independent readings of the spec.
//
// REQUIRES throughout: the FilterSpec is valid (the tests check that core's
// ValidateFilter accepts it first). An operator or field this reference does
// not know is reported as a gtest failure and evaluates to false.
#ifndef SEGMENTS_TESTS_TESTING_BRUTE_FORCE_H_
#define SEGMENTS_TESTS_TESTING_BRUTE_FORCE_H_

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/ids.h"
#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments::testing {

// The kinds of rule field, as rules-semantics.md describes them.
enum class RefKind { kString, kTags, kOrderedEnum, kEnum, kNumber, kTimestamp };

// One rule field as the reference understands it: its kind, whether it can be
// unset, its enum names in wire order (index 0 = wire value 1) and the
// operator numbers rules-semantics.md lists for it.
struct RefField {
  std::string_view name;
  RefKind kind;
  bool optional;
  std::vector<std::string_view> enum_names;
  std::set<int> ops;
  bool smart;  // needs GROWTH
};

// Every rule field of rules-semantics.md.
const std::vector<RefField>& ReferenceFields();
// nullptr when `name` is not a rule field.
const RefField* FindReferenceField(std::string_view name);

// ASCII-only helpers (bytes >= 0x80 are left alone).
std::string RefLower(std::string_view s);
// Strips " \t\n\v\f\r" from both ends.
std::string RefTrim(std::string_view s);

bool BruteForceConditionMatches(const ConditionSpec& condition,
                                const Contact& contact, UnixSeconds now);
// Nested groups are evaluated in place. A filter with references
// (IN_SEGMENT / NOT_IN_SEGMENT) needs `in_segment`: whether the contact is
// a member of the segment it names.
bool BruteForceMatches(const FilterSpec& filter, const Contact& contact,
                       UnixSeconds now);
bool BruteForceMatches(const FilterSpec& filter, const Contact& contact,
                       UnixSeconds now,
                       const std::function<bool(SegmentId)>& in_segment);

// The contact a VALID draft yields: starting from `*before` (nullptr for a
// new contact, which starts from the defaults), every field named in
// `fields` (all when empty; proto field names) is replaced by the draft's
// normalized value. created_at: the draft's when it has one, else `now` for
// a new contact, else unchanged. The id is taken from `*before` (0 if new).
Contact ReferenceApplyDraft(const ContactDraft& draft,
                            const std::vector<std::string>& fields,
                            const Contact* before, UnixSeconds now);

// Human-readable dumps for failure messages.
std::string DescribeContact(const Contact& c);
std::string DescribeDraft(const ContactDraft& d);
std::string DescribeCondition(const ConditionSpec& c);
std::string DescribeFilter(const FilterSpec& f);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_BRUTE_FORCE_H_
