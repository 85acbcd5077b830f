#include "tests/testing/random_data.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/field_catalog.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"

namespace segments::testing {
namespace {

constexpr int kOpIn = 3, kOpNotIn = 4, kOpContains = 5, kOpNotContains = 6,
              kOpStartsWith = 7, kOpEndsWith = 8, kOpBetween = 13,
              kOpHasAny = 14, kOpHasAll = 15, kOpHasNone = 16, kOpBefore = 17,
              kOpAfter = 18, kOpWithinLastDays = 19, kOpMoreThanDaysAgo = 20,
              kOpIsSet = 21, kOpIsNotSet = 22;

constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

// A string of exactly `n` bytes in alternating case, for length limits.
std::string LongValue(std::string_view prefix, size_t n) {
  std::string s(prefix);
  for (size_t i = s.size(); i < n; ++i) {
    char base = (i % 2 == 0) ? 'A' : 'a';
    s.push_back(static_cast<char>(base + i % 26));
  }
  return s;
}

// Shared small vocabularies per string field. Mixed case, non-ASCII letters
// (which ASCII case-insensitivity must NOT fold), inner spaces, and one value
// at the 256-byte limit.
const std::vector<std::string>& Vocabulary(const std::string& field) {
  static const auto* const kCompany =
      new std::vector<std::string>{"Acme",
                                   "ACME",
                                   "acme corp",
                                   "Acme Corp",
                                   "Globex",
                                   "Initech",
                                   "Umbrella",
                                   "Ünïcode GmbH",
                                   "ÜNÏCODE GMBH",
                                   "O'Reilly & Sons",
                                   "a",
                                   LongValue("Long-", 256)};
  static const auto* const kJobTitle =
      new std::vector<std::string>{"CEO",
                                   "ceo",
                                   "Head of Sales",
                                   "head of sales",
                                   "Engineer",
                                   "Senior Engineer",
                                   "VP Marketing",
                                   "Marketing Manager",
                                   "cto"};
  static const auto* const kCountry = new std::vector<std::string>{
      "US",     "us", "Germany",       "GERMANY",
      "France", "DE", "Côte d'Ivoire", "United States"};
  static const auto* const kCity = new std::vector<std::string>{
      "Berlin", "berlin",    "New York", "NEW YORK",
      "Paris",  "São Paulo", "York",     LongValue("City-", 256)};
  static const auto* const kSource = new std::vector<std::string>{
      "webinar", "Webinar",     "import",  "Organic Search",
      "organic", "paid-search", "Referral"};
  if (field == "company") return *kCompany;
  if (field == "job_title") return *kJobTitle;
  if (field == "country") return *kCountry;
  if (field == "city") return *kCity;
  return *kSource;
}

const std::vector<std::string>& TagVocabulary() {
  static const auto* const kTags = new std::vector<std::string>{
      "vip",         "VIP",       "newsletter", "Beta",
      "beta-tester", "trial",     "churn-risk", "b2b",
      "B2C",         "événement", "q3 2024",    LongValue("tag-", 64)};
  return *kTags;
}

// Fragments of the generated emails, for the substring operators.
const std::vector<std::string>& EmailFragments() {
  static const auto* const kFragments = new std::vector<std::string>{
      "ann", "Bob",       "carol", "@acme.com", "acme",         ".org",
      "@",   "globex.io", "ex",    ".1",        "@example.org", "mail."};
  return *kFragments;
}

const std::vector<std::string>& EmailLocals() {
  static const auto* const kLocals = new std::vector<std::string>{
      "ann", "Bob", "carol", "DAVE", "eve.x", "f_g", "h+i"};
  return *kLocals;
}

const std::vector<std::string>& EmailDomains() {
  static const auto* const kDomains = new std::vector<std::string>{
      "acme.com",    "Acme.COM",         "globex.io",
      "example.org", "mail.example.org", "ex.co"};
  return *kDomains;
}

bool IsUtf8Continuation(char ch) {
  return (static_cast<unsigned char>(ch) & 0xC0) == 0x80;
}

}  // namespace

std::vector<FieldOp> CatalogPairs() {
  std::vector<FieldOp> pairs;
  for (const FieldInfo& info : AllFields()) {
    for (Operator op : info.operators) {
      pairs.push_back({std::string(info.name), static_cast<int>(op)});
    }
  }
  return pairs;
}

const std::vector<std::string>& ContactFieldNames() {
  static const auto* const kNames =
      new std::vector<std::string>{"email",
                                   "company",
                                   "job_title",
                                   "country",
                                   "city",
                                   "source",
                                   "tags",
                                   "lifecycle_stage",
                                   "lead_score",
                                   "engagement_score",
                                   "engagement_trend",
                                   "conversion_likelihood",
                                   "created_at",
                                   "last_engaged_at"};
  return *kNames;
}

RandomData::RandomData(uint64_t seed, UnixSeconds base)
    : state_(seed), base_(base), pairs_(CatalogPairs()) {}

uint64_t RandomData::Next() {
  // splitmix64: tiny, and the same sequence on every platform.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t RandomData::Uniform(int64_t lo, int64_t hi) {
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
  return lo + static_cast<int64_t>(Next() % span);
}

bool RandomData::Percent(int percent) { return Uniform(0, 99) < percent; }

UnixSeconds RandomData::Timestamp() {
  if (Percent(3)) return kMinTimestamp;
  if (Percent(3)) return kMaxTimestamp;
  static const std::vector<int64_t> kDays = {0,  1,  2,  3,   5,    7,
                                             10, 30, 90, 365, 3650, 3651};
  int64_t days = Percent(80) ? Pick(kDays) : Uniform(-5, 4000);
  int64_t delta = Percent(60) ? Uniform(-1, 1) : Uniform(-kDay + 1, kDay - 1);
  return base_ - days * kDay + delta;
}

UnixSeconds RandomData::Now() {
  if (Percent(60)) return base_ + Uniform(-1, 1);
  return base_ + Uniform(-2 * kDay, 2 * kDay);
}

int64_t RandomData::Days() {
  static const std::vector<int64_t> kDays = {1,  2,  3,  5,   7,
                                             10, 30, 90, 365, 3650};
  return Percent(75) ? Pick(kDays) : Uniform(1, 3650);
}

std::string RandomData::RandomCase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (!Percent(50)) continue;
    if (ch >= 'a' && ch <= 'z') {
      ch = static_cast<char>(ch - 'a' + 'A');
    } else if (ch >= 'A' && ch <= 'Z') {
      ch = static_cast<char>(ch - 'A' + 'a');
    }
  }
  return out;
}

