// Tests of core/attribute_index.cc: the email domain paths, string indexes
// and Update against Remove + Add (the value dictionaries themselves are
// tested in value_dictionary_test.cc). Every answer is also checked against the
// per-contact evaluator (core/evaluator.h) over all contacts.
#include "core/index/attribute_index.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/base/parallel.h"
#include "core/base/types.h"
#include "core/index/contact_table.h"
#include "core/index/evaluator.h"
#include "core/model/contact.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/random_data.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr UnixSeconds kNow = 1'700'000'000;

std::vector<uint32_t> Ids(const Roaring& r) {
  std::vector<uint32_t> ids(r.cardinality());
  r.toUint32Array(ids.data());
  return ids;
}

// A validated single condition (values lowercased and trimmed as in
// production).
Condition MakeCondition(const std::string& field, Operator op,
                        std::vector<RawValue> values = {}) {
  ConditionSpec spec{field, static_cast<int>(op), std::move(values)};
  absl::StatusOr<Filter> filter =
      ValidateFilter(FilterSpec{static_cast<int>(Match::kAll), {spec}}, "f");
  EXPECT_TRUE(filter.ok()) << filter.status();
  return filter.ok() ? filter->conditions[0] : Condition{};
}

// A ContactTable and an AttributeIndex kept in step, plus the contacts.
class Indexed {
 public:
  ContactId Put(Contact c) {
    if (c.id == 0) c.id = next_id_++;
    auto old = contacts_.find(c.id);
    if (old != contacts_.end()) index_.Remove(old->second);
    table_.Put(c);
    index_.Add(c);
    contacts_[c.id] = c;
    return c.id;
  }
  void Erase(ContactId id) {
    index_.Remove(contacts_.at(id));
    table_.Erase(id);
    contacts_.erase(id);
  }
  // Ids matching `c` by the index; checks them against the per-contact
  // evaluator first.
  std::vector<uint32_t> Eval(const Condition& c) const {
    const std::vector<uint32_t> got =
        Ids(index_.EvaluateCondition(c, kNow, table_));
    EXPECT_EQ(got, Brute(c))
        << "field " << static_cast<int>(c.field) << " op " << OperatorName(c.op)
        << " value " << (c.strings.empty() ? "" : c.strings[0]);
    return got;
  }
  std::vector<uint32_t> Brute(const Condition& c) const {
    std::vector<uint32_t> ids;
    for (const auto& [id, contact] : contacts_) {
      if (ConditionMatches(c, contact, kNow)) ids.push_back(id);
    }
    return ids;
  }
  std::vector<uint32_t> Eval(const std::string& field, Operator op,
                             std::vector<RawValue> values = {}) const {
    return Eval(MakeCondition(field, op, std::move(values)));
  }

  AttributeIndex& index() { return index_; }
  const ContactTable& table() const { return table_; }

 private:
  ContactId next_id_ = 1;
  AttributeIndex index_;
  ContactTable table_;
  std::map<ContactId, Contact> contacts_;
};

Contact WithEmail(std::string email, std::string company = "") {
  Contact c;
  c.email = std::move(email);
  c.company = std::move(company);
  c.created_at = kNow;
  return c;
}

class EmailIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* e :
         {"ann@gmail.com", "bob@gmail.com", "a@gmail.com", "xa@hotmail.com",
          "ann@mail.com", "carol@mail.co", "dave@sub.mail.com",
          "eve@gmail.com.au", "gmail.com@example.org", "ann@gmx.net"}) {
      ids_[e] = data_.Put(WithEmail(e));
    }
  }
  std::vector<uint32_t> Of(std::vector<std::string> emails) {
    std::vector<uint32_t> ids;
    for (const std::string& e : emails) ids.push_back(ids_.at(e));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Indexed data_;
  std::map<std::string, ContactId> ids_;
};

TEST_F(EmailIndexTest, EndsWithAtDomainIsExactDomain) {
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"@gmail.com"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com"}));
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@nowhere.com"}),
              IsEmpty());
}

