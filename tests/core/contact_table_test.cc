#include "core/index/contact_table.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/parallel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

Contact Full(ContactId id, std::string email) {
  Contact c;
  c.id = id;
  c.email = std::move(email);
  c.company = "Acme GmbH";
  c.job_title = "Head of Marketing Operations";
  c.country = "DE";
  c.city = "Berlin";
  c.source = "webinar";
  c.tags = {"newsletter", "vip"};
  c.lifecycle_stage = LifecycleStage::kMql;
  c.lead_score = -17;
  c.engagement_score = 100;
  c.engagement_trend = EngagementTrend::kDeclining;
  c.conversion_likelihood = ConversionLikelihood::kVeryLikely;
  c.created_at = -62135596800;
  c.last_engaged_at = 253402300799;
  return c;
}

TEST(ContactTableTest, RoundTripsEveryField) {
  ContactTable t;
  Contact c = Full(7, "a@x.com");
  t.Put(c);
  EXPECT_EQ(t.Get(7), c);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.FindEmail("a@x.com"), 7u);
  EXPECT_EQ(t.created_at(7), c.created_at);
  EXPECT_EQ(t.last_engaged_at(7), c.last_engaged_at);
  EXPECT_FALSE(t.Contains(6));
  EXPECT_EQ(t.Get(6), std::nullopt);

  Contact bare;
  bare.id = 8;
  bare.email = "b@x.com";
  t.Put(bare);
  EXPECT_EQ(t.Get(8), bare);
  EXPECT_EQ(t.last_engaged_at(8), std::nullopt);
}

TEST(ContactTableTest, ReplaceAndEraseKeepSharedValuesForOthers) {
  ContactTable t;
  t.Put(Full(1, "a@x.com"));
  t.Put(Full(2, "b@x.com"));
  Contact moved = Full(1, "new@x.com");
  moved.country = "FR";
  moved.tags = {"vip"};
  t.Put(moved);
  EXPECT_EQ(t.Get(1), moved);
  EXPECT_EQ(t.Get(2), Full(2, "b@x.com"));
  EXPECT_EQ(t.FindEmail("a@x.com"), 0u);
  EXPECT_EQ(t.FindEmail("new@x.com"), 1u);
  t.Erase(2);
  EXPECT_FALSE(t.Contains(2));
  EXPECT_EQ(t.FindEmail("b@x.com"), 0u);
  EXPECT_EQ(t.Get(1), moved);
  EXPECT_EQ(t.size(), 1u);
  // Freed dictionary slots are reused without disturbing live values.
  t.Put(Full(3, "c@x.com"));
  EXPECT_EQ(t.Get(3), Full(3, "c@x.com"));
  EXPECT_EQ(t.Get(1), moved);
}

TEST(ContactTableTest, ForEachEmailVisitsLiveContacts) {
  ContactTable t;
  t.Put(Full(1, "a@x.com"));
  t.Put(Full(2, "b@x.com"));
  t.Erase(1);
  std::vector<std::pair<std::string, ContactId>> seen;
  t.ForEachEmail(
      [&](const std::string& e, ContactId id) { seen.emplace_back(e, id); });
  EXPECT_THAT(
      seen, ::testing::ElementsAre(std::make_pair(std::string("b@x.com"), 2u)));
}

TEST(ContactTableTest, SharedStringsAreStoredOnce) {
  ContactTable many;
  for (ContactId id = 1; id <= 1000; ++id) {
    many.Put(Full(id, "c" + std::to_string(id) + "@example.com"));
  }
  // A row plus its own email; the shared fields cost nothing per contact.
  EXPECT_LT(many.MemoryBytes() / 1000, 200u);
}

