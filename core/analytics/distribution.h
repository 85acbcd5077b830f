// Distributions of a numeric or date field over a set of contacts, read
// from the attribute index's ordered postings (value or UTC day -> contacts)
// by intersection cardinalities: the cost follows the distinct keys, not
// the contacts.
//
// Thread-safety: none; the caller holds the index still while it reads.
#ifndef SEGMENTS_CORE_ANALYTICS_DISTRIBUTION_H_
#define SEGMENTS_CORE_ANALYTICS_DISTRIBUTION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "roaring/roaring.hh"

namespace segments::analytics {

// How many contacts of a base set hold each key, ascending by key.
class KeyDistribution {
 public:
  // The keys of `postings` held by members of `base` (null: every contact
  // of the postings), with their counts.
  KeyDistribution(const std::map<int64_t, Roaring>& postings,
                  const Roaring* base);

  // Contacts counted (those of the base holding some key).
  uint64_t total() const { return total_; }
  // The nearest-rank percentile: the smallest key k such that at least
  // p percent of the contacts counted hold a key <= k. nullopt when none
  // are counted. REQUIRES: 0 < p <= 100.
  std::optional<int64_t> Percentile(double p) const;

 private:
  std::vector<std::pair<int64_t, uint64_t>> counts_;  // ascending key
  uint64_t total_ = 0;
};

}  // namespace segments::analytics

#endif  // SEGMENTS_CORE_ANALYTICS_DISTRIBUTION_H_
