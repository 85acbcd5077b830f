// A deterministic synthetic marketing dataset for the benchmarks: contacts
// with realistic skew (Zipf-distributed countries, companies and tags, skewed
// lifecycle stages, roughly normal lead scores, unset optional fields, dates
// over three years) and segment filters of the kinds people build.
//
// Everything is a function of (seed, index): contact i is the same whatever
// else is generated, so a dataset can be produced chunk by chunk and a
// benchmark can ask for "contact 1,000,123" without holding the others. No
// std::*_distribution is used (their output is implementation-defined).
//
// Thread-safety: a ContactGenerator / SegmentGenerator is immutable after
// construction and may be shared.
#ifndef SEGMENTS_BENCH_DATASET_H_
#define SEGMENTS_BENCH_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/types.h"
#include "core/engine/workspace.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments::bench {

// The benchmarks' "now" (2024-06-01T00:00:00Z): every clock handed to a
// workspace or server in bench/ is a FakeClock at this time, so relative date
// rules select the same contacts on every run.
inline constexpr UnixSeconds kBenchNow = 1717200000;
inline constexpr int64_t kSecondsPerDay = 86400;
inline constexpr uint64_t kDefaultSeed = 20240601;

// splitmix64: small, fast, and identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, 1).
  double Unit();
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Standard normal (Box-Muller).
  double Normal();

 private:
  uint64_t state_;
};

// A different seed on every call (a process-wide counter, thread-safe).
// Google Benchmark calls a benchmark function once per trial run; a random
// stream restarted at each trial would replay the previous trial's writes,
// which the engine answers as no-ops without committing anything.
uint64_t FreshSeed();

// Samples ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1)^s.
class ZipfTable {
 public:
  ZipfTable(size_t n, double s);
  size_t Sample(Rng& rng) const;
  size_t size() const { return cdf_.size(); }

 private:
  std::vector<double> cdf_;
};

// Vocabularies (display case; the service lowercases where the spec says).
const std::vector<std::string>& Countries();  // 60, most popular first
const std::vector<std::string>& Sources();    // 8
const std::vector<std::string>& AllTags();    // 200
// The tag drawn most often is TagByRank(0), then TagByRank(1), ...
const std::string& TagByRank(size_t rank);
// Company `i` of kCompanyCount (distinct names) and its web domain.
inline constexpr size_t kCompanyCount = 50000;
std::string CompanyName(size_t i);
std::string CompanyDomain(size_t i);

class ContactGenerator {
 public:
  explicit ContactGenerator(uint64_t seed = kDefaultSeed);

  // Contact number `index` (0-based). Emails are unique per index.
  ContactDraft Make(uint64_t index) const;
  // Contacts [first, first + count).
  std::vector<ContactDraft> MakeRange(uint64_t first, size_t count) const;

  // A new value for one field, as the scoring system or a tagging workflow
  // would send it, drawn from `rng`.
  int64_t RandomLeadScore(Rng& rng) const;
  std::vector<std::string> RandomTags(Rng& rng) const;

 private:
  uint64_t seed_;
  ZipfTable countries_;
  ZipfTable companies_;
  ZipfTable job_titles_;
  ZipfTable tags_;
  ZipfTable free_mail_;
};

// Mixed segment filters: country EQUALS, tags HAS_ANY, lifecycle >= MQL,
// lead_score >= x, created_at WITHIN_LAST_DAYS, email ENDS_WITH, company
// CONTAINS, and multi-condition ALL / ANY groups, in a fixed rotation with
// parameters drawn from the seed. Display names are unique ("seg-<i>-...").
class SegmentGenerator {
 public:
  explicit SegmentGenerator(uint64_t seed = kDefaultSeed) : seed_(seed) {}
  SegmentDraft Make(uint64_t index) const;
  std::vector<SegmentDraft> MakeRange(uint64_t first, size_t count) const;

 private:
  uint64_t seed_;
};

// Condition builders (field name as in the rule catalog).
ConditionSpec Cond(std::string field, Operator op,
                   std::vector<RawValue> values);
FilterSpec AllOf(std::vector<ConditionSpec> conditions);
FilterSpec AnyOf(std::vector<ConditionSpec> conditions);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_DATASET_H_