// Update with the changed fields ends where Put of the whole contact ends:
// same contact read back, same email lookup, and the old values released
// (a table that took the same path through Put holds as many bytes).
TEST(ContactTableTest, UpdateOfChangedFieldsEqualsAFullPut) {
  ContactTable updated, put;
  const Contact a = Full(1, "a@x.com");
  const Contact other = Full(2, "b@x.com");
  for (ContactTable* t : {&updated, &put}) {
    t->Put(a);
    t->Put(other);
  }
  Contact next = a;
  next.email = "new@y.com";
  next.company = "Initech";
  next.tags = {"vip", "webinar-2024"};
  next.lead_score = 80;
  next.last_engaged_at.reset();
  const ContactFieldSet changed =
      FieldBit(ContactField::kEmail) | FieldBit(ContactField::kCompany) |
      FieldBit(ContactField::kTags) | FieldBit(ContactField::kLeadScore) |
      FieldBit(ContactField::kLastEngagedAt);
  updated.Update(next, changed);
  put.Put(next);
  EXPECT_EQ(updated.Get(1), next);
  EXPECT_EQ(updated.Get(2), other);
  EXPECT_EQ(updated.FindEmail("new@y.com"), 1u);
  EXPECT_EQ(updated.FindEmail("a@x.com"), 0u);
  EXPECT_EQ(updated.size(), 2u);
  EXPECT_EQ(updated.MemoryBytes(), put.MemoryBytes());
  // Back to the first version, field by field, then everything released.
  updated.Update(a, changed);
  EXPECT_EQ(updated.Get(1), a);
  updated.Erase(1);
  updated.Erase(2);
  EXPECT_EQ(updated.FindEmail("b@x.com"), 0u);
  EXPECT_EQ(updated.size(), 0u);
}

// A batch inserted column group by column group, two groups at a time on
// two threads (as a big write's apply does), reads back as Put would.
TEST(ContactTableTest, ColumnGroupsInsertedConcurrentlyEqualPut) {
  std::vector<Contact> contacts;
  for (ContactId id = 3; id < 3 + 2000; ++id) {
    Contact c = Full(id, absl::StrCat("c", id, "@x.com"));
    c.company = absl::StrCat("company ", id % 37);
    c.tags = {absl::StrCat("t", id % 5), absl::StrCat("u", id % 7)};
    if (id % 11 == 0) c.tags.clear();
    if (id % 13 == 0) c.city.clear();
    c.lead_score = static_cast<int32_t>(id);
    if (id % 3 == 0) c.last_engaged_at.reset();
    contacts.push_back(std::move(c));
  }
  std::vector<const Contact*> batch;
  for (const Contact& c : contacts) batch.push_back(&c);
  ContactTable inserted, put;
  inserted.Put(Full(1, "first@x.com"));  // rows already there
  put.Put(Full(1, "first@x.com"));
  inserted.BeginInsert(batch);
  using Group = ContactTable::ColumnGroup;
  RunConcurrently([&] { inserted.InsertColumns(batch, Group::kEmail); },
                  [&] {
                    inserted.InsertColumns(batch, Group::kText);
                    inserted.InsertColumns(batch, Group::kTags);
                  });
  for (const Contact& c : contacts) put.Put(c);
  EXPECT_EQ(inserted.size(), put.size());
  for (const Contact& c : contacts) {
    ASSERT_EQ(inserted.Get(c.id), c);
    ASSERT_EQ(inserted.FindEmail(c.email), c.id);
  }
  EXPECT_FALSE(inserted.Contains(2));
  // Then they change and go like any other.
  Contact next = contacts[10];
  next.company = "company 1";
  inserted.Update(next, FieldBit(ContactField::kCompany));
  EXPECT_EQ(inserted.Get(next.id), next);
  contacts[10] = next;
  // Each shared string and tag list holds a reference per contact: erasing
  // half of the contacts leaves the others' whole.
  for (const Contact& c : contacts) {
    if (c.id % 2 == 0) inserted.Erase(c.id);
  }
  for (const Contact& c : contacts) {
    if (c.id % 2 != 0) {
      ASSERT_EQ(inserted.Get(c.id), c);
    }
  }
  for (const Contact& c : contacts) inserted.Erase(c.id);
  EXPECT_EQ(inserted.size(), 1u);
  EXPECT_EQ(inserted.FindEmail("c3@x.com"), 0u);
}

