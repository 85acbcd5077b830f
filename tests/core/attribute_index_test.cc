// Tests of core/attribute_index.cc and core/value_dictionary.cc: the email
// domain paths, the contiguous dictionaries (tombstones, compaction), and
// Update against Remove + Add. Every answer is also checked against the
// per-contact evaluator (core/evaluator.h) over all contacts.
#include "core/index/attribute_index.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/index/contact_table.h"
#include "core/index/evaluator.h"
#include "core/index/value_dictionary.h"
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
using ::testing::SizeIs;
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

// The contacts of every value matching `op` / `needle`.
std::vector<uint32_t> Matches(const ValueDictionary& dict, Operator op,
                              std::string_view needle) {
  UnionBuilder out;
  dict.CollectMatches(op, needle, &out);
  return Ids(out.Build());
}

std::vector<uint32_t> Range(uint32_t first, uint32_t last) {
  std::vector<uint32_t> ids;
  for (uint32_t i = first; i <= last; ++i) ids.push_back(i);
  return ids;
}

TEST(ValueDictionaryTest, ScansSkipTombstonesAndCompact) {
  ValueDictionary dict;
  for (uint32_t i = 0; i < 100; ++i) dict.Add(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 100u);
  // Remove 40: tombstones, below the compaction threshold of half.
  for (uint32_t i = 0; i < 40; ++i) dict.Remove(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 60u);
  EXPECT_EQ(dict.slots(), 100u);
  EXPECT_THAT(Matches(dict, Operator::kContains, "value-3"), IsEmpty());
  EXPECT_EQ(Matches(dict, Operator::kStartsWith, "value-4"), Range(40, 49));
  EXPECT_EQ(Matches(dict, Operator::kContains, "-"), Range(40, 99));
  // Ten more: half the slots are tombstones, so the arena is compacted.
  for (uint32_t i = 40; i < 50; ++i) dict.Remove(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 50u);
  EXPECT_EQ(dict.slots(), 50u);
  for (uint32_t i = 0; i < 100; ++i) {
    const Postings* p = dict.Find(absl::StrCat("value-", i));
    if (i < 50) {
      EXPECT_EQ(p, nullptr) << i;
    } else {
      ASSERT_NE(p, nullptr) << i;
      EXPECT_THAT(Ids(p->ToRoaring()), ElementsAre(i));
    }
  }
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "9"),
              ElementsAre(59, 69, 79, 89, 99));
  EXPECT_EQ(Matches(dict, Operator::kContains, "value"), Range(50, 99));
  // A removed value comes back in a new slot.
  dict.Add("value-7", 1000);
  ASSERT_NE(dict.Find("value-7"), nullptr);
  EXPECT_THAT(Ids(dict.Find("value-7")->ToRoaring()), ElementsAre(1000u));
  EXPECT_EQ(dict.slots(), 51u);
}

TEST(ValueDictionaryTest, MatchesNeverCrossValues) {
  ValueDictionary dict;
  dict.Add("ab", 1);
  dict.Add("cd", 2);
  dict.Add(std::string("x\0y", 3), 3);
  EXPECT_THAT(Matches(dict, Operator::kContains, "bc"), IsEmpty());
  EXPECT_THAT(Matches(dict, Operator::kContains, std::string("b\0c", 3)),
              IsEmpty());
  // Only the value holding a NUL.
  EXPECT_THAT(Matches(dict, Operator::kContains, std::string("\0", 1)),
              ElementsAre(3u));
  EXPECT_THAT(Matches(dict, Operator::kContains, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kContains, "d"), ElementsAre(2u));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "b"), ElementsAre(1u));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "abc"), IsEmpty());
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "xab"), IsEmpty());
}

TEST(ValueDictionaryTest, RepeatedAndMissingIds) {
  ValueDictionary dict;
  for (ContactId id = 1; id <= 10; ++id) dict.Add(id % 2 ? "odd" : "even", id);
  dict.Add("odd", 1);  // already there
  dict.Remove("odd", 3);
  dict.Remove("odd", 2);  // not there
  dict.Remove("missing", 3);
  ASSERT_NE(dict.Find("odd"), nullptr);
  EXPECT_THAT(Ids(dict.Find("odd")->ToRoaring()), ElementsAre(1u, 5u, 7u, 9u));
  EXPECT_EQ(dict.Find("odd")->size(), 4u);
  EXPECT_EQ(dict.size(), 2u);
  for (ContactId id : {1, 5, 7, 9}) dict.Remove("odd", id);
  EXPECT_EQ(dict.Find("odd"), nullptr);
  EXPECT_EQ(dict.size(), 1u);
}

