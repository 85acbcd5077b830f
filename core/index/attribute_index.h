// Inverted indexes over one workspace's contacts: for every rule field, which
// contacts hold which value. Segment builds and previews run on them with
// bitmap algebra instead of visiting every contact (SPEC §6 "build from
// attribute indexes, not a row scan").
//
// - strings: the contacts of each distinct lowercased value, plus "is set",
//   in a ValueDictionary (values in one contiguous arena; contacts as a
//   small sorted array or a bitmap); substring operators scan the
//   dictionary of distinct values, not the contacts;
// - email: unique per contact, so EQUALS / IN look it up in the
//   ContactLookup (core/contact_lookup.h); a ValueDictionary of domains (the
//   part after the '@') answers the substring operators, reading emails only
//   where the needle reaches into the local part (see EmailSubstring);
// - tags and enums: a bitmap per value;
// - numbers: an ordered map value -> bitmap;
// - timestamps: an ordered map day -> bitmap; a range's two boundary days
//   are checked contact by contact.
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex.
#ifndef SEGMENTS_CORE_INDEX_ATTRIBUTE_INDEX_H_
#define SEGMENTS_CORE_INDEX_ATTRIBUTE_INDEX_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "core/index/contact_lookup.h"
#include "core/index/references.h"
#include "core/index/value_dictionary.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "roaring/roaring.hh"

namespace segments {

class AttributeIndex {
 public:
  // REQUIRES: `c` is not indexed yet (Add) / is indexed as it is (Remove);
  // `c` is a normalized contact (core/contact.h), in particular its email
  // is lowercase with exactly one '@' and a non-empty local part, and its
  // tags are sorted and unique.
  void Add(const Contact& c);
  void Remove(const Contact& c);
  // Add of every contact of `batch`, field by field: each field's index then
  // stays in cache for the whole batch instead of competing with all the
  // others for every contact (a restart's load, in batches of about a
  // thousand contacts, is much faster this way).
  void AddBatch(absl::Span<const Contact> batch);
  void AddBatch(absl::Span<const Contact* const> batch);
  // Adds every contact `other` indexes, consuming `other`: a batch of new
  // contacts indexed on its own (to match them against the segments) joins
  // the workspace's index at the cost of one step per distinct value, not
  // per contact and field. REQUIRES: no contact of `other` is indexed here.
  void Merge(AttributeIndex&& other);
  // AddBatch on two threads, each indexing half of the fields: for a big
  // batch while nothing else needs the other core.
  void AddBatchConcurrently(absl::Span<const Contact* const> batch);
  // AddBatch of the fields in `fields` only: AddBatch is AddBatchFields of
  // every field, in any grouping, each field once. The contacts themselves
  // (all()) go in with the email field. Each field's index is its own, so
  // two threads may add disjoint sets of fields of a batch at once (the
  // load shares the fields between its threads, ContactLoader).
  void AddBatchFields(absl::Span<const Contact* const> batch,
                      ContactFieldSet fields);
  // Re-indexes a changed contact: the same as Remove(before) + Add(after),
  // but touches only the fields in `changed` (and of those only the ones
  // whose indexed value differs). REQUIRES: `before` is indexed as it is,
  // before.id == after.id, and the fields outside `changed` are equal.
  void Update(const Contact& before, const Contact& after,
              ContactFieldSet changed);

  // The contacts matching `filter` at `now`. `contacts` holds the contacts
  // this index describes (for emails, and the boundary days of time ranges).
  // Nested groups are evaluated in place; references read `refs`' bitmaps
  // (none without it: a filter with references needs one).
  // Not run-optimized: a caller that keeps the bitmap optimizes it.
  Roaring Evaluate(const Filter& filter, UnixSeconds now,
                   const ContactLookup& contacts,
                   const ReferenceBitmaps* refs = nullptr) const;
  Roaring EvaluateCondition(const Condition& c, UnixSeconds now,
                            const ContactLookup& contacts,
                            const ReferenceBitmaps* refs = nullptr) const;
  // Every indexed contact.
  const Roaring& all() const { return all_; }