TEST_F(EmailIndexTest, EndsWithIsCaseInsensitive) {
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"@GMAIL.COM"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"GMAIL.COM"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com"}));
}

TEST_F(EmailIndexTest, EndsWithoutAtIsDomainSuffix) {
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"mail.com"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com",
                "xa@hotmail.com", "ann@mail.com", "dave@sub.mail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {".org"}),
            Of({"gmail.com@example.org"}));
}

TEST_F(EmailIndexTest, EndsWithLocalAndDomain) {
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"a@gmail.com"}),
            Of({"a@gmail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"n@gmail.com"}),
            Of({"ann@gmail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"a@hotmail.com"}),
            Of({"xa@hotmail.com"}));
  // The whole email, and more than the whole email.
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"bob@gmail.com"}),
            Of({"bob@gmail.com"}));
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"xbob@gmail.com"}),
              IsEmpty());
}

TEST_F(EmailIndexTest, AtEdgeCases) {
  // Every email holds one '@', none starts or ends with it.
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"@"}).size(), 10u);
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@"}), IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kStartsWith, {"@"}), IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kStartsWith, {"@gmail.com"}),
              IsEmpty());
  // Two '@' never match.
  EXPECT_THAT(data_.Eval("email", Operator::kContains, {"com@example@"}),
              IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@gmail.com@"}),
              IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kStartsWith, {"ann@@"}), IsEmpty());
}

TEST_F(EmailIndexTest, StartsWith) {
  EXPECT_EQ(data_.Eval("email", Operator::kStartsWith, {"ann@"}),
            Of({"ann@gmail.com", "ann@mail.com", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kStartsWith, {"ann@gm"}),
            Of({"ann@gmail.com", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kStartsWith, {"ANN@GMAIL.COM"}),
            Of({"ann@gmail.com"}));
  EXPECT_THAT(data_.Eval("email", Operator::kStartsWith, {"an@"}), IsEmpty());
  // No '@': the local part, by a walk over the emails.
  EXPECT_EQ(
      data_.Eval("email", Operator::kStartsWith, {"a"}),
      Of({"ann@gmail.com", "a@gmail.com", "ann@mail.com", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kStartsWith, {"gmail"}),
            Of({"gmail.com@example.org"}));
}

TEST_F(EmailIndexTest, Contains) {
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"@gm"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com",
                "eve@gmail.com.au", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"a@g"}),
            Of({"a@gmail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"n@"}),
            Of({"ann@gmail.com", "ann@mail.com", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"m@"}),
            Of({"gmail.com@example.org"}));
  // No '@': local part or domain.
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"gmail"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com",
                "eve@gmail.com.au", "gmail.com@example.org"}));
  EXPECT_EQ(data_.Eval("email", Operator::kContains, {"GMAIL.COM"}),
            Of({"ann@gmail.com", "bob@gmail.com", "a@gmail.com",
                "eve@gmail.com.au", "gmail.com@example.org"}));
}

TEST_F(EmailIndexTest, EqualsAndIn) {
  EXPECT_EQ(data_.Eval("email", Operator::kEquals, {"ANN@gmail.com"}),
            Of({"ann@gmail.com"}));
  EXPECT_EQ(data_.Eval("email", Operator::kIn, {"ann@gmx.net", "x@y.z"}),
            Of({"ann@gmx.net"}));
}

TEST_F(EmailIndexTest, NegatedOperatorsAreComplements) {
  EXPECT_EQ(data_.Eval("email", Operator::kNotContains, {"@gmail.com"}),
            Of({"xa@hotmail.com", "ann@mail.com", "carol@mail.co",
                "dave@sub.mail.com", "gmail.com@example.org", "ann@gmx.net"}));
  EXPECT_EQ(data_.Eval("email", Operator::kNotEquals, {"ann@gmail.com"}).size(),
            9u);
  EXPECT_EQ(
      data_.Eval("email", Operator::kNotIn, {"ann@gmail.com", "a@b.c"}).size(),
      9u);
  EXPECT_THAT(data_.Eval("email", Operator::kNotContains, {"@"}), IsEmpty());
}

