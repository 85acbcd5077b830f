// A workspace's contacts, stored compactly: one fixed-size row per id in a
// dense vector (ids are dense), every string field interned in a per-field
// dictionary, and each distinct tag list interned once. A contact costs a
// row (about 56 bytes) plus its email; the strings it shares with others
// (countries, companies, tag lists) are stored once per distinct value.
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex.
#ifndef SEGMENTS_CORE_INDEX_CONTACT_TABLE_H_
#define SEGMENTS_CORE_INDEX_CONTACT_TABLE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "core/index/contact_lookup.h"
#include "core/model/contact.h"

namespace segments {

// Interned strings with reference counts. Id 0 is the empty string.
//
// The hash set holds an id and the string's 32-bit hash (8 bytes a slot),
// not a view of the string: growing the set rehashes from the stored hashes
// without reading a million strings scattered over the heap (at a restart
// that rehashing was most of the pool's time, issue 18), a probe compares
// the string only when the hashes agree, and Acquire hashes and probes once.
class StringPool {
 public:
  StringPool();
  // The set's equality reads values_ through a pointer.
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;
  // The id of `s`, adding it (or one more reference to it).
  uint32_t Acquire(std::string_view s);
  // Acquire of each of `values`, in order, into `ids`. The set's slots of
  // the strings a few ahead are prefetched, so that the probes' cache misses
  // overlap: a restart interns every email, each probe a miss into a set of
  // as many entries as contacts.
  void AcquireAll(absl::Span<const std::string_view> values, uint32_t* ids);
  // Drops one reference; the string goes when none are left.
  void Release(uint32_t id);
  const std::string& Get(uint32_t id) const { return values_[id]; }
  // The id of `s` if interned, else 0.
  uint32_t Find(std::string_view s) const;
  // Approximate heap bytes held.
  size_t MemoryBytes() const;

 private:
  struct Slot {
    uint32_t id;
    uint32_t hash;
  };
  // A string looked up, with its hash.
  struct Probe {
    std::string_view s;
    uint32_t hash;
  };
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(const Slot& s) const { return s.hash; }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct SlotEq {
    using is_transparent = void;
    const std::deque<std::string>* values;
    bool operator()(const Slot& a, const Slot& b) const { return a.id == b.id; }
    bool operator()(const Slot& a, const Probe& p) const {
      return a.hash == p.hash && (*values)[a.id] == p.s;
    }
    bool operator()(const Probe& p, const Slot& a) const {
      return (*this)(a, p);
    }
  };
  static Probe MakeProbe(std::string_view s);
  uint32_t AcquireProbe(const Probe& probe);

  std::deque<std::string> values_;  // a deque: ids keep their strings
  std::vector<uint32_t> refs_;
  std::vector<uint32_t> free_;
  absl::flat_hash_set<Slot, SlotHash, SlotEq> ids_;
};

class ContactTable final : public ContactLookup {
 public:
  ContactTable();

  bool Contains(ContactId id) const {
    return id < rows_.size() && rows_[id].email != 0;
  }
  // The contact, materialized; nullopt when absent.
  std::optional<Contact> Get(ContactId id) const;
  // Inserts or replaces the contact with id `c.id`.
  void Put(const Contact& c);

  // Inserting a batch of new contacts column group by column group:
  // BeginInsert, then InsertColumns once for every group, in any order.
  // Groups touch disjoint state (their own members of the rows, their own
  // dictionaries), so two threads may insert different groups at once.
  // Until every group is in, the batch's rows are incomplete: the owner
  // holds its lock exclusively meanwhile. REQUIRES: no id of the batch is
  // present, and the batch is the same for every call.
  enum class ColumnGroup {
    kEmail,
    kText,  // company, job title, country, city, source, and the scalars
    kTags,
  };
  static constexpr ColumnGroup kColumnGroups[] = {
      ColumnGroup::kEmail, ColumnGroup::kText, ColumnGroup::kTags};
  void BeginInsert(absl::Span<const Contact* const> batch);
  void InsertColumns(absl::Span<const Contact* const> batch, ColumnGroup group);
  // All of the above on this thread.
  void InsertBatch(absl::Span<const Contact* const> batch);

  // Replaces the fields in `changed` of the present contact `c.id` (and its
  // scalars), leaving the interned strings of the others untouched.
  void Update(const Contact& c, ContactFieldSet changed);
  // Update of one column group's fields only (the scalars belong to kText).
  // Like InsertColumns, different groups may be updated, and inserted, on
  // two threads at once.
  void UpdateColumns(const Contact& c, ContactFieldSet changed,
                     ColumnGroup group);
  void Erase(ContactId id);
  size_t size() const { return size_; }

  ContactId FindEmail(std::string_view email) const override;
  void ForEachEmail(
      absl::FunctionRef<void(const std::string&, ContactId)> fn) const override;
  // Timestamps of a present contact, without materializing it.
  UnixSeconds created_at(ContactId id) const override {
    return rows_[id].created_at;
  }
  std::optional<UnixSeconds> last_engaged_at(ContactId id) const override;

  // Approximate heap bytes held (rows and dictionaries).
  size_t MemoryBytes() const;

 private:
  struct Row {
    uint32_t email = 0;  // 0: no contact with this id
    uint32_t company = 0, job_title = 0, country = 0, city = 0, source = 0;
    uint32_t tags = 0;  // an interned tag list
    int32_t lead_score = 0;
    int8_t engagement_score = 0;
    uint8_t lifecycle_stage = 0, engagement_trend = 0,
            conversion_likelihood = 0;
    bool has_last_engaged = false;
    UnixSeconds created_at = 0;
    UnixSeconds last_engaged_at = 0;
  };
  void ReleaseRow(const Row& row);
  // The interned list of `tags` (one reference to it and to each tag).
  uint32_t AcquireTags(const std::vector<std::string>& tags);
  void ReleaseTags(uint32_t list);
  static void SetScalars(const Contact& c, Row* row);

  std::vector<Row> rows_;  // by id; rows_[0] is never used
  size_t size_ = 0;
  StringPool emails_;
  std::vector<ContactId> email_owner_;  // by email pool id
  StringPool company_, job_title_, country_, city_, source_;
  StringPool tags_;       // each tag once
  StringPool tag_lists_;  // each distinct list once, as tag ids (4 bytes each)
};

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_CONTACT_TABLE_H_
