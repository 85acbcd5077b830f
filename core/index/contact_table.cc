#include "core/index/contact_table.h"

#include <algorithm>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"

namespace segments {
namespace {

std::vector<uint32_t> DecodeIds(const std::string& bytes) {
  std::vector<uint32_t> ids(bytes.size() / sizeof(uint32_t));
  if (!ids.empty()) std::memcpy(ids.data(), bytes.data(), bytes.size());
  return ids;
}

}  // namespace

// ---------------------------------------------------------------------------
// StringPool

StringPool::StringPool() : ids_(0, SlotHash(), SlotEq{&values_}) {
  values_.emplace_back();
  refs_.push_back(1);  // the empty string is never released
}

StringPool::Probe StringPool::MakeProbe(std::string_view s) {
  return Probe{s, static_cast<uint32_t>(absl::HashOf(s))};
}

uint32_t StringPool::Acquire(std::string_view s) {
  if (s.empty()) return 0;
  return AcquireProbe(MakeProbe(s));
}

void StringPool::AcquireAll(absl::Span<const std::string_view> values,
                            uint32_t* ids) {
  // Far enough ahead to cover a miss, near enough that a batch's slots stay
  // in cache until probed.
  constexpr size_t kAhead = 8;
  absl::InlinedVector<Probe, 1024> probes;
  probes.reserve(values.size());
  for (std::string_view s : values) probes.push_back(MakeProbe(s));
  const size_t n = probes.size();
  for (size_t i = 0; i < std::min(kAhead, n); ++i) ids_.prefetch(probes[i]);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) ids_.prefetch(probes[i + kAhead]);
    ids[i] = probes[i].s.empty() ? 0 : AcquireProbe(probes[i]);
  }
}

uint32_t StringPool::AcquireProbe(const Probe& probe) {
  const std::string_view s = probe.s;
  uint32_t id = 0;
  const auto it = ids_.lazy_emplace(probe, [&](const auto& construct) {
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
      values_[id].assign(s.data(), s.size());
      refs_[id] = 0;
    } else {
      id = static_cast<uint32_t>(values_.size());
      values_.emplace_back(s);
      refs_.push_back(0);
    }
    construct(Slot{id, probe.hash});
  });
  id = it->id;
  ++refs_[id];
  return id;
}

void StringPool::Release(uint32_t id) {
  if (id == 0 || --refs_[id] > 0) return;
  ids_.erase(MakeProbe(values_[id]));
  std::string().swap(values_[id]);
  free_.push_back(id);
}

uint32_t StringPool::Find(std::string_view s) const {
  if (s.empty()) return 0;
  auto it = ids_.find(MakeProbe(s));
  return it == ids_.end() ? 0 : it->id;
}

