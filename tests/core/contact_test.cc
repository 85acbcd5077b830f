#include "core/model/contact.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr UnixSeconds kNow = 1'700'000'000;

ContactDraft Draft() {
  ContactDraft d;
  d.email = "ann@example.com";
  return d;
}

std::vector<std::string> Paths(const absl::Status& status) {
  std::vector<std::string> paths;
  for (const FieldViolation& v : GetFieldViolations(status)) {
    paths.push_back(v.field);
  }
  return paths;
}

std::string Description(const absl::Status& status) {
  std::vector<FieldViolation> v = GetFieldViolations(status);
  return v.empty() ? "" : v[0].description;
}

// Asserts that NormalizeNewContact refuses `draft` with exactly these paths.
#define EXPECT_REFUSED_AT(draft, ...)                                         \
  do {                                                                        \
    absl::StatusOr<Contact> r_ =                                              \
        NormalizeNewContact((draft), "contact", kNow);                        \
    EXPECT_THAT(r_, StatusIs(absl::StatusCode::kInvalidArgument));            \
    EXPECT_THAT(Paths(r_.status()), ElementsAre(__VA_ARGS__)) << r_.status(); \
  } while (0)

TEST(NormalizeNewContact, DefaultsForAMinimalDraft) {
  ASSERT_OK_AND_ASSIGN(Contact c,
                       NormalizeNewContact(Draft(), "contact", kNow));
  EXPECT_EQ(c.id, 0u);
  EXPECT_EQ(c.email, "ann@example.com");
  EXPECT_EQ(c.company, "");
  EXPECT_THAT(c.tags, IsEmpty());
  EXPECT_EQ(c.lifecycle_stage, LifecycleStage::kSubscriber);
  EXPECT_EQ(c.lead_score, 0);
  EXPECT_EQ(c.engagement_score, 0);
  EXPECT_EQ(c.engagement_trend, EngagementTrend::kUnset);
  EXPECT_EQ(c.conversion_likelihood, ConversionLikelihood::kUnset);
  EXPECT_EQ(c.created_at, kNow);
  EXPECT_FALSE(c.last_engaged_at.has_value());
}

// --- email ------------------------------------------------------------------

TEST(ContactEmail, IsTrimmedAndLowercased) {
  ContactDraft d = Draft();
  d.email = " \tAnn.Lee@Example.COM\n";
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.email, "ann.lee@example.com");
}

TEST(ContactEmail, IsRequired) {
  ContactDraft d = Draft();
  d.email = "";
  EXPECT_REFUSED_AT(d, "contact.email");
  EXPECT_EQ(Description(NormalizeNewContact(d, "contact", kNow).status()),
            "is required");
  d.email = "   ";
  EXPECT_REFUSED_AT(d, "contact.email");
}

TEST(ContactEmail, NeedsExactlyOneAt) {
  for (const char* bad :
       {"ann.example.com", "ann@@example.com", "a@b@example.com"}) {
    ContactDraft d = Draft();
    d.email = bad;
    EXPECT_REFUSED_AT(d, "contact.email");
  }
}

TEST(ContactEmail, NeedsNonEmptyLocalPartAndDomain) {
  for (const char* bad : {"@example.com", "ann@", "@"}) {
    ContactDraft d = Draft();
    d.email = bad;
    EXPECT_REFUSED_AT(d, "contact.email");
  }
}

TEST(ContactEmail, RefusesInnerWhitespaceAndControlCharacters) {
  for (const char* bad :
       {"ann lee@example.com", "ann@exa\tmple.com", "ann\x01@example.com",
        "ann@example.com\x7f"
        "x"}) {
    ContactDraft d = Draft();
    d.email = bad;
    EXPECT_REFUSED_AT(d, "contact.email");
  }
}

TEST(ContactEmail, At254BytesAcceptedAt255Refused) {
  ContactDraft d = Draft();
  d.email = std::string(64, 'a') + "@" + std::string(189, 'b');  // 254
  ASSERT_EQ(d.email.size(), 254u);
  EXPECT_OK(NormalizeNewContact(d, "contact", kNow));
  d.email += "b";
  EXPECT_REFUSED_AT(d, "contact.email");
}

TEST(ContactEmail, MustBeValidUtf8) {
  ContactDraft d = Draft();
  d.email = "j\xC3\xBCrgen@example.de";  // valid: ü
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.email, "j\xC3\xBCrgen@example.de");
  d.email = "j\xC3rgen@example.de";
  EXPECT_REFUSED_AT(d, "contact.email");
}