// What a big write's apply does: new contacts inserted and stored ones
// updated, emails included, with each column group on one thread only
// (emails on one, the rest on the other). The result equals the same
// changes made on one thread; under TSan this also shows the groups share
// no state.
TEST(ContactTableTest, ColumnGroupsUpdatedConcurrentlyEqualUpdate) {
  constexpr ContactId kStored = 1500, kNew = 1500;
  std::vector<Contact> stored, next, created;
  for (ContactId id = 1; id <= kStored; ++id) {
    Contact c = Full(id, absl::StrCat("old", id, "@x.com"));
    c.company = absl::StrCat("company ", id % 11);
    stored.push_back(c);
    // Every third stored contact changes its email; an email freed by one
    // contact is taken by a new one below.
    if (id % 3 == 0) c.email = absl::StrCat("renamed", id, "@x.com");
    c.company = absl::StrCat("company ", id % 13);
    c.tags = {absl::StrCat("t", id % 4)};
    c.lead_score = static_cast<int32_t>(id * 2);
    next.push_back(std::move(c));
  }
  for (ContactId id = kStored + 1; id <= kStored + kNew; ++id) {
    const ContactId freed = id - kStored;
    created.push_back(Full(id, freed % 3 == 0
                                   ? absl::StrCat("old", freed, "@x.com")
                                   : absl::StrCat("new", id, "@x.com")));
  }
  const ContactFieldSet changed =
      FieldBit(ContactField::kEmail) | FieldBit(ContactField::kCompany) |
      FieldBit(ContactField::kTags) | FieldBit(ContactField::kLeadScore);
  std::vector<const Contact*> batch;
  for (const Contact& c : created) batch.push_back(&c);
  ContactTable concurrent, sequential;
  for (const Contact& c : stored) {
    concurrent.Put(c);
    sequential.Put(c);
  }
  using Group = ContactTable::ColumnGroup;
  auto apply_group = [&](Group group) {
    concurrent.InsertColumns(batch, group);
    for (const Contact& c : next) concurrent.UpdateColumns(c, changed, group);
  };
  concurrent.BeginInsert(batch);
  RunConcurrently([&] { apply_group(Group::kEmail); },
                  [&] {
                    apply_group(Group::kText);
                    apply_group(Group::kTags);
                  });
  for (const Contact& c : next) sequential.Update(c, changed);
  for (const Contact& c : created) sequential.Put(c);
  ASSERT_EQ(concurrent.size(), sequential.size());
  for (ContactId id = 1; id <= kStored + kNew; ++id) {
    ASSERT_EQ(concurrent.Get(id), sequential.Get(id)) << id;
    const std::string email = concurrent.Get(id)->email;
    ASSERT_EQ(concurrent.FindEmail(email), id) << email;
  }
  EXPECT_EQ(concurrent.FindEmail("old3@x.com"), kStored + 3);
}

