// Deterministic random contacts and filters for the differential tests.
//
// Contacts draw their strings from small shared vocabularies (so conditions
// match often enough to mean something), in random case, with surrounding
// whitespace, unset fields and boundary values (int32 extremes, 0/100
// engagement, 256-byte strings, 64-byte tags, 100 tags, timestamp extremes).
// Timestamps sit on whole days around a base time, +-1 s, so that relative
// date rules are tested exactly at their day boundaries.
//
// Filters are VALID by construction: every (field, operator) pair comes from
// core's rule catalog (AllFields()), the values from this file's own reading
// of rules-semantics.md. Everything is a function of the seed (no
// std::*_distribution, whose output is implementation-defined).
#ifndef SEGMENTS_TESTS_TESTING_RANDOM_DATA_H_
#define SEGMENTS_TESTS_TESTING_RANDOM_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/base/ids.h"
#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments::testing {

inline constexpr int64_t kDay = 86400;

// A (field name, operator number) pair the catalog allows.
struct FieldOp {
  std::string field;
  int op;
};

// Every pair of core's rule catalog, in catalog order.
std::vector<FieldOp> CatalogPairs();

// Proto names of the contact fields a field mask may name ("id" excluded).
const std::vector<std::string>& ContactFieldNames();

struct FilterShape {
  size_t max_conditions = 50;
  // Percent of filters with a single condition; most others get 2-4.
  int single_percent = 35;
  // Percent of filters with many (5..max) conditions.
  int many_percent = 12;
  // Nested groups and references (issue 14). Each condition is a group
  // (of 1-4 leaves) with `group_percent` while the depth allows
  // (`max_depth`, the filter being level 1); each leaf refers to one of the
  // candidate segments with `reference_percent`, half of them NOT_IN_SEGMENT.
  // Zero for both gives the flat filters, drawing exactly what they drew
  // before.
  int group_percent = 0;
  int reference_percent = 0;
  int max_depth = 4;
};

class RandomData {
 public:
  // Timestamps are generated around `base` (the tests' clock).
  RandomData(uint64_t seed, UnixSeconds base);

  uint64_t Next();
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Uniform(int64_t lo, int64_t hi);
  // True with probability percent/100.
  bool Percent(int percent);
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(
        Uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }

  UnixSeconds base() const { return base_; }
  // base - d days + small delta (mostly -1, 0, +1 s), sometimes the extremes.
  UnixSeconds Timestamp();
  // A clock reading near base: mostly base + {-1, 0, 1}.
  UnixSeconds Now();
  // A day count for WITHIN_LAST_DAYS / MORE_THAN_DAYS_AGO (1..3650).
  int64_t Days();

  // A new email, unique among those this object made, in random case with
  // occasional surrounding whitespace (so it normalizes to a unique value).
  std::string NewEmail();
  // `normalized_email` in another random case, maybe padded.
  std::string EmailVariant(const std::string& normalized_email);
  // Normalized forms of every email NewEmail() returned.
  const std::vector<std::string>& emails() const { return emails_; }

  // A valid draft with `email`.
  ContactDraft Draft(std::string email);
  ContactDraft Draft() { return Draft(NewEmail()); }
  // A random update mask: empty (= every field) sometimes, else a non-empty
  // subset of ContactFieldNames().
  std::vector<std::string> ContactMask();

  FilterSpec Filter(const FilterShape& shape = FilterShape());
  // The same, with references to `references` (segment ids) where the
  // shape asks for them; the leaves over the whole tree are what Filter()
  // would give a flat filter.
  FilterSpec Filter(const FilterShape& shape,
                    const std::vector<SegmentId>& references);
  ConditionSpec Condition();
  ConditionSpec Condition(const FieldOp& pair);

  // Mixed-case copy: each ASCII letter flipped with probability 1/2.
  std::string RandomCase(std::string_view s);
  // Adds spaces/tabs around `s` sometimes, never beyond `max_bytes`.
  std::string MaybePad(std::string s, size_t max_bytes);

 private:
  std::string StringFieldValue(const std::string& field);
  std::string ListValue(const std::string& field);
  std::string SubstringValue(const std::string& field, int op);
  std::string TagValue();
  int64_t NumberValue(const std::string& field);
  RawValue EnumValue(const std::vector<std::string_view>& names);
  // `leaves` conditions at `level` under `match` (groups while allowed).
  FilterSpec Tree(const FilterShape& shape,
                  const std::vector<SegmentId>& references, int match,
                  int level, int64_t leaves);
  ConditionSpec Leaf(const FilterShape& shape,
                     const std::vector<SegmentId>& references);

  uint64_t state_;
  const UnixSeconds base_;
  std::vector<FieldOp> pairs_;
  std::vector<std::string> emails_;
  uint64_t email_counter_ = 0;
};

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_RANDOM_DATA_H_