TEST_F(EmailIndexTest, RemovingTheLastContactOfADomain) {
  data_.Erase(ids_.at("carol@mail.co"));
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@mail.co"}),
              IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {".co"}), IsEmpty());
  EXPECT_THAT(data_.Eval("email", Operator::kContains, {"@mail.co"}),
              ElementsAre(ids_.at("ann@mail.com")));
  // The domain comes back with another contact.
  const ContactId id = data_.Put(WithEmail("zed@mail.co"));
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@mail.co"}),
              ElementsAre(id));
}

TEST_F(EmailIndexTest, EmailChangeMovesDomain) {
  Contact c = WithEmail("bob@gmail.com");
  c.id = ids_.at("bob@gmail.com");
  Contact after = c;
  after.email = "bob@yahoo.com";
  data_.Put(after);  // Remove + Add
  EXPECT_EQ(data_.Eval("email", Operator::kEndsWith, {"@gmail.com"}),
            Of({"ann@gmail.com", "a@gmail.com"}));
  EXPECT_THAT(data_.Eval("email", Operator::kEndsWith, {"@yahoo.com"}),
              ElementsAre(c.id));
}

TEST(StringIndexTest, UnsetValues) {
  Indexed data;
  const ContactId acme = data.Put(WithEmail("a@x.com", "Acme Corp"));
  const ContactId globex = data.Put(WithEmail("b@x.com", "Globex"));
  const ContactId none = data.Put(WithEmail("c@x.com"));
  EXPECT_THAT(data.Eval("company", Operator::kContains, {"CORP"}),
              ElementsAre(acme));
  EXPECT_THAT(data.Eval("company", Operator::kNotContains, {"corp"}),
              ElementsAre(globex, none));
  EXPECT_THAT(data.Eval("company", Operator::kStartsWith, {"glo"}),
              ElementsAre(globex));
  EXPECT_THAT(data.Eval("company", Operator::kEndsWith, {"ORP"}),
              ElementsAre(acme));
  EXPECT_THAT(data.Eval("company", Operator::kNotEquals, {"acme corp"}),
              ElementsAre(globex, none));
  EXPECT_THAT(data.Eval("company", Operator::kNotIn, {"globex", "zzz"}),
              ElementsAre(acme, none));
  EXPECT_THAT(data.Eval("company", Operator::kIsSet),
              ElementsAre(acme, globex));
  EXPECT_THAT(data.Eval("company", Operator::kIsNotSet), ElementsAre(none));
  EXPECT_THAT(data.Eval("company", Operator::kContains, {"q"}), IsEmpty());
}

TEST(StringIndexTest, CaseVariantsShareAValue) {
  Indexed data;
  const ContactId a = data.Put(WithEmail("a@x.com", "ACME"));
  const ContactId b = data.Put(WithEmail("b@x.com", "acme"));
  EXPECT_THAT(data.Eval("company", Operator::kEquals, {"Acme"}),
              ElementsAre(a, b));
  data.Erase(a);
  EXPECT_THAT(data.Eval("company", Operator::kContains, {"cm"}),
              ElementsAre(b));
}