std::string RandomData::MaybePad(std::string s, size_t max_bytes) {
  static const std::vector<std::string> kPads = {" ", "  ", "\t", " \t "};
  if (Percent(25)) {
    std::string left = Percent(50) ? Pick(kPads) : "";
    std::string right = Percent(50) ? Pick(kPads) : " ";
    if (left.size() + s.size() + right.size() <= max_bytes)
      s = left + s + right;
  }
  return s;
}

std::string RandomData::NewEmail() {
  ++email_counter_;
  std::string local = absl::StrCat(Pick(EmailLocals()), ".", email_counter_);
  std::string domain = Pick(EmailDomains());
  if (Percent(20)) {
    // Many small domains, so the engine's domain dictionary sees values come
    // and go (tombstones, compaction), not only six big ones.
    domain = absl::StrCat("d", Uniform(0, 79), ".example.org");
  } else if (Percent(1)) {
    // Exactly 254 bytes, the limit: pad the domain with a long label.
    size_t fixed = local.size() + 1 + std::string(".example.org").size();
    domain = std::string(254 - fixed, 'd') + ".example.org";
  }
  std::string email = absl::StrCat(local, "@", domain);
  emails_.push_back(RefLower(email));
  return MaybePad(Percent(40) ? RandomCase(email) : email, 1000);
}

std::string RandomData::EmailVariant(const std::string& normalized_email) {
  return MaybePad(RandomCase(normalized_email), 1000);
}