// --- optional strings
// ---------------------------------------------------------

TEST(ContactStrings, AreTrimmedAndKeepTheirCase) {
  ContactDraft d = Draft();
  d.company = "  ACME Corp ";
  d.job_title = "\tVP Sales";
  d.country = "DE ";
  d.city = " München";
  d.source = "Webinar";
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.company, "ACME Corp");
  EXPECT_EQ(c.job_title, "VP Sales");
  EXPECT_EQ(c.country, "DE");
  EXPECT_EQ(c.city, "München");
  EXPECT_EQ(c.source, "Webinar");
}

TEST(ContactStrings, WhitespaceOnlyIsUnset) {
  ContactDraft d = Draft();
  d.company = " \t ";
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.company, "");
}

TEST(ContactStrings, At256BytesAcceptedAt257Refused) {
  ContactDraft d = Draft();
  d.city = "  " + std::string(256, 'x') + "  ";  // trimmed first
  EXPECT_OK(NormalizeNewContact(d, "contact", kNow));
  d.job_title = std::string(257, 'x');
  d.source = std::string(300, 'y');
  EXPECT_REFUSED_AT(d, "contact.job_title", "contact.source");
}

TEST(ContactStrings, MustBeValidUtf8) {
  ContactDraft d = Draft();
  d.country = "\xFF";
  d.company = "ok";
  d.city = "\xE2\x82";  // truncated sequence
  EXPECT_REFUSED_AT(d, "contact.country", "contact.city");
}

// --- tags
// ----------------------------------------------------------------------

TEST(ContactTags, AreTrimmedLowercasedSortedAndMerged) {
  ContactDraft d = Draft();
  d.tags = {" VIP", "beta", "vip ", "Alpha", "BETA"};
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_THAT(c.tags, ElementsAre("alpha", "beta", "vip"));
}

TEST(ContactTags, EmptyTagIsRefusedAtItsIndex) {
  ContactDraft d = Draft();
  d.tags = {"ok", "  ", "fine", ""};
  EXPECT_REFUSED_AT(d, "contact.tags[1]", "contact.tags[3]");
}

TEST(ContactTags, At64BytesAcceptedAt65Refused) {
  ContactDraft d = Draft();
  d.tags = {std::string(64, 't')};
  EXPECT_OK(NormalizeNewContact(d, "contact", kNow));
  d.tags = {"a", std::string(65, 't')};
  EXPECT_REFUSED_AT(d, "contact.tags[1]");
}

TEST(ContactTags, MustBeValidUtf8) {
  ContactDraft d = Draft();
  d.tags = {"caf\xC3\xA9", "caf\xE9"};
  EXPECT_REFUSED_AT(d, "contact.tags[1]");
}

TEST(ContactTags, AtMostOneHundredDistinct) {
  ContactDraft d = Draft();
  for (int i = 0; i < 100; ++i) d.tags.push_back("t" + std::to_string(i));
  // Duplicates (after normalization) do not count against the limit.
  for (int i = 0; i < 50; ++i) d.tags.push_back("T" + std::to_string(i));
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.tags.size(), 100u);
  d.tags.push_back("one-more");
  EXPECT_REFUSED_AT(d, "contact.tags");
  EXPECT_THAT(Description(NormalizeNewContact(d, "contact", kNow).status()),
              HasSubstr("100"));
}

// --- enums and numbers
// ---------------------------------------------------------

TEST(ContactLifecycle, ZeroIsSubscriberUnknownIsRefused) {
  ContactDraft d = Draft();
  d.lifecycle_stage = 0;
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.lifecycle_stage, LifecycleStage::kSubscriber);
  for (int v = 1; v <= 5; ++v) {
    d.lifecycle_stage = v;
    ASSERT_OK_AND_ASSIGN(c, NormalizeNewContact(d, "contact", kNow));
    EXPECT_EQ(static_cast<int>(c.lifecycle_stage), v);
  }
  for (int bad : {6, -1, 100}) {
    d.lifecycle_stage = bad;
    EXPECT_REFUSED_AT(d, "contact.lifecycle_stage");
  }
}

TEST(ContactLeadScore, MustFitInt32) {
  ContactDraft d = Draft();
  for (int64_t ok : {int64_t{INT32_MIN}, int64_t{-7}, int64_t{INT32_MAX}}) {
    d.lead_score = ok;
    ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
    EXPECT_EQ(c.lead_score, ok);
  }
  for (int64_t bad : {int64_t{INT32_MIN} - 1, int64_t{INT32_MAX} + 1}) {
    d.lead_score = bad;
    EXPECT_REFUSED_AT(d, "contact.lead_score");
  }
}

