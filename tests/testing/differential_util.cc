#include "tests/testing/differential_util.h"

#include <cstdlib>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/index/evaluator.h"
#include "tests/testing/brute_force.h"

namespace segments::testing {

uint64_t Seed(uint64_t fixed) {
  const char* env = std::getenv("SEGMENTS_DIFF_SEED");
  if (env == nullptr || *env == '\0') return fixed;
  return fixed + std::strtoull(env, nullptr, 10) * 1000003;
}

std::string SeedTrace(uint64_t seed) {
  return absl::StrCat("seed=", seed,
                      " (rerun with the same build to reproduce)");
}

bool IsRelative(const ConditionSpec& c) {
  return c.op == kOpWithinLastDays || c.op == kOpMoreThanDaysAgo;
}

std::optional<UnixSeconds> TimeOf(const Contact& c, const std::string& field) {
  if (field == "created_at") return c.created_at;
  return c.last_engaged_at;
}

std::string ExplainConditions(const FilterSpec& spec, const Contact& contact,
                              UnixSeconds now) {
  auto filter = ValidateFilter(spec, "filter");
  std::string out;
  for (size_t i = 0; i < spec.conditions.size(); ++i) {
    bool want = BruteForceConditionMatches(spec.conditions[i], contact, now);
    std::string got = "?";
    if (filter.ok() && filter->conditions.size() == spec.conditions.size()) {
      got = ConditionMatches(filter->conditions[i], contact, now) ? "true"
                                                                  : "false";
    }
    absl::StrAppend(&out, "\n  [", i, "] ",
                    DescribeCondition(spec.conditions[i]), ": brute force ",
                    want ? "true" : "false", ", core ", got,
                    want == (got == "true") ? "" : "   <== differs");
  }
  return out;
}

std::string ExplainMismatch(const FilterSpec& spec, const Contact& contact,
                            UnixSeconds now, bool want, bool got) {
  return absl::StrCat(
      "now=", now, "\nfilter: ", DescribeFilter(spec),
      "\ncontact: ", DescribeContact(contact), "\nbrute force: ", want,
      ", core: ", got,
      "\nper condition:", ExplainConditions(spec, contact, now));
}

}  // namespace segments::testing
