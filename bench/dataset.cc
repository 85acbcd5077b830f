#include "bench/dataset.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace segments::bench {
namespace {

constexpr int64_t kThreeYears = 3 * 365 * kSecondsPerDay;

// Seeds a contact's or segment's own stream from (seed, index).
uint64_t Mix(uint64_t seed, uint64_t index, uint64_t salt) {
  Rng r(seed ^ (index * 0x9E3779B97F4A7C15ull) ^ (salt << 56));
  r.Next();
  return r.Next();
}

// Picks from `weights` (relative, need not sum to 100).
size_t Weighted(Rng& rng, std::initializer_list<int> weights) {
  int total = 0;
  for (int w : weights) total += w;
  int x = static_cast<int>(rng.Below(static_cast<uint64_t>(total)));
  size_t i = 0;
  for (int w : weights) {
    if (x < w) return i;
    x -= w;
    ++i;
  }
  return i - 1;
}

const std::vector<std::string>& Syllables() {
  static const auto* const kSyllables = new std::vector<std::string>{
      "ac",  "bel", "cor", "dan", "el",  "fin", "gal", "hex", "ion", "jun",
      "kor", "lum", "mer", "nov", "or",  "pra", "qui", "ros", "sol", "tek",
      "ul",  "ver", "wex", "xan", "yor", "zen", "ab",  "bri", "cal", "dex",
      "ev",  "flo", "gra", "hal", "ist", "jax", "kel", "lin", "mo",  "nex"};
  return *kSyllables;
}

const std::vector<std::string>& CompanySuffixes() {
  static const auto* const kSuffixes = new std::vector<std::string>{
      "Labs",       "Systems",      "Group",     "Inc",      "Corp",
      "Solutions",  "Technologies", "Partners",  "Holdings", "Media",
      "Health",     "Capital",      "Logistics", "Software", "Analytics",
      "Consulting", "Industries",   "Foods",     "Energy",   "Retail",
      "Networks",   "Studio",       "Works",     "Dynamics", "Ventures",
      "Bank",       "Insurance",    "Motors",    "Pharma",   "Robotics",
      "Cloud",      "Security"};
  return *kSuffixes;
}

const std::vector<std::string>& JobTitles() {
  static const auto* const kTitles =
      new std::vector<std::string>{"Marketing Manager",
                                   "Software Engineer",
                                   "Sales Representative",
                                   "Account Executive",
                                   "Product Manager",
                                   "Founder",
                                   "CEO",
                                   "Marketing Director",
                                   "Data Analyst",
                                   "Operations Manager",
                                   "Customer Success Manager",
                                   "VP of Sales",
                                   "CTO",
                                   "Head of Growth",
                                   "Designer",
                                   "Consultant",
                                   "Project Manager",
                                   "HR Manager",
                                   "Finance Manager",
                                   "Student",
                                   "Senior Software Engineer",
                                   "Content Marketer",
                                   "SEO Specialist",
                                   "Business Analyst",
                                   "Office Manager",
                                   "Recruiter",
                                   "Engineering Manager",
                                   "Sales Manager",
                                   "Demand Generation Manager",
                                   "Chief Marketing Officer",
                                   "IT Manager",
                                   "Teacher",
                                   "Developer Advocate",
                                   "Product Designer",
                                   "Solutions Architect",
                                   "Partner Manager",
                                   "Brand Manager",
                                   "Social Media Manager",
                                   "Copywriter",
                                   "Freelancer"};
  return *kTitles;
}

const std::vector<std::string>& FirstNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "maria", "james", "li",   "anna",  "john", "sofia", "david", "wei",
      "laura", "ahmed", "emma", "lucas", "yuki", "olga",  "pedro", "sara",
      "ali",   "nina",  "tom",  "ana",   "raj",  "eva",   "paul",  "mia",
      "omar",  "julia", "ivan", "chen",  "lena", "noah",  "zoe",   "hugo",
      "aisha", "leo",   "ines", "sam",   "kim",  "priya", "marco", "elena"};
  return *kNames;
}

const std::vector<std::string>& LastNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "garcia", "smith",  "wang",     "muller", "rossi", "silva",
      "kumar",  "kim",    "nguyen",   "martin", "lopez", "brown",
      "tanaka", "ivanov", "dubois",   "jones",  "khan",  "novak",
      "santos", "berg",   "fischer",  "costa",  "sato",  "patel",
      "lee",    "moreau", "kowalski", "hansen", "ali",   "murphy"};
  return *kNames;
}

