#include "core/index/value_dictionary.h"

#include <string.h>  // memmem (a GNU extension, in glibc)

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "core/base/ascii.h"

namespace segments {
namespace {

// Compaction waits for this many tombstones, so that a dictionary that
// shrinks and grows around a small size does not rebuild on every removal.
constexpr size_t kMinTombstonesToCompact = 16;

// Up to this many ids a UnionBuilder keeps a list (sorted at the end);
// beyond, a dense bit array (zeroing and reading it back costs a pass over
// max_id / 64 words, cheaper than sorting that many ids).
constexpr size_t kDenseAfter = 4096;

}  // namespace

void UnionBuilder::AddIds(const std::vector<uint32_t>& sorted_ids) {
  if (!dense_) {
    if (ids_.size() + sorted_ids.size() <= kDenseAfter) {
      ids_.insert(ids_.end(), sorted_ids.begin(), sorted_ids.end());
      return;
    }
    dense_ = true;
    bits_.resize(max_id_ / 64 + 1);
    for (uint32_t id : ids_) SetBit(id);
    ids_.clear();
  }
  for (uint32_t id : sorted_ids) SetBit(id);
}

void UnionBuilder::SetBit(uint32_t id) {
  const size_t word = id >> 6;
  if (word >= bits_.size()) bits_.resize(std::max(word + 1, 2 * bits_.size()));
  bits_[word] |= uint64_t{1} << (id & 63);
}

Roaring UnionBuilder::Build() {
  Roaring listed;
  if (dense_) {
    std::vector<uint32_t> ids;
    for (size_t w = 0; w < bits_.size(); ++w) {
      for (uint64_t word = bits_[w]; word != 0; word &= word - 1) {
        ids.push_back(static_cast<uint32_t>(w * 64 + __builtin_ctzll(word)));
      }
    }
    listed.addMany(ids.size(), ids.data());
  } else if (!ids_.empty()) {
    std::sort(ids_.begin(), ids_.end());
    listed.addMany(ids_.size(), ids_.data());
  }
  Roaring result;
  if (bitmaps_.empty()) {
    result = std::move(listed);
  } else {
    if (!listed.isEmpty()) bitmaps_.push_back(&listed);
    result = bitmaps_.size() == 1
                 ? *bitmaps_[0]
                 : Roaring::fastunion(bitmaps_.size(), bitmaps_.data());
  }
  ids_.clear();
  bits_.clear();
  dense_ = false;
  bitmaps_.clear();
  return result;
}

bool Postings::Add(ContactId id) {
  if (big_ != nullptr) return big_->addChecked(id);
  if (small_.empty() || small_.back() < id) {
    small_.push_back(id);  // ids mostly come in order (loads, new contacts)
  } else {
    auto it = std::lower_bound(small_.begin(), small_.end(), id);
    if (*it == id) return false;
    small_.insert(it, id);
  }
  if (small_.size() > kMaxSmall) {
    big_ = std::make_unique<Roaring>(small_.size(), small_.data());
    std::vector<uint32_t>().swap(small_);
  }
  return true;
}

void Postings::Merge(Postings&& other) {
  if (other.empty()) return;
  if (empty()) {
    *this = std::move(other);
    return;
  }
  if (big_ == nullptr && other.big_ == nullptr) {
    if (small_.back() < other.small_.front()) {  // new contacts: the usual
      small_.insert(small_.end(), other.small_.begin(), other.small_.end());
    } else {
      std::vector<uint32_t> merged;
      merged.reserve(small_.size() + other.small_.size());
      std::set_union(small_.begin(), small_.end(), other.small_.begin(),
                     other.small_.end(), std::back_inserter(merged));
      small_ = std::move(merged);
    }
    if (small_.size() > kMaxSmall) {
      big_ = std::make_unique<Roaring>(small_.size(), small_.data());
      std::vector<uint32_t>().swap(small_);
    }
    return;
  }
  if (big_ == nullptr) {
    big_ = std::make_unique<Roaring>(small_.size(), small_.data());
    std::vector<uint32_t>().swap(small_);
  }
  if (other.big_ != nullptr) {
    *big_ |= *other.big_;
  } else {
    big_->addMany(other.small_.size(), other.small_.data());
  }
}

bool Postings::Remove(ContactId id) {
  if (big_ != nullptr) {
    if (!big_->removeChecked(id)) return false;
    const uint64_t n = big_->cardinality();
    if (n < kMaxSmall / 2) {
      small_.resize(n);
      big_->toUint32Array(small_.data());
      big_.reset();
    }
    return true;
  }
  auto it = std::lower_bound(small_.begin(), small_.end(), id);
  if (it == small_.end() || *it != id) return false;
  small_.erase(it);
  return true;
}

size_t Postings::size() const {
  return big_ != nullptr ? big_->cardinality() : small_.size();
}

void Postings::AddTo(UnionBuilder* out) const {
  if (big_ != nullptr) {
    out->AddBitmap(big_.get());
  } else {
    out->AddIds(small_);
  }
}

Roaring Postings::ToRoaring() const {
  if (big_ != nullptr) return *big_;
  return Roaring(small_.size(), small_.data());
}

size_t ValueDictionary::SlotHash::operator()(uint32_t slot) const {
  return (*this)(slots->ValueAt(slot));
}

size_t ValueDictionary::SlotHash::operator()(std::string_view value) const {
  return absl::Hash<absl::string_view>()(AbslView(value));
}

ValueDictionary::ValueDictionary()
    : slots_(std::make_unique<Slots>()),
      lookup_(0, SlotHash{slots_.get()}, SlotEq{slots_.get()}) {
  slots_->start.push_back(0);
}

void ValueDictionary::Add(std::string_view value, ContactId id) {
  PostingsOf(value).Add(id);
}

void ValueDictionary::Merge(ValueDictionary&& other) {
  Slots& from = *other.slots_;
  for (uint32_t s = 0; s < from.postings.size(); ++s) {
    if (!from.postings[s].empty()) {
      PostingsOf(from.ValueAt(s)).Merge(std::move(from.postings[s]));
    }
  }
}

void ValueDictionary::AddAll(absl::Span<const std::string_view> values,
                             absl::Span<const ContactId> ids) {
  // Far enough ahead to cover a miss, near enough that the slots stay in
  // cache until probed (as StringPool::AcquireAll).
  constexpr size_t kAhead = 8;
  const size_t n = values.size();
  const SlotHash hash{slots_.get()};
  std::vector<Probe> probes(n);
  for (size_t i = 0; i < n; ++i) probes[i] = Probe{values[i], hash(values[i])};
  for (size_t i = 0; i < std::min(kAhead, n); ++i) lookup_.prefetch(probes[i]);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) lookup_.prefetch(probes[i + kAhead]);
    PostingsOf(probes[i]).Add(ids[i]);
  }
}