// The pool's set keeps hashes, not views: it grows many times here, frees
// ids and hands them out again, and every string must still be found by its
// value and give back its id.
TEST(StringPoolTest, FindsEveryStringAcrossGrowthAndReuse) {
  StringPool pool;
  constexpr int kStrings = 50000;
  std::vector<uint32_t> ids(kStrings);
  for (int i = 0; i < kStrings; ++i) {
    ids[i] = pool.Acquire(absl::StrCat("contact-", i, "@example.com"));
  }
  EXPECT_EQ(pool.Acquire(""), 0u);
  EXPECT_EQ(pool.Find(""), 0u);
  EXPECT_EQ(pool.Acquire("contact-7@example.com"), ids[7]);  // a second ref
  for (int i = 0; i < kStrings; i += 2) pool.Release(ids[i]);
  pool.Release(ids[7]);  // one of its two references
  for (int i = 0; i < kStrings; ++i) {
    const std::string s = absl::StrCat("contact-", i, "@example.com");
    if (i % 2 == 0) {
      ASSERT_EQ(pool.Find(s), 0u) << s;
    } else {
      ASSERT_EQ(pool.Find(s), ids[i]) << s;
      ASSERT_EQ(pool.Get(ids[i]), s);
    }
  }
  // Freed ids are reused for new strings, which are then found.
  uint32_t max_id = 0;
  for (uint32_t id : ids) max_id = std::max(max_id, id);
  for (int i = 0; i < kStrings / 2; ++i) {
    const std::string s = absl::StrCat("new-", i);
    const uint32_t id = pool.Acquire(s);
    ASSERT_LE(id, max_id) << s;
    ASSERT_EQ(pool.Find(s), id);
    ASSERT_EQ(pool.Get(id), s);
  }
  EXPECT_EQ(pool.Find("contact-7@example.com"), ids[7]);
}

// AcquireAll (the batch insert's emails, probes prefetched ahead) gives the
// ids and references Acquire one by one would: repeats within a batch and of
// strings already held, empty strings, and a batch past the inline buffer.
TEST(StringPoolTest, AcquireAllIsAcquireOfEach) {
  StringPool one, all;
  std::vector<std::string> held;
  for (int i = 0; i < 100; ++i) held.push_back(absl::StrCat("held-", i));
  for (const std::string& s : held) {
    one.Acquire(s);
    all.Acquire(s);
  }
  std::vector<std::string> batch;
  for (int i = 0; i < 3000; ++i) {
    batch.push_back(i % 7 == 0   ? std::string()
                    : i % 5 == 0 ? held[i % held.size()]
                    : i % 3 == 0 ? absl::StrCat("repeat-", i % 11)
                                 : absl::StrCat("new-", i));
  }
  std::vector<std::string_view> views(batch.begin(), batch.end());
  std::vector<uint32_t> ids(batch.size());
  all.AcquireAll(absl::MakeConstSpan(views), ids.data());
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(ids[i], one.Acquire(batch[i])) << i << ": " << batch[i];
    ASSERT_EQ(all.Get(ids[i]), batch[i]);
  }
  // As many references: releasing each once per acquire empties both alike.
  for (size_t i = 0; i < batch.size(); ++i) {
    one.Release(ids[i]);
    all.Release(ids[i]);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(all.Find(batch[i]), one.Find(batch[i])) << batch[i];
    if (!batch[i].empty() && batch[i].rfind("held-", 0) != 0) {
      EXPECT_EQ(all.Find(batch[i]), 0u) << batch[i];
    }
  }
  for (const std::string& s : held) EXPECT_NE(all.Find(s), 0u) << s;
}

// Tag lists are interned from a buffer on the stack up to 16 tags, from the
// heap beyond: both must round-trip and be shared by equal lists.
TEST(ContactTableTest, LongAndShortTagListsRoundTripAndAreShared) {
  ContactTable t;
  Contact a = Full(1, "a@x.com");
  a.tags.clear();
  for (int i = 0; i < 40; ++i) a.tags.push_back(absl::StrCat("tag", i));
  Contact b = Full(2, "b@x.com");
  b.tags = a.tags;
  Contact c = Full(3, "c@x.com");
  c.tags = {"one"};
  t.Put(a);
  t.Put(b);
  t.Put(c);
  EXPECT_EQ(t.Get(1), a);
  EXPECT_EQ(t.Get(2), b);
  EXPECT_EQ(t.Get(3), c);
  t.Erase(1);
  EXPECT_EQ(t.Get(2), b);  // the shared list outlives one of its contacts
}

}  // namespace
}  // namespace segments