// Values past Postings::kMaxSmall contacts switch to a bitmap and back.
TEST(ValueDictionaryTest, LargeValuesUseBitmaps) {
  ValueDictionary dict;
  const uint32_t n = 3 * Postings::kMaxSmall;
  // Ids spread over several Roaring containers, added out of order.
  for (uint32_t i = n; i >= 1; --i) dict.Add("big", i * 1000);
  dict.Add("small", 7);
  const Postings* big = dict.Find("big");
  ASSERT_NE(big, nullptr);
  ASSERT_NE(big->bitmap(), nullptr);
  EXPECT_EQ(big->size(), n);
  EXPECT_EQ(dict.Find("small")->bitmap(), nullptr);
  std::vector<uint32_t> want;
  for (uint32_t i = 1; i <= n; ++i) want.push_back(i * 1000);
  std::vector<uint32_t> with_small = want;
  with_small.insert(with_small.begin(), 7);
  EXPECT_EQ(Matches(dict, Operator::kContains, ""), with_small);
  EXPECT_EQ(Matches(dict, Operator::kStartsWith, "b"), want);
  // Down to fewer than kMaxSmall / 2: back to an array.
  for (uint32_t i = 1; i <= n - Postings::kMaxSmall / 2 + 1; ++i) {
    dict.Remove("big", i * 1000);
  }
  big = dict.Find("big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->bitmap(), nullptr);
  want.erase(want.begin(), want.begin() + (n - Postings::kMaxSmall / 2 + 1));
  EXPECT_EQ(Ids(big->ToRoaring()), want);
  EXPECT_EQ(Matches(dict, Operator::kEndsWith, "ig"), want);
}

// Merging covers every pairing of small arrays and bitmaps: appended
// (the new contacts of a batch), interleaved, and past kMaxSmall.
TEST(ValueDictionaryTest, MergeAddsEveryValuesContacts) {
  const uint32_t k = Postings::kMaxSmall;
  ValueDictionary dict, other;
  std::map<std::string, std::set<uint32_t>> want;
  auto add = [&want](ValueDictionary& d, const std::string& v, uint32_t id) {
    d.Add(v, id);
    want[v].insert(id);
  };
  for (uint32_t i = 1; i <= 10; ++i) {
    add(dict, "append", i);
    add(other, "append", 100 + i);
    add(dict, "interleave", 2 * i);
    add(other, "interleave", 2 * i + 1);
  }
  for (uint32_t i = 1; i <= k / 2 + 10; ++i) {  // two small ones, one big
    add(dict, "grows", i);
    add(other, "grows", 1000 + i);
  }
  for (uint32_t i = 1; i <= 2 * k; ++i) {
    add(dict, "big+small", i);
    add(other, "small+big", i);
    add(dict, "big+big", 3 * i);
    add(other, "big+big", 3 * i + 1);
  }
  add(other, "big+small", 5000);
  add(dict, "small+big", 5000);
  add(other, "only in other", 9);
  dict.Merge(std::move(other));
  EXPECT_EQ(dict.size(), want.size());
  for (const auto& [value, ids] : want) {
    const Postings* p = dict.Find(value);
    ASSERT_NE(p, nullptr) << value;
    EXPECT_EQ(Ids(p->ToRoaring()),
              std::vector<uint32_t>(ids.begin(), ids.end()))
        << value;
    EXPECT_EQ(p->size(), ids.size()) << value;
    EXPECT_EQ(p->bitmap() != nullptr, ids.size() > k) << value;
  }
  // Merged postings still shrink and go as before.
  for (uint32_t i = 1; i <= 10; ++i) dict.Remove("append", i);
  EXPECT_THAT(Ids(dict.Find("append")->ToRoaring()), SizeIs(10));
  for (uint32_t i = 101; i <= 110; ++i) dict.Remove("append", i);
  EXPECT_EQ(dict.Find("append"), nullptr);
  EXPECT_EQ(Matches(dict, Operator::kContains, "only"),
            std::vector<uint32_t>{9});
}

// Many small values: the builder switches from a list to a bit array.
TEST(UnionBuilderTest, ManySmallListsAndBitmaps) {
  UnionBuilder builder;
  std::vector<uint32_t> want;
  for (uint32_t v = 0; v < 2000; ++v) {
    std::vector<uint32_t> ids = {v * 3 + 100000, v * 3 + 100001};
    builder.AddIds(ids);
    want.insert(want.end(), ids.begin(), ids.end());
  }
  Roaring big;
  for (uint32_t i = 0; i < 70000; i += 7) big.add(i);
  builder.AddBitmap(&big);
  for (uint32_t i = 0; i < 70000; i += 7) want.push_back(i);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ids(builder.Build()), want);
  // Empty after Build.
  EXPECT_TRUE(builder.Build().isEmpty());
  builder.AddIds({5});
  EXPECT_THAT(Ids(builder.Build()), ElementsAre(5u));
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