ContactDraft RandomData::Draft(std::string email) {
  ContactDraft d;
  d.email = std::move(email);
  auto string_field = [&](const std::string& field) -> std::string {
    if (Percent(25)) {
      static const std::vector<std::string> kUnset = {"", "", "   ", "\t"};
      return Pick(kUnset);  // whitespace only: unset after trimming
    }
    std::string v = Pick(Vocabulary(field));
    if (Percent(30)) v = RandomCase(v);
    return MaybePad(v, 1000);  // contacts are limited after trimming
  };
  d.company = string_field("company");
  d.job_title = string_field("job_title");
  d.country = string_field("country");
  d.city = string_field("city");
  d.source = string_field("source");

  if (Percent(2)) {
    // Exactly 100 distinct tags once normalized, with case/space duplicates.
    for (int i = 0; i < 100; ++i) d.tags.push_back(absl::StrCat("bulk-", i));
    for (int i = 0; i < 20; ++i)
      d.tags.push_back(absl::StrCat(" BULK-", Uniform(0, 99), "\t"));
  } else if (Percent(70)) {
    int n = static_cast<int>(Uniform(1, 5));
    for (int i = 0; i < n; ++i) {
      std::string t = Pick(TagVocabulary());
      if (Percent(30)) t = RandomCase(t);
      d.tags.push_back(MaybePad(t, 1000));
    }
    if (Percent(10)) d.tags.push_back(RandomCase(d.tags.front()));
  }

  d.lifecycle_stage = static_cast<int>(Uniform(0, 5));  // 0: default SUBSCRIBER
  static const std::vector<int64_t> kLeadScores = {
      kInt32Min, kInt32Min + 1, -1000,         -1,       0, 1, 10, 50,
      99,        100,           kInt32Max - 1, kInt32Max};
  d.lead_score = Percent(30) ? Pick(kLeadScores) : Uniform(-100, 200);
  static const std::vector<int64_t> kEngagement = {0, 1, 50, 99, 100};
  d.engagement_score = Percent(30) ? Pick(kEngagement) : Uniform(0, 100);
  d.engagement_trend = static_cast<int>(Uniform(0, 3));
  d.conversion_likelihood = static_cast<int>(Uniform(0, 4));
  if (Percent(85)) d.created_at = Timestamp();
  if (Percent(70)) d.last_engaged_at = Timestamp();
  return d;
}

std::vector<std::string> RandomData::ContactMask() {
  std::vector<std::string> mask;
  if (Percent(20)) return mask;
  while (mask.empty()) {
    for (const std::string& name : ContactFieldNames()) {
      if (Percent(25)) mask.push_back(name);
    }
  }
  return mask;
}

std::string RandomData::StringFieldValue(const std::string& field) {
  std::string v;
  if (field == "email") {
    v = (Percent(85) && !emails_.empty()) ? Pick(emails_)
                                          : "nobody@nowhere.example";
  } else {
    v = Percent(90) ? Pick(Vocabulary(field)) : "no-such-value";
  }
  if (Percent(50)) v = RandomCase(v);
  // Values for EQUALS / IN are trimmed, so padding must not change the answer.
  return MaybePad(v, 256);
}

std::string RandomData::SubstringValue(const std::string& field, int op) {
  if (Percent(4)) return " ";  // kept as sent: matches values with a space
  std::string v;
  if (field == "email") {
    v = (Percent(50) && !emails_.empty()) ? Pick(emails_)
                                          : Pick(EmailFragments());
  } else {
    v = Pick(Vocabulary(field));
  }
  // Cut at UTF-8 character boundaries only, so the value stays valid.
  std::vector<size_t> cuts;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || !IsUtf8Continuation(v[i])) cuts.push_back(i);
  }
  size_t a =
      static_cast<size_t>(Uniform(0, static_cast<int64_t>(cuts.size()) - 2));
  size_t b = static_cast<size_t>(Uniform(
      static_cast<int64_t>(a) + 1, static_cast<int64_t>(cuts.size()) - 1));
  if (op == kOpStartsWith && Percent(70)) a = 0;
  if (op == kOpEndsWith && Percent(70)) b = cuts.size() - 1;
  std::string sub = v.substr(cuts[a], cuts[b] - cuts[a]);
  if (Percent(50)) sub = RandomCase(sub);
  if (Percent(5) && sub.size() + 2 <= 256)
    sub = " " + sub + " ";  // not trimmed
  return sub;
}

std::string RandomData::TagValue() {
  std::string t;
  if (Percent(85)) {
    t = Pick(TagVocabulary());
  } else if (Percent(70)) {
    t = absl::StrCat("bulk-", Uniform(0, 99));
  } else {
    t = "no-such-tag";
  }
  if (Percent(50)) t = RandomCase(t);
  return MaybePad(t, 64);
}

int64_t RandomData::NumberValue(const std::string& field) {
  if (field == "engagement_score") {
    static const std::vector<int64_t> kPool = {-1, 0, 1, 50, 99, 100, 101};
    return Percent(40) ? Pick(kPool) : Uniform(0, 100);
  }
  static const std::vector<int64_t> kPool = {
      kInt32Min, kInt32Min + 1, -1000,         -1,       0, 1, 10, 50,
      99,        100,           kInt32Max - 1, kInt32Max};
  return Percent(40) ? Pick(kPool) : Uniform(-100, 200);
}

RawValue RandomData::EnumValue(const std::vector<std::string_view>& names) {
  return RawValue(RandomCase(Pick(names)));
}

ConditionSpec RandomData::Condition() { return Condition(Pick(pairs_)); }