const std::vector<std::string>& FreeMailDomains() {
  static const auto* const kDomains = new std::vector<std::string>{
      "gmail.com",  "yahoo.com", "outlook.com", "hotmail.com",
      "icloud.com", "aol.com",   "proton.me",   "gmx.de",
      "mail.ru",    "qq.com",    "web.de",      "yandex.ru"};
  return *kDomains;
}

std::string Capitalize(std::string s) {
  if (!s.empty()) s[0] = absl::ascii_toupper(static_cast<unsigned char>(s[0]));
  return s;
}

// Cities: a country's k-th city; popular countries have more cities.
size_t CityCount(size_t country_rank) { return 3 + 40 / (country_rank + 1); }
std::string CityName(size_t country_rank, size_t k) {
  static const char* const kEndings[] = {"ton",  "ville", "burg", "field",
                                         "port", "haven", "stad", "grad"};
  const auto& syl = Syllables();
  const size_t a = (country_rank * 7 + k * 13) % syl.size();
  const size_t b = (country_rank * 11 + k * 3 + 5) % syl.size();
  return absl::StrCat(Capitalize(syl[a] + syl[b]),
                      kEndings[(country_rank + k) % 8]);
}

// Ranks drawn from a Zipf table map to items through a fixed permutation, so
// the most popular company is not simply company 0 (whose name shares a
// suffix with the next 1,599).
size_t Permute(size_t rank, size_t n, size_t multiplier) {
  return (rank * multiplier + 17) % n;
}

std::string Base36(uint64_t v) {
  static const char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.push_back(kDigits[v % 36]);
    v /= 36;
  } while (v != 0);
  std::reverse(s.begin(), s.end());
  return s;
}

}  // namespace

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Normal() {
  const double u1 = 1.0 - Unit();  // (0, 1]
  const double u2 = Unit();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t FreshSeed() {
  static std::atomic<uint64_t> next{1};
  return Mix(kDefaultSeed, next.fetch_add(1), 3);
}

ZipfTable::ZipfTable(size_t n, double s) {
  cdf_.reserve(n);
  double total = 0;
  for (size_t k = 0; k < n; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k + 1), s);
    cdf_.push_back(total);
  }
  for (double& c : cdf_) c /= total;
}

size_t ZipfTable::Sample(Rng& rng) const {
  const double u = rng.Unit();
  size_t k = static_cast<size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) -
                                 cdf_.begin());
  return std::min(k, cdf_.size() - 1);
}

const std::vector<std::string>& Countries() {
  static const auto* const kCountries = new std::vector<std::string>{
      "United States", "India",        "United Kingdom",
      "Germany",       "Brazil",       "France",
      "Canada",        "Australia",    "Spain",
      "Italy",         "Mexico",       "Netherlands",
      "Japan",         "Poland",       "Indonesia",
      "Turkey",        "Sweden",       "Argentina",
      "South Africa",  "Colombia",     "Nigeria",
      "Philippines",   "Switzerland",  "Belgium",
      "Ireland",       "Singapore",    "Portugal",
      "Chile",         "Austria",      "Denmark",
      "Norway",        "Israel",       "Vietnam",
      "Egypt",         "Pakistan",     "Kenya",
      "Romania",       "Czechia",      "Finland",
      "New Zealand",   "Malaysia",     "Thailand",
      "Peru",          "Greece",       "Ukraine",
      "Hungary",       "South Korea",  "Bangladesh",
      "Morocco",       "Saudi Arabia", "United Arab Emirates",
      "Ecuador",       "Croatia",      "Bulgaria",
      "Serbia",        "Slovakia",     "Estonia",
      "Lithuania",     "Uruguay",      "Ghana"};
  return *kCountries;
}

const std::vector<std::string>& Sources() {
  static const auto* const kSources = new std::vector<std::string>{
      "Organic Search", "Paid Search", "Referral",   "Webinar",
      "CSV Import",     "Social",      "Trade Show", "Partner"};
  return *kSources;
}

const std::vector<std::string>& AllTags() {
  static const auto* const kTags = [] {
    static const char* const kCategories[] = {"interest", "product", "event",
                                              "campaign", "persona"};
    static const char* const kTopics[] = {
        "analytics", "automation", "email",   "seo",     "crm",
        "ai",        "security",   "cloud",   "mobile",  "ecommerce",
        "webinar",   "newsletter", "pricing", "trial",   "enterprise",
        "startup",   "agency",     "retail",  "finance", "health",
        "education", "travel",     "b2b",     "b2c",     "saas",
        "devops",    "design",     "content", "social",  "ads",
        "events",    "partners",   "support", "billing", "api",
        "data",      "growth",     "brand",   "video",   "community"};
    auto* tags = new std::vector<std::string>();
    // Interleaved so popularity spreads across categories.
    for (const char* topic : kTopics) {
      for (const char* category : kCategories) {
        tags->push_back(absl::StrCat(category, "-", topic));
      }
    }
    return tags;
  }();
  return *kTags;
}

