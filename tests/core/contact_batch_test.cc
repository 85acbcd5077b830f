#include "core/index/contact_batch.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace segments {
namespace {

Contact Make(ContactId id, std::string email, UnixSeconds created,
             std::optional<UnixSeconds> engaged) {
  Contact c;
  c.id = id;
  c.email = std::move(email);
  c.created_at = created;
  c.last_engaged_at = engaged;
  return c;
}

TEST(ContactBatchTest, AnswersForItsContactsOnly) {
  const std::vector<Contact> contacts = {Make(7, "a@x.com", 100, std::nullopt),
                                         Make(9, "b@x.com", 200, 250),
                                         Make(12, "c@y.org", 300, 330)};
  ContactBatch batch({&contacts[0], &contacts[1], &contacts[2]});

  EXPECT_EQ(batch.FindEmail("b@x.com"), 9u);
  EXPECT_EQ(batch.FindEmail("c@y.org"), 12u);
  EXPECT_EQ(batch.FindEmail("B@x.com"), 0u);  // emails are normalized
  EXPECT_EQ(batch.FindEmail("z@x.com"), 0u);

  EXPECT_EQ(batch.created_at(7), 100);
  EXPECT_EQ(batch.created_at(12), 300);
  EXPECT_EQ(batch.last_engaged_at(7), std::nullopt);
  EXPECT_EQ(batch.last_engaged_at(9), std::optional<UnixSeconds>(250));

  std::vector<std::pair<std::string, ContactId>> seen;
  batch.ForEachEmail([&](const std::string& email, ContactId id) {
    seen.emplace_back(email, id);
  });
  const std::vector<std::pair<std::string, ContactId>> want = {
      {"a@x.com", 7}, {"b@x.com", 9}, {"c@y.org", 12}};
  EXPECT_EQ(seen, want);  // by ascending id
}

}  // namespace
}  // namespace segments