  // Read-only views of the postings, for aggregates over them
  // (core/analytics/: a breakdown or a distribution is intersection
  // cardinalities with these, never a visit of contacts). Valid until the
  // index next changes.
  // The distinct lowercased values of string field `f` with their contacts.
  // REQUIRES: `f` is company, job_title, country, city or source.
  const ValueDictionary& StringValues(Field f) const {
    return StringField(f).by_value;
  }
  // The contacts holding a value of string field `f`, or (kTags) at least
  // one tag.
  const Roaring& ContactsWithValue(Field f) const {
    return f == Field::kTags ? tagged_ : StringField(f).set;
  }
  // Each tag's contacts.
  const absl::flat_hash_map<std::string, Roaring>& TagPostings() const {
    return tags_;
  }
  // The contacts of each value of enum field `f` (lifecycle_stage,
  // engagement_trend or conversion_likelihood), by wire value; slot 0 holds
  // the contacts whose value is unset (always empty for lifecycle_stage).
  absl::Span<const Roaring> EnumPostings(Field f) const;
  // Number field `f` (lead_score, engagement_score): value -> contacts;
  // timestamp field `f` (created_at, last_engaged_at): UTC day number
  // (seconds / 86400, rounded down) -> contacts. Only keys held by some
  // contact are present.
  const std::map<int64_t, Roaring>& OrderedPostings(Field f) const;

  // The contacts whose timestamp `field` (kCreatedAt or kLastEngagedAt) lies
  // in [lo, hi] (inclusive), to the second: the whole days inside from the
  // index, the two boundary days checked contact by contact in `contacts`.
  Roaring ContactsWithTimestampIn(Field field, UnixSeconds lo, UnixSeconds hi,
                                  const ContactLookup& contacts) const;
  // The smallest value of timestamp `field` greater than `after` that any
  // contact holds, if one does. Reads the first day holding such a value.
  std::optional<UnixSeconds> NextTimestampAfter(
      Field field, UnixSeconds after, const ContactLookup& contacts) const;

 private:
  struct StringIndex {
    ValueDictionary by_value;  // lowercased value
    Roaring set;               // non-empty value
  };
  struct OrderedIndex {
    std::map<int64_t, Roaring> by_key;  // number, or day for timestamps
    Roaring set;
  };

  Roaring EvaluateString(const Condition& c) const;
  Roaring EvaluateEmail(const Condition& c,
                        const ContactLookup& contacts) const;
  Roaring EmailSubstring(Operator op, std::string_view needle,
                         const ContactLookup& contacts) const;
  // Indexes fields [first, end) of every contact of `batch`.
  void AddFields(absl::Span<const Contact* const> batch, int first, int end);
  // Field `f` of every contact of `batch`.
  void AddField(ContactField f, absl::Span<const Contact* const> batch);
  // The ids of `batch` into `bitmap`, in one addMany.
  static void AddIds(absl::Span<const Contact* const> batch, Roaring* bitmap);
  // Adds (or removes) `c`'s value of field `f` to (from) its index.
  void IndexField(ContactField f, const Contact& c, bool add);
  Roaring EvaluateTags(const Condition& c) const;
  Roaring EvaluateEnum(const Condition& c) const;
  Roaring EvaluateNumber(const Condition& c) const;
  Roaring EvaluateTimestamp(const Condition& c, UnixSeconds now,
                            const ContactLookup& contacts) const;
  const StringIndex& StringField(Field f) const;
  StringIndex& StringField(Field f);
  // Contacts whose key lies in [lo, hi] (inclusive).
  static Roaring Range(const OrderedIndex& index, int64_t lo, int64_t hi);
  const OrderedIndex& TimestampIndex(Field field) const;

  std::array<StringIndex, 5>
      strings_;              // company, job_title, country, city, source
  ValueDictionary domains_;  // email domain (after the '@') -> contacts
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

#endif  // SEGMENTS_CORE_INDEX_ATTRIBUTE_INDEX_H_