size_t StringPool::MemoryBytes() const {
  size_t bytes = values_.size() * sizeof(std::string) +
                 refs_.capacity() * sizeof(uint32_t) +
                 free_.capacity() * sizeof(uint32_t) +
                 ids_.capacity() * (sizeof(Slot) + 1);
  for (const std::string& v : values_) {
    if (v.capacity() > 15) bytes += v.capacity() + 1;  // beyond SSO
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// ContactTable

ContactTable::ContactTable() : rows_(1), email_owner_(1, 0) {}

std::optional<Contact> ContactTable::Get(ContactId id) const {
  if (!Contains(id)) return std::nullopt;
  const Row& r = rows_[id];
  Contact c;
  c.id = id;
  c.email = emails_.Get(r.email);
  c.company = company_.Get(r.company);
  c.job_title = job_title_.Get(r.job_title);
  c.country = country_.Get(r.country);
  c.city = city_.Get(r.city);
  c.source = source_.Get(r.source);
  for (uint32_t tag : DecodeIds(tag_lists_.Get(r.tags))) {
    c.tags.push_back(tags_.Get(tag));
  }
  c.lifecycle_stage = static_cast<LifecycleStage>(r.lifecycle_stage);
  c.lead_score = r.lead_score;
  c.engagement_score = r.engagement_score;
  c.engagement_trend = static_cast<EngagementTrend>(r.engagement_trend);
  c.conversion_likelihood =
      static_cast<ConversionLikelihood>(r.conversion_likelihood);
  c.created_at = r.created_at;
  if (r.has_last_engaged) c.last_engaged_at = r.last_engaged_at;
  return c;
}

void ContactTable::Put(const Contact& c) {
  if (Contains(c.id)) {
    Update(c, kAllContactFields);
    return;
  }
  const Contact* const one[] = {&c};
  InsertBatch(one);
}

void ContactTable::InsertBatch(absl::Span<const Contact* const> batch) {
  BeginInsert(batch);
  for (ColumnGroup group : kColumnGroups) InsertColumns(batch, group);
}

void ContactTable::BeginInsert(absl::Span<const Contact* const> batch) {
  ContactId max_id = 0;
  for (const Contact* c : batch) max_id = std::max(max_id, c->id);
  if (max_id >= rows_.size()) rows_.resize(static_cast<size_t>(max_id) + 1);
  size_ += batch.size();
}

void ContactTable::InsertColumns(absl::Span<const Contact* const> batch,
                                 ColumnGroup group) {
  switch (group) {
    case ColumnGroup::kEmail: {
      absl::InlinedVector<std::string_view, 1024> emails;
      emails.reserve(batch.size());
      for (const Contact* c : batch) emails.push_back(c->email);
      absl::InlinedVector<uint32_t, 1024> ids(batch.size());
      emails_.AcquireAll(absl::MakeConstSpan(emails), ids.data());
      for (size_t i = 0; i < batch.size(); ++i) {
        const uint32_t email = ids[i];
        const ContactId id = batch[i]->id;
        if (email >= email_owner_.size()) email_owner_.resize(email + 1);
        email_owner_[email] = id;
        rows_[id].email = email;
      }
      return;
    }
    case ColumnGroup::kText: {
      // Field by field, each through AcquireAll (prefetched probes).
      struct Column {
        std::string Contact::*value;
        StringPool* pool;
        uint32_t Row::*slot;
      };
      const Column columns[] = {
          {&Contact::company, &company_, &Row::company},
          {&Contact::job_title, &job_title_, &Row::job_title},
          {&Contact::country, &country_, &Row::country},
          {&Contact::city, &city_, &Row::city},
          {&Contact::source, &source_, &Row::source},
      };
      absl::InlinedVector<std::string_view, 1024> values(batch.size());
      absl::InlinedVector<uint32_t, 1024> ids(batch.size());
      for (const Column& column : columns) {
        for (size_t i = 0; i < batch.size(); ++i) {
          values[i] = batch[i]->*column.value;
        }
        column.pool->AcquireAll(absl::MakeConstSpan(values), ids.data());
        for (size_t i = 0; i < batch.size(); ++i) {
          rows_[batch[i]->id].*column.slot = ids[i];
        }
      }
      for (const Contact* c : batch) SetScalars(*c, &rows_[c->id]);
      return;
    }
    case ColumnGroup::kTags: {
      // Every tag of the batch, then every tag list (as tag ids), through
      // AcquireAll: two prefetched passes instead of a probe per tag and
      // per list one after the other.
      std::vector<std::string_view> tags;
      for (const Contact* c : batch) {
        for (const std::string& tag : c->tags) tags.push_back(tag);
      }
      std::vector<uint32_t> tag_ids(tags.size());
      tags_.AcquireAll(absl::MakeConstSpan(tags), tag_ids.data());
      std::vector<std::string_view> lists(batch.size());
      size_t at = 0;
      for (size_t i = 0; i < batch.size(); ++i) {
        const size_t n = batch[i]->tags.size();
        lists[i] =
            std::string_view(reinterpret_cast<const char*>(tag_ids.data() + at),
                             n * sizeof(uint32_t));
        at += n;
      }
      absl::InlinedVector<uint32_t, 1024> list_ids(batch.size());
      tag_lists_.AcquireAll(absl::MakeConstSpan(lists), list_ids.data());
      for (size_t i = 0; i < batch.size(); ++i) {
        rows_[batch[i]->id].tags = list_ids[i];
      }
      return;
    }
  }
}

void ContactTable::Update(const Contact& c, ContactFieldSet changed) {
  for (ColumnGroup group : kColumnGroups) UpdateColumns(c, changed, group);
}

void ContactTable::UpdateColumns(const Contact& c, ContactFieldSet changed,
                                 ColumnGroup group) {
  Row& row = rows_[c.id];
  auto replace = [changed](ContactField f, StringPool& pool, uint32_t& slot,
                           const std::string& value) {
    if ((changed & FieldBit(f)) == 0) return;
    const uint32_t id = pool.Acquire(value);  // before release: may be equal
    pool.Release(slot);
    slot = id;
  };
  switch (group) {
    case ColumnGroup::kEmail:
      if (changed & FieldBit(ContactField::kEmail)) {
        replace(ContactField::kEmail, emails_, row.email, c.email);
        if (row.email >= email_owner_.size()) {
          email_owner_.resize(row.email + 1);
        }
        email_owner_[row.email] = c.id;
      }
      return;
    case ColumnGroup::kText:
      replace(ContactField::kCompany, company_, row.company, c.company);
      replace(ContactField::kJobTitle, job_title_, row.job_title, c.job_title);
      replace(ContactField::kCountry, country_, row.country, c.country);
      replace(ContactField::kCity, city_, row.city, c.city);
      replace(ContactField::kSource, source_, row.source, c.source);
      SetScalars(c, &row);
      return;
    case ColumnGroup::kTags:
      if (changed & FieldBit(ContactField::kTags)) {
        const uint32_t list = AcquireTags(c.tags);
        ReleaseTags(row.tags);
        row.tags = list;
      }
      return;
  }
}

uint32_t ContactTable::AcquireTags(const std::vector<std::string>& tags) {
  // On the stack for the usual few tags: this runs for every contact loaded.
  absl::InlinedVector<uint32_t, 16> tag_ids;
  tag_ids.reserve(tags.size());
  for (const std::string& tag : tags) tag_ids.push_back(tags_.Acquire(tag));
  return tag_lists_.Acquire(
      std::string_view(reinterpret_cast<const char*>(tag_ids.data()),
                       tag_ids.size() * sizeof(uint32_t)));
}

void ContactTable::ReleaseTags(uint32_t list) {
  for (uint32_t tag : DecodeIds(tag_lists_.Get(list))) tags_.Release(tag);
  tag_lists_.Release(list);
}

void ContactTable::SetScalars(const Contact& c, Row* row) {
  row->lead_score = c.lead_score;
  row->engagement_score = static_cast<int8_t>(c.engagement_score);  // 0..100
  row->lifecycle_stage = static_cast<uint8_t>(c.lifecycle_stage);
  row->engagement_trend = static_cast<uint8_t>(c.engagement_trend);
  row->conversion_likelihood = static_cast<uint8_t>(c.conversion_likelihood);
  row->created_at = c.created_at;
  row->has_last_engaged = c.last_engaged_at.has_value();
  row->last_engaged_at = c.last_engaged_at.value_or(0);
}

void ContactTable::Erase(ContactId id) {
  if (!Contains(id)) return;
  ReleaseRow(rows_[id]);
  rows_[id] = Row();
  --size_;
}

void ContactTable::ReleaseRow(const Row& row) {
  emails_.Release(row.email);
  company_.Release(row.company);
  job_title_.Release(row.job_title);
  country_.Release(row.country);
  city_.Release(row.city);
  source_.Release(row.source);
  ReleaseTags(row.tags);
}

ContactId ContactTable::FindEmail(std::string_view email) const {
  const uint32_t id = emails_.Find(email);
  return id == 0 ? 0 : email_owner_[id];
}

void ContactTable::ForEachEmail(
    absl::FunctionRef<void(const std::string&, ContactId)> fn) const {
  for (ContactId id = 1; id < rows_.size(); ++id) {
    if (rows_[id].email != 0) fn(emails_.Get(rows_[id].email), id);
  }
}

std::optional<UnixSeconds> ContactTable::last_engaged_at(ContactId id) const {
  const Row& r = rows_[id];
  if (!r.has_last_engaged) return std::nullopt;
  return r.last_engaged_at;
}

size_t ContactTable::MemoryBytes() const {
  return rows_.capacity() * sizeof(Row) +
         email_owner_.capacity() * sizeof(ContactId) + emails_.MemoryBytes() +
         company_.MemoryBytes() + job_title_.MemoryBytes() +
         country_.MemoryBytes() + city_.MemoryBytes() + source_.MemoryBytes() +
         tags_.MemoryBytes() + tag_lists_.MemoryBytes();
}

}  // namespace segments