// Update(before, after, changed) against Remove(before) + Add(after), over
// random contacts and random updates, each index also checked against the
// per-contact evaluator for random conditions.
TEST(AttributeIndexUpdateTest, EqualsRemoveThenAdd) {
  testing::RandomData rd(20240611, kNow);
  std::map<ContactId, Contact> contacts;
  AttributeIndex updated, rebuilt;
  ContactTable table;
  for (ContactId id = 1; id <= 150; ++id) {
    ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(rd.Draft(), "c", kNow));
    c.id = id;
    contacts[id] = c;
    updated.Add(c);
    rebuilt.Add(c);
    table.Put(c);
  }
  for (int round = 0; round < 40; ++round) {
    for (int u = 0; u < 20; ++u) {
      const ContactId id = static_cast<ContactId>(rd.Uniform(1, 150));
      const Contact before = contacts[id];
      ASSERT_OK_AND_ASSIGN(
          ContactFieldSet mask,
          ParseContactFieldMask(rd.ContactMask(), "update_mask"));
      // A fresh email sometimes; the draft's email is ignored otherwise.
      ContactDraft draft = rd.Draft();
      Contact after = before;
      Violations violations;
      NormalizeContactFields(draft, mask, "c", kNow, &after, &violations);
      ASSERT_TRUE(violations.empty());
      // Fields in the mask may keep their value; fields outside must.
      updated.Update(before, after, mask);
      rebuilt.Remove(before);
      rebuilt.Add(after);
      table.Put(after);
      contacts[id] = after;
    }
    for (int q = 0; q < 30; ++q) {
      FilterSpec spec{static_cast<int>(Match::kAll), {rd.Condition()}};
      ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "f"));
      const Condition& c = f.conditions[0];
      const UnixSeconds now = kNow;
      std::vector<uint32_t> brute;
      for (const auto& [id, contact] : contacts) {
        if (ConditionMatches(c, contact, now)) brute.push_back(id);
      }
      const std::vector<uint32_t> by_update =
          Ids(updated.EvaluateCondition(c, now, table));
      const std::vector<uint32_t> by_rebuild =
          Ids(rebuilt.EvaluateCondition(c, now, table));
      ASSERT_EQ(by_update, brute)
          << "round " << round << ": "
          << testing::DescribeCondition(spec.conditions[0]);
      ASSERT_EQ(by_rebuild, brute)
          << "round " << round << ": "
          << testing::DescribeCondition(spec.conditions[0]);
    }
  }
}

TEST(AttributeIndexTest, AddBatchAndAddBatchConcurrentlyEqualAddOneByOne) {
  testing::RandomData rd(77, kNow);
  std::vector<Contact> contacts;
  ContactTable table;
  for (ContactId id = 1; id <= 300; ++id) {
    ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(rd.Draft(), "c", kNow));
    c.id = id;
    table.Put(c);
    contacts.push_back(std::move(c));
  }
  AttributeIndex one_by_one, batched, concurrent;
  for (const Contact& c : contacts) one_by_one.Add(c);
  batched.AddBatch(absl::MakeConstSpan(contacts).subspan(0, 100));
  batched.AddBatch(absl::MakeConstSpan(contacts).subspan(100));
  std::vector<const Contact*> pointers;
  for (const Contact& c : contacts) pointers.push_back(&c);
  concurrent.AddBatchConcurrently(absl::MakeConstSpan(pointers));
  EXPECT_EQ(batched.all(), one_by_one.all());
  EXPECT_EQ(concurrent.all(), one_by_one.all());
  for (int q = 0; q < 300; ++q) {
    FilterSpec spec{static_cast<int>(Match::kAll), {rd.Condition()}};
    ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "f"));
    const Condition& c = f.conditions[0];
    std::vector<uint32_t> brute;
    for (const Contact& contact : contacts) {
      if (ConditionMatches(c, contact, kNow)) brute.push_back(contact.id);
    }
    ASSERT_EQ(Ids(batched.EvaluateCondition(c, kNow, table)), brute)
        << testing::DescribeCondition(spec.conditions[0]);
    ASSERT_EQ(Ids(one_by_one.EvaluateCondition(c, kNow, table)), brute)
        << testing::DescribeCondition(spec.conditions[0]);
    ASSERT_EQ(Ids(concurrent.EvaluateCondition(c, kNow, table)), brute)
        << testing::DescribeCondition(spec.conditions[0]);
  }
}