TEST(ContactEngagementScore, ZeroToHundred) {
  ContactDraft d = Draft();
  for (int64_t ok : {0, 55, 100}) {
    d.engagement_score = ok;
    ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
    EXPECT_EQ(c.engagement_score, ok);
  }
  for (int64_t bad : {-1, 101}) {
    d.engagement_score = bad;
    EXPECT_REFUSED_AT(d, "contact.engagement_score");
  }
}

TEST(ContactTrendAndLikelihood, ZeroIsUnsetUnknownIsRefused) {
  ContactDraft d = Draft();
  d.engagement_trend = 3;
  d.conversion_likelihood = 4;
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.engagement_trend, EngagementTrend::kDeclining);
  EXPECT_EQ(c.conversion_likelihood, ConversionLikelihood::kVeryLikely);
  d.engagement_trend = 0;
  d.conversion_likelihood = 0;
  ASSERT_OK_AND_ASSIGN(c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.engagement_trend, EngagementTrend::kUnset);
  EXPECT_EQ(c.conversion_likelihood, ConversionLikelihood::kUnset);
  d.engagement_trend = 4;
  d.conversion_likelihood = 5;
  EXPECT_REFUSED_AT(d, "contact.engagement_trend",
                    "contact.conversion_likelihood");
  d.engagement_trend = -1;
  d.conversion_likelihood = -1;
  EXPECT_REFUSED_AT(d, "contact.engagement_trend",
                    "contact.conversion_likelihood");
}

// --- timestamps
// ----------------------------------------------------------------

TEST(ContactCreatedAt, NewContactGetsNowUnlessSupplied) {
  ContactDraft d = Draft();
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.created_at, kNow);
  d.created_at = 946684800;  // an import of a historical contact
  ASSERT_OK_AND_ASSIGN(c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.created_at, 946684800);
  d.created_at = kMinTimestamp;
  EXPECT_OK(NormalizeNewContact(d, "contact", kNow));
  d.created_at = kMaxTimestamp;
  EXPECT_OK(NormalizeNewContact(d, "contact", kNow));
}

TEST(ContactCreatedAt, IsRangeChecked) {
  ContactDraft d = Draft();
  d.created_at = kMaxTimestamp + 1;
  EXPECT_REFUSED_AT(d, "contact.created_at");
  d.created_at = kMinTimestamp - 1;
  EXPECT_REFUSED_AT(d, "contact.created_at");
}

TEST(ContactCreatedAt, AnUpdateWithoutOneNeverResetsIt) {
  Contact existing;
  existing.created_at = 12345;
  Violations v;
  NormalizeContactFields(Draft(), kAllContactFields, "contact", kNow, &existing,
                         &v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(existing.created_at, 12345);
  ContactDraft d = Draft();
  d.created_at = 999;
  NormalizeContactFields(d, FieldBit(ContactField::kCreatedAt), "contact", kNow,
                         &existing, &v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(existing.created_at, 999);
}

TEST(ContactLastEngagedAt, AbsentIsUnsetAndRangeChecked) {
  ContactDraft d = Draft();
  d.last_engaged_at = 1'650'000'000;
  ASSERT_OK_AND_ASSIGN(Contact c, NormalizeNewContact(d, "contact", kNow));
  EXPECT_EQ(c.last_engaged_at, 1'650'000'000);
  // Naming the field without a value clears it.
  Violations v;
  NormalizeContactFields(Draft(), FieldBit(ContactField::kLastEngagedAt),
                         "contact", kNow, &c, &v);
  EXPECT_TRUE(v.empty());
  EXPECT_FALSE(c.last_engaged_at.has_value());
  d.last_engaged_at = kMaxTimestamp + 1;
  EXPECT_REFUSED_AT(d, "contact.last_engaged_at");
}

// --- masks and partial updates
// ----------------------------------------------------

TEST(ContactFieldNames, RoundTripForEveryField) {
  for (int i = 0; i < kContactFieldCount; ++i) {
    const auto f = static_cast<ContactField>(i);
    const std::string_view name = ContactFieldName(f);
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(ParseContactField(name), f) << name;
  }
  EXPECT_EQ(ContactFieldName(ContactField::kJobTitle), "job_title");
  EXPECT_EQ(ContactFieldName(ContactField::kLastEngagedAt), "last_engaged_at");
  EXPECT_FALSE(ParseContactField("id").has_value());
  EXPECT_FALSE(ParseContactField("Email").has_value());
  EXPECT_FALSE(ParseContactField("").has_value());
}

TEST(ContactFieldMask, EmptyMeansEveryField) {
  ASSERT_OK_AND_ASSIGN(ContactFieldSet set, ParseContactFieldMask({}, "m"));
  EXPECT_EQ(set, kAllContactFields);
}

TEST(ContactFieldMask, NamedFieldsOnly) {
  ASSERT_OK_AND_ASSIGN(
      ContactFieldSet set,
      ParseContactFieldMask({"tags", "lead_score", "tags"}, "update_mask"));
  EXPECT_EQ(set,
            FieldBit(ContactField::kTags) | FieldBit(ContactField::kLeadScore));
}

TEST(ContactFieldMask, UnknownPathsAndIdAreRefusedAtTheirIndex) {
  absl::StatusOr<ContactFieldSet> r =
      ParseContactFieldMask({"email", "colour", "id", "Email"}, "update_mask");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Paths(r.status()),
              ElementsAre("update_mask.paths[1]", "update_mask.paths[2]",
                          "update_mask.paths[3]"));
}

TEST(ContactFieldMask, GarbagePathsAreNotEchoed) {
  absl::StatusOr<ContactFieldSet> r =
      ParseContactFieldMask({"\xFF\xFE", std::string(500, 'p')}, "m");
  std::vector<FieldViolation> v = GetFieldViolations(r.status());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].description, "unknown contact field");
  EXPECT_EQ(v[1].description, "unknown contact field");
}

