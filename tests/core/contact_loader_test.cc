#include "core/engine/internal/contact_loader.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/filter.h"
#include "gtest/gtest.h"

namespace segments::engine {
namespace {

// Contact `id` of a small varied set: a few countries and tags, and every
// third one without a last engagement.
Contact Numbered(ContactId id) {
  Contact c;
  c.id = id;
  c.email = absl::StrCat("c", id, "@example.com");
  c.country = id % 3 == 0 ? "DE" : (id % 3 == 1 ? "FR" : "");
  c.company = absl::StrCat("company ", id % 17);
  if (id % 2 == 0) c.tags = {"even"};
  if (id % 5 == 0) c.tags.push_back("five");
  c.lead_score = static_cast<int32_t>(id % 101);
  c.created_at = 1700000000 + static_cast<int64_t>(id) * 3600;
  if (id % 3 != 0) c.last_engaged_at = 1710000000 + id;
  return c;
}

Filter Valid(const FilterSpec& spec) {
  absl::StatusOr<Filter> f = ValidateFilter(spec, "filter");
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : Filter();
}

// Every size around the batch and its thread: none, one, a partial batch, a
// full one, one more, several and a part.
class ContactLoaderTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ContactLoaderTest, IndexesAndTablesWhatAddingEachOneWould) {
  const size_t n = GetParam();
  AttributeIndex index, expected_index;
  ContactTable table, expected_table;
  {
    ContactLoader loader(&index, &table);
    for (ContactId id = 1; id <= n; ++id) {
      const Contact c = Numbered(id);
      loader.Add(c);
      expected_index.Add(c);
      expected_table.Put(c);
    }
    loader.Finish();
  }
  ASSERT_EQ(table.size(), expected_table.size());
  for (ContactId id = 1; id <= n + 1; ++id) {
    EXPECT_EQ(table.Get(id), expected_table.Get(id)) << "id " << id;
  }
  const std::vector<FilterSpec> filters = {
      {1, {{"country", 1, {std::string("de")}}}},
      {1, {{"tags", 14, {std::string("five")}}}},
      {2,
       {{"lead_score", 10, {int64_t{50}}},
        {"last_engaged_at", 21, {}},
        {"company", 5, {std::string("ny 1")}}}},
  };
  const UnixSeconds now = 1720000000;
  for (const FilterSpec& spec : filters) {
    const Filter f = Valid(spec);
    EXPECT_EQ(index.Evaluate(f, now, table),
              expected_index.Evaluate(f, now, expected_table));
  }
  EXPECT_EQ(index.all().cardinality(), n);
}

TEST(ContactLoaderTest, TheDestructorFinishes) {
  AttributeIndex index;
  ContactTable table;
  {
    ContactLoader loader(&index, &table);
    for (ContactId id = 1; id <= 3000; ++id) loader.Add(Numbered(id));
  }
  EXPECT_EQ(table.size(), 3000u);
  EXPECT_EQ(index.all().cardinality(), 3000u);
}

// Every slot filled and reused three times over, and a partial batch.
constexpr size_t kSlotCycles =
    ContactLoader::kBatch * ContactLoader::kSlots * 3 + 7;
INSTANTIATE_TEST_SUITE_P(Sizes, ContactLoaderTest,
                         ::testing::Values(0, 1, 1000, ContactLoader::kBatch,
                                           ContactLoader::kBatch + 1, 5000,
                                           kSlotCycles));

}  // namespace
}  // namespace segments::engine
