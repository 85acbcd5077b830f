// The distinct values of one string field, each with the contacts holding
// it, laid out for substring scans:
// - the values sit back to back in one contiguous arena (each followed by a
//   NUL separator), so CONTAINS is one memmem pass over the arena and
//   STARTS_WITH / ENDS_WITH one sequential pass over the offsets, instead of
//   a cache miss per value in hash-map slots; a hash set of slot numbers
//   (hashing and comparing the values where they lie in the arena) answers
//   exact lookups;
// - a value's contacts are a sorted array while there are few of them (most
//   values: 50,000 companies over 1M contacts hold about 13 each) and a
//   Roaring bitmap beyond that. A scan matching thousands of values then
//   reads thousands of small arrays instead of walking the containers of
//   thousands of bitmaps, which is what made such unions slow, and the small
//   arrays take a fraction of a bitmap's memory.
//
// A value whose last contact goes is left in the arena as a tombstone (no
// contacts, out of the hash set) and skipped by scans; once tombstones are
// at least half of the slots the arena is compacted. A value that comes back
// gets a new slot.
//
// Values are stored as given: the caller lowercases them (the index compares
// case-insensitively by lowercasing both sides).
//
// Thread-safety: none; the owner guards it.
#ifndef SEGMENTS_CORE_INDEX_VALUE_DICTIONARY_H_
#define SEGMENTS_CORE_INDEX_VALUE_DICTIONARY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "core/model/contact.h"
#include "core/model/field_catalog.h"
#include "roaring/roaring.hh"

namespace segments {

// Collects the contacts of several values and returns their union. Small
// arrays are scattered into a dense bit array once there are many of their
// ids (sorting them would cost more), bitmaps are unioned with
// Roaring::fastunion.
class UnionBuilder {
 public:
  // `max_id`: the largest id expected (sizes the bit array up front; larger
  // ids still work).
  explicit UnionBuilder(uint32_t max_id = 0) : max_id_(max_id) {}

  void AddIds(const std::vector<uint32_t>& sorted_ids);
  void AddBitmap(const Roaring* bitmap) { bitmaps_.push_back(bitmap); }
  // The union of everything added. Leaves the builder empty.
  Roaring Build();

 private:
  void SetBit(uint32_t id);

  uint32_t max_id_;
  std::vector<uint32_t> ids_;   // while few
  std::vector<uint64_t> bits_;  // after: bit i = contact i
  bool dense_ = false;
  std::vector<const Roaring*> bitmaps_;
};

// The contacts holding one value: a sorted array of at most kMaxSmall ids,
// else a bitmap (back to an array below kMaxSmall / 2, so that a value
// hovering at the limit does not convert on every change).
class Postings {
 public:
  static constexpr size_t kMaxSmall = 256;

  // Whether `id` was absent (Add) / present (Remove).
  bool Add(ContactId id);
  bool Remove(ContactId id);
  // Adds every id of `other`, which is consumed.
  void Merge(Postings&& other);
  size_t size() const;
  bool empty() const { return big_ == nullptr && small_.empty(); }
  void AddTo(UnionBuilder* out) const;
  Roaring ToRoaring() const;
  // The bitmap when the contacts are held as one, else null.
  const Roaring* bitmap() const { return big_.get(); }
  // The sorted ids while the contacts are held as an array (empty when
  // they are held as a bitmap).
  const std::vector<uint32_t>& small_ids() const { return small_; }
  // Asks the CPU to start loading the contacts (AddTo will read them).
  void Prefetch() const {
    if (big_ != nullptr) {
      __builtin_prefetch(big_.get());
    } else {
      __builtin_prefetch(small_.data());
    }
  }

 private:
  std::vector<uint32_t> small_;  // sorted; used while big_ is null
  std::unique_ptr<Roaring> big_;
};

class ValueDictionary {
 public:
  ValueDictionary();
  // Movable (the slots live behind a pointer the lookup table shares), not
  // copyable.
  ValueDictionary(ValueDictionary&&) = default;
  ValueDictionary& operator=(ValueDictionary&&) = default;