// The ordered indexes group a batch by key with a counting sort when its
// keys are close together and a comparison sort when they are far apart
// (scores over the whole int32 range, timestamps from year 1 to 9999);
// the fields may also be added in parts, on two threads (ContactLoader).
// Both equal adding the contacts one at a time, and the brute-force
// evaluation, with the batch's ids in any order.
TEST(AttributeIndexTest, AddBatchWithKeysFarApartAndFieldsInParts) {
  testing::RandomData rd(4242, kNow);
  std::vector<Contact> contacts;
  ContactTable table;
  for (ContactId id = 1; id <= 2500; ++id) {
    ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(rd.Draft(), "c", kNow));
    c.id = id;
    // Batches of 1,000 below: the first close keys and a few far ones, the
    // second all far apart (both the comparison sort), the third close
    // keys only (the counting sort).
    const bool far = id > 1000 ? id <= 2000 : id % 97 == 0;
    if (far) {
      c.lead_score =
          static_cast<int32_t>(rd.Uniform(std::numeric_limits<int32_t>::min(),
                                          std::numeric_limits<int32_t>::max()));
      c.created_at = rd.Uniform(kMinTimestamp, kMaxTimestamp);
      if (id % 3 != 0) {
        c.last_engaged_at = rd.Uniform(kMinTimestamp, kMaxTimestamp);
      }
    }
    table.Put(c);
    contacts.push_back(std::move(c));
  }
  std::vector<const Contact*> pointers;
  for (const Contact& c : contacts) pointers.push_back(&c);
  // The last batch in descending id order.
  std::reverse(pointers.begin() + 2000, pointers.end());
  const auto all = absl::MakeConstSpan(pointers);
  const absl::Span<const Contact* const> batches[] = {
      all.subspan(0, 1000), all.subspan(1000, 1000), all.subspan(2000)};
  AttributeIndex one_by_one, batched, in_parts;
  for (const Contact& c : contacts) one_by_one.Add(c);
  for (const auto& batch : batches) batched.AddBatch(batch);
  // Odd fields on one thread, even ones (email, with all(), among them) on
  // another.
  ContactFieldSet even = 0;
  for (int f = 0; f < kContactFieldCount; f += 2) {
    even |= FieldBit(static_cast<ContactField>(f));
  }
  for (const auto& batch : batches) {
    RunConcurrently(
        [&] { in_parts.AddBatchFields(batch, even); },
        [&] { in_parts.AddBatchFields(batch, kAllContactFields & ~even); });
  }
  for (const AttributeIndex* index : {&batched, &in_parts}) {
    EXPECT_EQ(index->all(), one_by_one.all());
    for (Field f : {Field::kLeadScore, Field::kEngagementScore,
                    Field::kCreatedAt, Field::kLastEngagedAt}) {
      EXPECT_EQ(index->OrderedPostings(f), one_by_one.OrderedPostings(f));
    }
    for (Field f : {Field::kLifecycleStage, Field::kEngagementTrend,
                    Field::kConversionLikelihood}) {
      EXPECT_EQ(index->EnumPostings(f), one_by_one.EnumPostings(f));
    }
    for (Field f : {Field::kCompany, Field::kCountry, Field::kTags}) {
      EXPECT_EQ(index->ContactsWithValue(f), one_by_one.ContactsWithValue(f));
    }
    EXPECT_EQ(index->TagPostings(), one_by_one.TagPostings());
  }
  for (int q = 0; q < 300; ++q) {
    FilterSpec spec{static_cast<int>(Match::kAll), {rd.Condition()}};
    ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "f"));
    const Condition& c = f.conditions[0];
    std::vector<uint32_t> brute;
    for (const Contact& contact : contacts) {
      if (ConditionMatches(c, contact, kNow)) brute.push_back(contact.id);
    }
    ASSERT_EQ(Ids(batched.EvaluateCondition(c, kNow, table)), brute)
        << testing::DescribeCondition(spec.conditions[0]);
    ASSERT_EQ(Ids(in_parts.EvaluateCondition(c, kNow, table)), brute)
        << testing::DescribeCondition(spec.conditions[0]);
  }
}