const std::string& TagByRank(size_t rank) {
  return AllTags()[Permute(rank, AllTags().size(), 1)];
}

std::string CompanyName(size_t i) {
  const auto& syl = Syllables();
  const auto& suffixes = CompanySuffixes();
  const size_t a = i % syl.size();
  const size_t b = (i / syl.size()) % syl.size();
  const size_t c = (i / (syl.size() * syl.size())) % suffixes.size();
  return absl::StrCat(Capitalize(syl[a] + syl[b]), " ", suffixes[c]);
}

std::string CompanyDomain(size_t i) {
  std::string name = absl::AsciiStrToLower(CompanyName(i));
  name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
  return absl::StrCat(name, ".com");
}

ContactGenerator::ContactGenerator(uint64_t seed)
    : seed_(seed),
      countries_(Countries().size(), 1.1),
      companies_(kCompanyCount, 0.8),
      job_titles_(JobTitles().size(), 0.9),
      tags_(AllTags().size(), 1.0),
      free_mail_(FreeMailDomains().size(), 1.2) {}

ContactDraft ContactGenerator::Make(uint64_t index) const {
  Rng rng(Mix(seed_, index, 1));
  ContactDraft d;

  // Who and where. ~5% have no country; cities follow the country.
  const bool has_country = rng.Below(100) >= 5;
  const size_t country = countries_.Sample(rng);
  if (has_country) {
    d.country = Countries()[country];
    if (rng.Below(100) >= 15) {
      // Within a country, cities are skewed too: the first is the largest.
      const size_t n = CityCount(country);
      const size_t k =
          std::min(n - 1, static_cast<size_t>(n * rng.Unit() * rng.Unit()));
      d.city = CityName(country, k);
    }
  }
  // ~65% are business contacts with a company; most of those use a work
  // address at the company's domain.
  const auto& first = FirstNames();
  const auto& last = LastNames();
  const std::string local =
      absl::StrCat(first[rng.Below(first.size())], ".",
                   last[rng.Below(last.size())], ".", Base36(index));
  if (rng.Below(100) < 65) {
    const size_t company = Permute(companies_.Sample(rng), kCompanyCount, 7919);
    d.company = CompanyName(company);
    if (rng.Below(100) < 85) {
      d.email = absl::StrCat(local, "@", CompanyDomain(company));
    }
    if (rng.Below(100) < 75) {
      d.job_title = JobTitles()[job_titles_.Sample(rng)];
    }
  }
  if (d.email.empty()) {
    d.email =
        absl::StrCat(local, "@", FreeMailDomains()[free_mail_.Sample(rng)]);
  }
  if (rng.Below(100) >= 5) {
    d.source = Sources()[Weighted(rng, {30, 20, 12, 10, 10, 8, 6, 4})];
  }
  d.tags = RandomTags(rng);

  // Funnel: mostly subscribers and leads.
  d.lifecycle_stage = 1 + static_cast<int>(Weighted(rng, {45, 30, 12, 7, 6}));
  d.lead_score = RandomLeadScore(rng);

  // Dates: created over three years, more of them recently (growth);
  // ~70% engaged at some point since.
  const int64_t age =
      static_cast<int64_t>(kThreeYears * std::pow(rng.Unit(), 1.5));
  d.created_at = kBenchNow - age;
  if (rng.Below(100) < 70) {
    const double v = rng.Unit();
    d.last_engaged_at = kBenchNow - static_cast<int64_t>(age * v * v);
    // The 30-day activity level: skewed low, higher for recent engagement.
    const int64_t idle_days = (kBenchNow - *d.last_engaged_at) / kSecondsPerDay;
    const double recency = idle_days < 30 ? 1.0 : 0.35;
    d.engagement_score = std::min<int64_t>(
        100, static_cast<int64_t>(100 * recency * std::pow(rng.Unit(), 1.8)));
  }
  // Scoring outputs: ~30% not computed yet.
  if (rng.Below(100) >= 30) {
    d.engagement_trend = 1 + static_cast<int>(Weighted(rng, {25, 50, 25}));
  }
  if (rng.Below(100) >= 30) {
    d.conversion_likelihood =
        1 + static_cast<int>(Weighted(rng, {40, 30, 20, 10}));
  }
  return d;
}

std::vector<ContactDraft> ContactGenerator::MakeRange(uint64_t first,
                                                      size_t count) const {
  std::vector<ContactDraft> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(Make(first + i));
  return out;
}

