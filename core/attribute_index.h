// Inverted indexes over one workspace's contacts: for every rule field, which
// contacts hold which value. Segment builds and previews run on them with
// bitmap algebra instead of visiting every contact (SPEC §6 "build from
// attribute indexes, not a row scan").
//
// - strings: a bitmap per distinct lowercased value, plus "is set"; email,
//   unique per contact, is looked up in the ContactTable instead;
//   substring operators scan the dictionary of distinct values;
// - tags and enums: a bitmap per value;
// - numbers: an ordered map value -> bitmap;
// - timestamps: an ordered map day -> bitmap; a range's two boundary days
//   are checked contact by contact.
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex.
#ifndef SEGMENTS_CORE_ATTRIBUTE_INDEX_H_
#define SEGMENTS_CORE_ATTRIBUTE_INDEX_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "core/contact.h"
#include "core/contact_table.h"
#include "core/filter.h"
#include "roaring/roaring.hh"

namespace segments {

class AttributeIndex {
 public:
  // REQUIRES: `c` is not indexed yet (Add) / is indexed as it is (Remove).
  void Add(const Contact& c);
  void Remove(const Contact& c);

  // The contacts matching `filter` at `now`. `contacts` is the table this
  // index describes (for emails, and the boundary days of time ranges).
  Roaring Evaluate(const Filter& filter, UnixSeconds now,
                   const ContactTable& contacts) const;
  Roaring EvaluateCondition(const Condition& c, UnixSeconds now,
                            const ContactTable& contacts) const;
  // Every indexed contact.
  const Roaring& all() const { return all_; }

 private:
  struct StringIndex {
    absl::flat_hash_map<std::string, Roaring> by_value;  // lowercased value
    Roaring set;                                         // non-empty value
  };
  struct OrderedIndex {
    std::map<int64_t, Roaring> by_key;  // number, or day for timestamps
    Roaring set;
  };

  Roaring EvaluateString(const Condition& c) const;
  Roaring EvaluateEmail(const Condition& c, const ContactTable& contacts) const;
  Roaring EvaluateTags(const Condition& c) const;
  Roaring EvaluateEnum(const Condition& c) const;
  Roaring EvaluateNumber(const Condition& c) const;
  Roaring EvaluateTimestamp(const Condition& c, UnixSeconds now,
                            const ContactTable& contacts) const;
  const StringIndex& StringField(Field f) const;
  StringIndex& StringField(Field f);
  // Contacts whose key lies in [lo, hi] (inclusive).
  static Roaring Range(const OrderedIndex& index, int64_t lo, int64_t hi);

  std::array<StringIndex, 5>
      strings_;  // company, job_title, country, city, source
  absl::flat_hash_map<std::string, Roaring> tags_;
  Roaring tagged_;
  std::array<Roaring, 6> lifecycle_;   // by wire value
  std::array<Roaring, 4> trend_;       // by wire value; 0 = unset
  std::array<Roaring, 5> likelihood_;  // by wire value; 0 = unset
  OrderedIndex lead_score_;
  OrderedIndex engagement_score_;
  OrderedIndex created_day_;
  OrderedIndex last_engaged_day_;
  Roaring all_;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_ATTRIBUTE_INDEX_H_
