#include "core/analytics/distribution.h"

#include <cmath>
#include <optional>

#include "core/analytics/dense_set.h"

namespace segments::analytics {

KeyDistribution::KeyDistribution(const std::map<int64_t, Roaring>& postings,
                                 const Roaring* base) {
  counts_.reserve(postings.size());
  // Hundreds of small postings (a day's contacts) against one base: bit
  // tests against the base as a bit array, not a merge per container.
  std::optional<DenseSet> dense;
  if (base != nullptr) dense.emplace(*base);
  for (const auto& [key, contacts] : postings) {
    const uint64_t n = base == nullptr ? contacts.cardinality()
                                       : dense->AndCardinality(contacts);
    if (n == 0) continue;
    counts_.emplace_back(key, n);
    total_ += n;
  }
}

std::optional<int64_t> KeyDistribution::Percentile(double p) const {
  if (total_ == 0) return std::nullopt;
  // Nearest rank: the ceil(p/100 * n)-th contact in key order (at least 1).
  const double exact = std::ceil(p / 100.0 * static_cast<double>(total_));
  const uint64_t rank = exact < 1 ? 1 : static_cast<uint64_t>(exact);
  uint64_t seen = 0;
  for (const auto& [key, n] : counts_) {
    seen += n;
    if (seen >= rank) return key;
  }
  return counts_.back().first;
}

}  // namespace segments::analytics