ConditionSpec RandomData::Condition(const FieldOp& pair) {
  ConditionSpec c;
  c.field = pair.field;
  c.op = pair.op;
  const RefField* f = FindReferenceField(pair.field);
  if (f == nullptr) {
    ADD_FAILURE() << "catalog field unknown to the reference: " << pair.field;
    return c;
  }
  const int op = pair.op;
  if (op == kOpIsSet || op == kOpIsNotSet) return c;
  const bool list = op == kOpIn || op == kOpNotIn || op == kOpHasAny ||
                    op == kOpHasAll || op == kOpHasNone;
  size_t count = 1;
  if (list)
    count = Percent(2) ? Limits().max_list_values
                       : static_cast<size_t>(Uniform(1, 5));
  switch (f->kind) {
    case RefKind::kString:
      for (size_t i = 0; i < count; ++i) {
        if (op == kOpContains || op == kOpNotContains || op == kOpStartsWith ||
            op == kOpEndsWith) {
          c.values.push_back(SubstringValue(c.field, op));
        } else if (i >= 10 && Percent(80)) {
          c.values.push_back(absl::StrCat("filler-", i));  // long lists
        } else {
          c.values.push_back(StringFieldValue(c.field));
        }
      }
      break;
    case RefKind::kTags:
      for (size_t i = 0; i < count; ++i) c.values.push_back(TagValue());
      break;
    case RefKind::kOrderedEnum:
    case RefKind::kEnum:
      for (size_t i = 0; i < count; ++i)
        c.values.push_back(EnumValue(f->enum_names));
      break;
    case RefKind::kNumber:
      if (op == kOpBetween) {
        int64_t a = NumberValue(c.field);
        int64_t b = Percent(10) ? a : NumberValue(c.field);
        c.values = {std::min(a, b), std::max(a, b)};
      } else {
        c.values.push_back(NumberValue(c.field));
      }
      break;
    case RefKind::kTimestamp:
      if (op == kOpWithinLastDays || op == kOpMoreThanDaysAgo) {
        c.values.push_back(Days());
      } else if (op == kOpBetween) {
        UnixSeconds a = Timestamp();
        UnixSeconds b = Percent(10) ? a : Timestamp();
        c.values = {TimestampValue{std::min(a, b)},
                    TimestampValue{std::max(a, b)}};
      } else if (op == kOpBefore || op == kOpAfter) {
        c.values.push_back(TimestampValue{Timestamp()});
      }
      break;
  }
  return c;
}

FilterSpec RandomData::Filter(const FilterShape& shape) {
  return Filter(shape, {});
}

FilterSpec RandomData::Filter(const FilterShape& shape,
                              const std::vector<SegmentId>& references) {
  int64_t m = Uniform(0, 99);
  const int match = m < 20 ? 0 : (m < 60 ? 1 : 2);
  int64_t max = static_cast<int64_t>(shape.max_conditions);
  int64_t n;
  int64_t roll = Uniform(0, 99);
  if (roll < shape.single_percent || max == 1) {
    n = 1;
  } else if (roll < 100 - shape.many_percent || max <= 4) {
    n = Uniform(2, std::min<int64_t>(4, max));
  } else {
    n = Percent(25) ? max : Uniform(std::min<int64_t>(5, max), max);
  }
  return Tree(shape, references, match, 1, n);
}

FilterSpec RandomData::Tree(const FilterShape& shape,
                            const std::vector<SegmentId>& references, int match,
                            int level, int64_t leaves) {
  FilterSpec f;
  f.match = match;
  while (leaves > 0) {
    if (shape.group_percent > 0 && level < shape.max_depth &&
        Percent(shape.group_percent)) {
      const int64_t k = Uniform(1, std::min<int64_t>(leaves, 4));
      const int64_t gm = Uniform(0, 99);
      ConditionSpec c;
      c.group = Tree(shape, references, gm < 20 ? 0 : (gm < 55 ? 1 : 2),
                     level + 1, k);
      f.conditions.push_back(std::move(c));
      leaves -= k;
    } else {
      f.conditions.push_back(Leaf(shape, references));
      --leaves;
    }
  }
  return f;
}

ConditionSpec RandomData::Leaf(const FilterShape& shape,
                               const std::vector<SegmentId>& references) {
  if (shape.reference_percent > 0 && !references.empty() &&
      Percent(shape.reference_percent)) {
    ConditionSpec c;
    c.op = static_cast<int>(Percent(50) ? Operator::kInSegment
                                        : Operator::kNotInSegment);
    c.segment_id = Pick(references);
    return c;
  }
  return Condition();
}

}  // namespace segments::testing