TEST(NormalizeContactFields, TouchesOnlyTheNamedFields) {
  Contact existing;
  existing.email = "old@example.com";
  existing.company = "Old Co";
  existing.tags = {"keep"};
  existing.lead_score = 5;
  ContactDraft d;  // email empty: would be refused if it were named
  d.company = " New Co ";
  d.lead_score = 9;
  d.tags = {"ignored"};
  Violations v;
  NormalizeContactFields(
      d, FieldBit(ContactField::kCompany) | FieldBit(ContactField::kLeadScore),
      "contact", kNow, &existing, &v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(existing.email, "old@example.com");
  EXPECT_EQ(existing.company, "New Co");
  EXPECT_THAT(existing.tags, ElementsAre("keep"));
  EXPECT_EQ(existing.lead_score, 9);
}

TEST(NormalizeContactFields, ReportsEveryViolationUnderThePath) {
  ContactDraft d;
  d.email = "not-an-email";
  d.city = std::string(300, 'c');
  d.tags = {"ok", ""};
  d.lifecycle_stage = 9;
  d.engagement_score = 500;
  d.last_engaged_at = kMinTimestamp - 1;
  Contact c;
  Violations v;
  NormalizeContactFields(d, kAllContactFields, "contacts[3]", kNow, &c, &v);
  std::vector<std::string> paths;
  for (const FieldViolation& fv : v.list()) paths.push_back(fv.field);
  EXPECT_THAT(paths,
              ElementsAre("contacts[3].email", "contacts[3].city",
                          "contacts[3].tags[1]", "contacts[3].lifecycle_stage",
                          "contacts[3].engagement_score",
                          "contacts[3].last_engaged_at"));
  absl::Status s = v.ToStatus();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("contacts[3].email")));
}

TEST(NormalizeContactFields, EmptyPathGivesBareFieldNames) {
  ContactDraft d;
  Contact c;
  Violations v;
  NormalizeContactFields(d, FieldBit(ContactField::kEmail), "", kNow, &c, &v);
  ASSERT_EQ(v.list().size(), 1u);
  EXPECT_EQ(v.list()[0].field, "email");
}

TEST(ContactEquality, ComparesEveryField) {
  ASSERT_OK_AND_ASSIGN(Contact a, NormalizeNewContact(Draft(), "c", kNow));
  Contact b = a;
  EXPECT_TRUE(a == b);
  b.last_engaged_at = 1;
  EXPECT_FALSE(a == b);
  b = a;
  b.tags = {"x"};
  EXPECT_FALSE(a == b);
  b = a;
  b.id = 2;
  EXPECT_FALSE(a == b);
  b = a;
  b.conversion_likelihood = ConversionLikelihood::kLow;
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace segments