  // Adds `id` to the contacts holding `value`, adding the value if new.
  void Add(std::string_view value, ContactId id);
  // Add(values[i], ids[i]) for every i, in order. The lookups a few values
  // ahead are prefetched, so that their cache misses overlap (a restart
  // adds every contact's value of each string field, most of them a miss
  // into a dictionary of tens of thousands of values). REQUIRES: the spans
  // are as long.
  void AddAll(absl::Span<const std::string_view> values,
              absl::Span<const ContactId> ids);
  // Adds the contacts of every value of `other`, which is consumed: one
  // lookup per distinct value instead of one per contact.
  void Merge(ValueDictionary&& other);
  // Removes `id` from the contacts holding `value`; the value goes when no
  // contact holds it any more. Absent values and ids are ignored.
  void Remove(std::string_view value, ContactId id);

  // The contacts holding exactly `value`; null when none does.
  const Postings* Find(std::string_view value) const;
  // Adds to `out` the contacts of every value that contains (kContains),
  // starts with (kStartsWith) or ends with (kEndsWith) `needle`. An empty
  // needle matches every value. REQUIRES: `op` is one of those three.
  void CollectMatches(Operator op, std::string_view needle,
                      UnionBuilder* out) const;
  // Calls `fn(value, postings)` for every value, in slot order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (uint32_t s = 0; s < slots_->postings.size(); ++s) {
      if (!slots_->postings[s].empty())
        fn(slots_->ValueAt(s), slots_->postings[s]);
    }
  }

  // Distinct values held.
  size_t size() const { return lookup_.size(); }
  // Slots in the arena, tombstones included (for tests of compaction).
  size_t slots() const { return slots_->postings.size(); }

 private:
  struct Slots {
    std::string_view ValueAt(uint32_t slot) const {
      return std::string_view(arena.data() + start[slot],
                              start[slot + 1] - start[slot] - 1);
    }
    std::string arena;               // value, '\0', value, '\0', ...
    std::vector<uint32_t> start;     // slot -> offset in arena; one past last
    std::vector<Postings> postings;  // slot -> contacts; empty: tombstone
  };
  // A value looked up with its hash (SlotHash's of the value), hashed once
  // for a prefetch and the probe that follows.
  struct Probe {
    std::string_view value;
    size_t hash;
  };
  // The lookup table holds slot numbers and reads their values from the
  // arena (no second copy of every value), looked up by string_view.
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(uint32_t slot) const;
    size_t operator()(std::string_view value) const;
    size_t operator()(const Probe& p) const { return p.hash; }
    const Slots* slots;
  };
  struct SlotEq {
    using is_transparent = void;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view b) const {
      return slots->ValueAt(a) == b;
    }
    bool operator()(std::string_view a, uint32_t b) const {
      return a == slots->ValueAt(b);
    }
    bool operator()(uint32_t a, const Probe& b) const {
      return slots->ValueAt(a) == b.value;
    }
    bool operator()(const Probe& a, uint32_t b) const {
      return a.value == slots->ValueAt(b);
    }
    const Slots* slots;
  };

  // Adds the contacts of `slots` (ascending) to `out`, skipping tombstones.
  void AddSlots(const std::vector<uint32_t>& slots, UnionBuilder* out) const;
  // The postings of `value`, adding the value (with none) if new.
  Postings& PostingsOf(std::string_view value);
  Postings& PostingsOf(const Probe& probe);
  void Compact();

  std::unique_ptr<Slots> slots_;  // never null but when moved from
  absl::flat_hash_set<uint32_t, SlotHash, SlotEq> lookup_;  // live values
  size_t dead_ = 0;                                         // tombstones
};

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_VALUE_DICTIONARY_H_