int64_t ContactGenerator::RandomLeadScore(Rng& rng) const {
  const double score = 45.0 + 18.0 * rng.Normal();
  return std::clamp<int64_t>(std::llround(score), 0, 100);
}

std::vector<std::string> ContactGenerator::RandomTags(Rng& rng) const {
  const size_t count = Weighted(rng, {15, 20, 18, 14, 11, 8, 6, 4, 4});
  std::vector<std::string> tags;
  for (size_t attempt = 0; tags.size() < count && attempt < 4 * count;
       ++attempt) {
    const std::string& tag = TagByRank(tags_.Sample(rng));
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
      tags.push_back(tag);
    }
  }
  return tags;
}

ConditionSpec Cond(std::string field, Operator op,
                   std::vector<RawValue> values) {
  ConditionSpec c;
  c.field = std::move(field);
  c.op = static_cast<int>(op);
  c.values = std::move(values);
  return c;
}

FilterSpec AllOf(std::vector<ConditionSpec> conditions) {
  FilterSpec f;
  f.match = static_cast<int>(Match::kAll);
  f.conditions = std::move(conditions);
  return f;
}

FilterSpec AnyOf(std::vector<ConditionSpec> conditions) {
  FilterSpec f;
  f.match = static_cast<int>(Match::kAny);
  f.conditions = std::move(conditions);
  return f;
}

SegmentDraft SegmentGenerator::Make(uint64_t index) const {
  Rng rng(Mix(seed_, index, 2));
  // Popular values are picked more often, as people segment by them.
  const ZipfTable countries(Countries().size(), 1.0);
  const ZipfTable tags(AllTags().size(), 0.8);
  auto country = [&]() -> RawValue {
    return Countries()[countries.Sample(rng)];
  };
  auto tag = [&]() -> RawValue { return TagByRank(tags.Sample(rng)); };
  auto some_tags = [&](size_t n) {
    std::vector<RawValue> v;
    for (size_t i = 0; i < n; ++i) v.push_back(tag());
    return v;
  };
  static const char* const kStages[] = {"LEAD", "MQL", "SQL", "CUSTOMER"};
  static const int64_t kDays[] = {7, 14, 30, 60, 90, 180, 365};

  SegmentDraft s;
  const uint64_t kind = index % 9;
  switch (kind) {
    case 0:
      s.filter = AllOf({Cond("country", Operator::kEquals, {country()})});
      break;
    case 1:
      s.filter =
          AllOf({Cond("tags", Operator::kHasAny, some_tags(1 + rng.Below(3)))});
      break;
    case 2:
      s.filter = AllOf({Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                             {std::string(kStages[rng.Below(4)])})});
      break;
    case 3:
      s.filter =
          AllOf({Cond("lead_score", Operator::kGreaterOrEqual,
                      {int64_t{30 + static_cast<int64_t>(rng.Below(61))}})});
      break;
    case 4:
      s.filter = AllOf({Cond("created_at", Operator::kWithinLastDays,
                             {kDays[rng.Below(7)]})});
      break;
    case 5: {
      // Free-mail providers or a company's domain.
      std::string domain =
          rng.Below(2) == 0
              ? std::string(rng.Below(2) == 0 ? "gmail.com" : "yahoo.com")
              : CompanyDomain(Permute(rng.Below(200), kCompanyCount, 7919));
      s.filter = AllOf(
          {Cond("email", Operator::kEndsWith, {absl::StrCat("@", domain)})});
      break;
    }
    case 6: {
      const auto& syl = Syllables();
      s.filter = AllOf(
          {Cond("company", Operator::kContains,
                {syl[rng.Below(syl.size())] + syl[rng.Below(syl.size())]})});
      break;
    }
    case 7:
      s.filter = AllOf(
          {Cond("country", Operator::kIn, {country(), country(), country()}),
           Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                {std::string("MQL")}),
           Cond("tags", Operator::kHasAny, some_tags(2))});
      break;
    default:
      s.filter =
          AnyOf({Cond("tags", Operator::kHasAny, some_tags(2)),
                 Cond("lead_score", Operator::kGreaterOrEqual,
                      {int64_t{70 + static_cast<int64_t>(rng.Below(21))}}),
                 Cond("last_engaged_at", Operator::kWithinLastDays,
                      {kDays[rng.Below(7)]})});
      break;
  }
  s.display_name = absl::StrCat("seg-", index, "-k", kind);
  return s;
}

std::vector<SegmentDraft> SegmentGenerator::MakeRange(uint64_t first,
                                                      size_t count) const {
  std::vector<SegmentDraft> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(Make(first + i));
  return out;
}

}  // namespace segments::bench
