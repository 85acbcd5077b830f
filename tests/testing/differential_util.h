// Pieces shared by the differential tests (tests/core/differential_*_test.cc,
// tests/storage/differential_sqlite_test.cc): the fixed clock they start at,
// reproducible seeds, and failure messages that put core's predicate next to
// the brute force's, condition by condition.
#ifndef SEGMENTS_TESTS_TESTING_DIFFERENTIAL_UTIL_H_
#define SEGMENTS_TESTS_TESTING_DIFFERENTIAL_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "gtest/gtest.h"

// Returns a failed ::testing::AssertionResult from the enclosing function.
#define RETURN_IF_FAILED(expr)              \
  do {                                      \
    ::testing::AssertionResult r_ = (expr); \
    if (!r_) return r_;                     \
  } while (0)

namespace segments::testing {

// The tests' clock: an arbitrary instant (2023-11-14T22:13:20Z), not on a
// UTC midnight, since day rules count 86400 s back from `now`, not dates.
inline constexpr UnixSeconds kBase = 1'700'000'000;

inline constexpr int kOpWithinLastDays =
    static_cast<int>(Operator::kWithinLastDays);
inline constexpr int kOpMoreThanDaysAgo =
    static_cast<int>(Operator::kMoreThanDaysAgo);

// `fixed`, or shifted by SEGMENTS_DIFF_SEED=<n> to explore other sequences.
uint64_t Seed(uint64_t fixed);
// For SCOPED_TRACE: the seed a failure reproduces with.
std::string SeedTrace(uint64_t seed);

// Whether the condition is a relative date rule (WITHIN_LAST_DAYS,
// MORE_THAN_DAYS_AGO), read from the raw operator number.
bool IsRelative(const ConditionSpec& c);
// The timestamp a relative-date condition on `field` reads, if set.
std::optional<UnixSeconds> TimeOf(const Contact& c, const std::string& field);

// Per-condition answers of both evaluators, to point at the culprit.
std::string ExplainConditions(const FilterSpec& spec, const Contact& contact,
                              UnixSeconds now);
std::string ExplainMismatch(const FilterSpec& spec, const Contact& contact,
                            UnixSeconds now, bool want, bool got);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_DIFFERENTIAL_UTIL_H_