Postings& ValueDictionary::PostingsOf(std::string_view value) {
  return PostingsOf(Probe{value, SlotHash{slots_.get()}(value)});
}

Postings& ValueDictionary::PostingsOf(const Probe& probe) {
  const std::string_view value = probe.value;
  auto it = lookup_.find(probe);
  if (it != lookup_.end()) return slots_->postings[*it];
  Slots& s = *slots_;
  const auto slot = static_cast<uint32_t>(s.postings.size());
  s.arena.append(value.data(), value.size());
  s.arena.push_back('\0');
  s.start.push_back(static_cast<uint32_t>(s.arena.size()));
  s.postings.emplace_back();
  lookup_.insert(slot);
  return s.postings.back();
}

void ValueDictionary::Remove(std::string_view value, ContactId id) {
  auto it = lookup_.find(value);
  if (it == lookup_.end()) return;
  Postings& postings = slots_->postings[*it];
  if (!postings.Remove(id) || !postings.empty()) return;
  postings = Postings();  // gives its memory back
  lookup_.erase(it);
  ++dead_;
  if (dead_ >= kMinTombstonesToCompact &&
      2 * dead_ >= slots_->postings.size()) {
    Compact();
  }
}

const Postings* ValueDictionary::Find(std::string_view value) const {
  auto it = lookup_.find(value);
  return it == lookup_.end() ? nullptr : &slots_->postings[*it];
}