// A batch indexed on its own and merged in (how a write's new contacts join
// the workspace's index) equals indexing them there, also under the
// updates and removals that follow.
TEST(AttributeIndexTest, MergeOfABatchIndexEqualsAddingItsContacts) {
  testing::RandomData rd(78, kNow);
  std::map<ContactId, Contact> contacts;
  ContactTable table;
  AttributeIndex merged, added;
  ContactId next_id = 1;
  for (int round = 0; round < 3; ++round) {
    std::vector<Contact> batch;
    for (int i = 0; i < 200; ++i) {
      ASSERT_OK_AND_ASSIGN(Contact c,
                           NormalizeNewContact(rd.Draft(), "c", kNow));
      c.id = next_id++;
      table.Put(c);
      contacts[c.id] = c;
      batch.push_back(std::move(c));
    }
    AttributeIndex batch_index;
    batch_index.AddBatch(absl::MakeConstSpan(batch));
    merged.Merge(std::move(batch_index));
    added.AddBatch(absl::MakeConstSpan(batch));
    // Some contacts change or go, through both indexes alike.
    for (int u = 0; u < 40; ++u) {
      const auto id = static_cast<ContactId>(rd.Uniform(1, next_id - 1));
      auto it = contacts.find(id);
      if (it == contacts.end()) continue;
      const Contact before = it->second;
      if (u % 4 == 0) {
        merged.Remove(before);
        added.Remove(before);
        table.Erase(id);
        contacts.erase(it);
        continue;
      }
      ASSERT_OK_AND_ASSIGN(Contact after,
                           NormalizeNewContact(rd.Draft(), "c", kNow));
      after.id = id;
      after.email = before.email;
      merged.Update(before, after, kAllContactFields);
      added.Update(before, after, kAllContactFields);
      table.Put(after);
      it->second = after;
    }
    EXPECT_EQ(merged.all(), added.all());
    for (int q = 0; q < 150; ++q) {
      FilterSpec spec{static_cast<int>(Match::kAll), {rd.Condition()}};
      ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "f"));
      const Condition& c = f.conditions[0];
      std::vector<uint32_t> brute;
      for (const auto& [id, contact] : contacts) {
        if (ConditionMatches(c, contact, kNow)) brute.push_back(id);
      }
      ASSERT_EQ(Ids(merged.EvaluateCondition(c, kNow, table)), brute)
          << "round " << round << ": "
          << testing::DescribeCondition(spec.conditions[0]);
      ASSERT_EQ(Ids(added.EvaluateCondition(c, kNow, table)), brute)
          << "round " << round << ": "
          << testing::DescribeCondition(spec.conditions[0]);
    }
  }
}

TEST(AttributeIndexUpdateTest, TouchesOnlyChangedFields) {
  Indexed data;
  Contact c = WithEmail("ann@gmail.com", "Acme");
  c.tags = {"a", "b", "c"};
  c.lead_score = 5;
  c.id = data.Put(c);
  Contact after = c;
  after.company = "ACME";  // same indexed value
  after.tags = {"b", "d"};
  after.lead_score = 7;
  after.email = "ann@yahoo.com";
  // Email and company are left out of `changed`: the company's case change
  // needs nothing, the email's domain would stay stale.
  data.index().Update(c, after,
                      FieldBit(ContactField::kTags) |
                          FieldBit(ContactField::kLeadScore) |
                          FieldBit(ContactField::kCompany));
  const ContactTable& table = data.table();
  auto eval = [&](const std::string& field, Operator op,
                  std::vector<RawValue> values) {
    return Ids(data.index().EvaluateCondition(
        MakeCondition(field, op, std::move(values)), kNow, table));
  };
  EXPECT_THAT(eval("tags", Operator::kHasAny, {"a"}), IsEmpty());
  EXPECT_THAT(eval("tags", Operator::kHasAll, {"b", "d"}), ElementsAre(c.id));
  EXPECT_THAT(eval("lead_score", Operator::kEquals, {int64_t{5}}), IsEmpty());
  EXPECT_THAT(eval("lead_score", Operator::kEquals, {int64_t{7}}),
              ElementsAre(c.id));
  EXPECT_THAT(eval("company", Operator::kEquals, {"acme"}), ElementsAre(c.id));
  EXPECT_THAT(eval("email", Operator::kEndsWith, {"@gmail.com"}),
              ElementsAre(c.id));
  data.index().Update(c, after, FieldBit(ContactField::kEmail));
  EXPECT_THAT(eval("email", Operator::kEndsWith, {"@gmail.com"}), IsEmpty());
  EXPECT_THAT(eval("email", Operator::kEndsWith, {"@yahoo.com"}),
              ElementsAre(c.id));
}

}  // namespace
}  // namespace segments