void ValueDictionary::CollectMatches(Operator op, std::string_view needle,
                                     UnionBuilder* out) const {
  const Slots& s = *slots_;
  const char* const base = s.arena.data();
  const size_t size = s.arena.size();
  const std::vector<uint32_t>& start = s.start;
  const size_t n = needle.size();
  std::vector<uint32_t> matched;  // slots, ascending
  if (op == Operator::kContains) {
    // One memmem pass over the whole arena. A hit is attributed to the
    // value it starts in; one that runs past that value's end (only a
    // needle holding a NUL can cross the separator) is skipped. After a
    // hit inside a value the search resumes at the next value.
    size_t pos = 0;
    uint32_t slot = 0;
    while (pos < size) {
      const void* hit = memmem(base + pos, size - pos, needle.data(), n);
      if (hit == nullptr) break;
      const auto p = static_cast<size_t>(static_cast<const char*>(hit) - base);
      // The slot holding byte p: the last whose start is <= p. Hits only
      // move forward, so a forward walk reads `start` once, sequentially (a
      // binary search per hit costs cache misses when the arena is cold).
      while (start[slot + 1] <= p) ++slot;
      if (p + n <= start[slot + 1] - 1) {  // ends before the separator
        matched.push_back(slot);
        pos = start[slot + 1];
      } else {
        pos = p + 1;
      }
    }
  } else {
    const bool prefix = op == Operator::kStartsWith;
    const auto slots = static_cast<uint32_t>(s.postings.size());
    for (uint32_t i = 0; i < slots; ++i) {
      const size_t begin = start[i];
      const size_t length = start[i + 1] - begin - 1;
      if (length < n) continue;
      const char* at = base + (prefix ? begin : begin + length - n);
      if (n > 0 &&
          (*at != needle[0] || std::memcmp(at, needle.data(), n) != 0)) {
        continue;
      }
      matched.push_back(i);
    }
  }
  AddSlots(matched, out);
}

void ValueDictionary::AddSlots(const std::vector<uint32_t>& slots,
                               UnionBuilder* out) const {
  // Each slot's contacts are two dependent loads away (the Postings, then
  // its array or bitmap), scattered over the heap: a cache miss each when
  // the dictionary is cold. Prefetching a few slots ahead overlaps them.
  constexpr size_t kAhead = 8;
  const std::vector<Postings>& postings = slots_->postings;
  const size_t n = slots.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 * kAhead < n)
      __builtin_prefetch(&postings[slots[i + 2 * kAhead]]);
    if (i + kAhead < n) postings[slots[i + kAhead]].Prefetch();
    if (!postings[slots[i]].empty()) postings[slots[i]].AddTo(out);
  }
}

void ValueDictionary::Compact() {
  auto fresh = std::make_unique<Slots>();
  Slots& old = *slots_;
  fresh->arena.reserve(old.arena.size());
  fresh->start.push_back(0);
  for (uint32_t s = 0; s < old.postings.size(); ++s) {
    if (old.postings[s].empty()) continue;
    const std::string_view value = old.ValueAt(s);
    fresh->arena.append(value.data(), value.size());
    fresh->arena.push_back('\0');
    fresh->start.push_back(static_cast<uint32_t>(fresh->arena.size()));
    fresh->postings.push_back(std::move(old.postings[s]));
  }
  fresh->arena.shrink_to_fit();
  // Slot numbers changed: a new table, hashing the values in the new arena.
  absl::flat_hash_set<uint32_t, SlotHash, SlotEq> lookup(
      fresh->postings.size(), SlotHash{fresh.get()}, SlotEq{fresh.get()});
  for (uint32_t s = 0; s < fresh->postings.size(); ++s) lookup.insert(s);
  slots_ = std::move(fresh);
  lookup_ = std::move(lookup);
  dead_ = 0;
}

}  // namespace segments
