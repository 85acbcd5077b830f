#include "server/demo.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/status_macros.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "server/auth.h"
#include "server/log.h"

namespace segments {
namespace {

constexpr int64_t kDay = 86400;

// SplitMix64: tiny, and the same sequence on every platform (the standard
// library's distributions are not), so every demo has the same contacts.
class DemoRandom {
 public:
  explicit DemoRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  int64_t Below(int64_t n) {
    return static_cast<int64_t>(Next() % static_cast<uint64_t>(n));
  }
  bool Chance(int percent) { return Below(100) < percent; }
  // Index into `weights` (percentages summing to 100).
  template <size_t N>
  size_t Weighted(const std::array<int, N>& weights) {
    int64_t r = Below(100);
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return N - 1;
  }

 private:
  uint64_t state_;
};

struct Country {
  const char* name;
  std::array<const char*, 2> cities;
};
constexpr std::array<Country, 10> kCountries = {{
    {"Germany", {"Berlin", "Munich"}},
    {"United States", {"New York", "Austin"}},
    {"France", {"Paris", "Lyon"}},
    {"United Kingdom", {"London", "Manchester"}},
    {"Spain", {"Madrid", "Barcelona"}},
    {"Netherlands", {"Amsterdam", "Utrecht"}},
    {"Brazil", {"Sao Paulo", "Rio de Janeiro"}},
    {"India", {"Bengaluru", "Pune"}},
    {"Japan", {"Tokyo", "Osaka"}},
    {"Canada", {"Toronto", "Vancouver"}},
}};
constexpr std::array<int, 10> kCountryWeights = {22, 20, 12, 10, 8,
                                                 7,  6,  6,  5,  4};

constexpr std::array<const char*, 12> kCompanies = {
    "Acme",   "Globex",           "Initech",  "Umbrella",
    "Hooli",  "Stark Industries", "Wayne Co", "Soylent",
    "Tyrell", "Cyberdyne",        "Aperture", "Wonka"};
constexpr std::array<const char*, 16> kFirstNames = {
    "ada",     "alan", "grace",     "linus",  "margaret", "dennis",
    "barbara", "ken",  "frances",   "edsger", "radia",    "tim",
    "hedy",    "john", "katherine", "donald"};
constexpr std::array<const char*, 16> kLastNames = {
    "lovelace", "turing",   "hopper",  "torvalds", "hamilton", "ritchie",
    "liskov",   "thompson", "allen",   "dijkstra", "perlman",  "berners",
    "lamarr",   "backus",   "johnson", "knuth"};
constexpr std::array<const char*, 8> kJobTitles = {
    "Marketing Manager", "CTO", "Software Engineer", "Head of Sales",
    "Product Manager",   "CEO", "Data Analyst",      "Growth Lead"};
constexpr std::array<const char*, 5> kSources = {
    "webinar", "organic", "paid_search", "referral", "event"};
constexpr std::array<const char*, 7> kTags = {
    "webinar",    "product-a", "product-b", "vip",
    "churn-risk", "beta",      "partner"};
// SUBSCRIBER, LEAD, MQL, SQL, CUSTOMER.
constexpr std::array<int, 5> kStageWeights = {35, 25, 15, 10, 15};

std::string Domain(std::string_view company) {
  std::string d =
      absl::AsciiStrToLower(absl::string_view(company.data(), company.size()));
  absl::StrReplaceAll({{" ", ""}}, &d);
  return absl::StrCat(d, ".example");
}

ConditionSpec Cond(std::string field, Operator op,
                   std::vector<RawValue> values) {
  return ConditionSpec{std::move(field), static_cast<int>(op),
                       std::move(values)};
}

SegmentDraft DemoSegment(std::string name, Match match,
                         std::vector<ConditionSpec> conditions) {
  SegmentDraft draft;
  draft.display_name = std::move(name);
  draft.filter.match = static_cast<int>(match);
  draft.filter.conditions = std::move(conditions);
  return draft;
}

std::vector<SegmentDraft> DemoSegments() {
  std::vector<SegmentDraft> segments;
  segments.push_back(DemoSegment(
      "Customers in Germany", Match::kAll,
      {Cond("country", Operator::kEquals, {std::string("Germany")}),
       Cond("lifecycle_stage", Operator::kEquals, {std::string("CUSTOMER")})}));
  segments.push_back(DemoSegment(
      "Hot leads", Match::kAll,
      {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{70}})}));
  segments.push_back(DemoSegment(
      "Newsletter tag", Match::kAll,
      {Cond("tags", Operator::kHasAny, {std::string("newsletter")})}));
  segments.push_back(DemoSegment(
      "Engaged in the last 30 days", Match::kAll,
      {Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{30}})}));
  segments.push_back(DemoSegment(
      "MQL or later in Europe", Match::kAll,
      {Cond("lifecycle_stage", Operator::kGreaterOrEqual, {std::string("MQL")}),
       Cond(
           "country", Operator::kIn,
           {std::string("Germany"), std::string("France"), std::string("Spain"),
            std::string("Netherlands"), std::string("United Kingdom")})}));
  return segments;
}

absl::Status Seed(Workspace& workspace, UnixSeconds now) {
  // Import first, then build the segments from the imported contacts, as a
  // new customer would.
  RETURN_IF_ERROR(
      workspace.BatchUpsertContacts(DemoContacts(kDemoContactCount, now), {})
          .status());
  for (const SegmentDraft& draft : DemoSegments()) {
    absl::StatusOr<SegmentView> view = workspace.CreateSegment(draft);
    if (!view.ok() &&
        view.status().code() != absl::StatusCode::kAlreadyExists) {
      return absl::Status(view.status().code(),
                          absl::StrCat("segment \"", draft.display_name,
                                       "\": ", view.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<ContactDraft> DemoContacts(int count, UnixSeconds now) {
  DemoRandom random(20240601);
  std::vector<ContactDraft> contacts;
  contacts.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ContactDraft c;
    const char* company = kCompanies[random.Below(kCompanies.size())];
    c.email = absl::StrCat(kFirstNames[random.Below(kFirstNames.size())], ".",
                           kLastNames[random.Below(kLastNames.size())], i + 1,
                           "@", Domain(company));
    if (random.Chance(90)) c.company = company;
    if (random.Chance(80))
      c.job_title = kJobTitles[random.Below(kJobTitles.size())];
    const Country& country = kCountries[random.Weighted(kCountryWeights)];
    if (random.Chance(95)) {
      c.country = country.name;
      if (random.Chance(85)) c.city = country.cities[random.Below(2)];
    }
    if (random.Chance(90)) c.source = kSources[random.Below(kSources.size())];
    if (random.Chance(40)) c.tags.push_back("newsletter");
    for (const char* tag : kTags) {
      if (random.Chance(12)) c.tags.push_back(tag);
    }
    c.lifecycle_stage = static_cast<int>(random.Weighted(kStageWeights)) + 1;
    // Skewed towards low scores: the product of two uniforms.
    c.lead_score = random.Below(101) * random.Below(101) / 100;
    c.engagement_score = random.Below(101);
    if (random.Chance(70))
      c.engagement_trend = static_cast<int>(random.Below(3)) + 1;
    if (random.Chance(60))
      c.conversion_likelihood = static_cast<int>(random.Below(4)) + 1;
    // Created over the last three years; engaged (if ever) since then, at
    // most 180 days ago.
    const int64_t age = random.Below(3 * 365 * kDay);
    c.created_at = now - age;
    if (random.Chance(70)) {
      c.last_engaged_at =
          now - random.Below(std::min<int64_t>(age, 180 * kDay) + 1);
    }
    contacts.push_back(std::move(c));
  }
  return contacts;
}

absl::StatusOr<DemoInfo> EnsureDemoWorkspace(Registry* registry) {
  DemoInfo info;
  std::shared_ptr<Workspace> workspace;
  absl::StatusOr<std::shared_ptr<Workspace>> existing =
      registry->Authenticate(HashApiKey(kDemoApiKey));
  if (existing.ok()) {
    workspace = *std::move(existing);
  } else {
    ASSIGN_OR_RETURN(
        WorkspaceRecord record,
        registry->CreateWorkspace(kDemoWorkspaceName, Plan::kGrowth,
                                  HashApiKey(kDemoApiKey)));
    ASSIGN_OR_RETURN(workspace, registry->Find(record.id));
    absl::Status seeded = Seed(*workspace, absl::ToUnixSeconds(absl::Now()));
    if (!seeded.ok()) {
      return absl::Status(
          seeded.code(),
          absl::StrCat("seeding the demo workspace: ", seeded.message()));
    }
    info.seeded_now = true;
    LogEvent(absl::StrCat("demo workspace created and seeded with ",
                          kDemoContactCount, " contacts"));
  }
  info.workspace_id = workspace->id();
  for (const SegmentView& view : workspace->ListSegments(0, 20).items) {
    info.segments.emplace_back(view.record.id, view.record.display_name);
  }
  return info;
}

std::string DemoExamples(const DemoInfo& info, std::string_view address_view,
                         const std::optional<std::string>& tls_cert_file) {
  const std::string address(address_view);
  SegmentId germany = info.segments.empty() ? 1 : info.segments.front().first;
  for (const auto& [id, name] : info.segments) {
    if (name == "Customers in Germany") germany = id;
  }
  const std::string g = absl::StrCat(germany);
  const std::string transport =
      tls_cert_file.has_value()
          ? absl::StrCat("-cacert ", LogEscape(*tls_cert_file))
          : "-plaintext";
  const std::string auth =
      absl::StrCat("-H 'authorization: Bearer ", kDemoApiKey, "'");
  const std::string call = absl::StrCat("grpcurl ", transport, " ", auth, " ");
  std::string out =
      absl::StrCat("demo mode: workspace \"", kDemoWorkspaceName, "\" (id ",
                   info.workspace_id, ", plan GROWTH), key ", kDemoApiKey,
                   " (well-known: for local use only)\n  segments:");
  for (const auto& [id, name] : info.segments)
    absl::StrAppend(&out, " ", id, "=\"", LogEscape(name), "\"");
  absl::StrAppend(
      &out, "\n  try (grpcurl: https://github.com/fullstorydev/grpcurl):\n",
      "  # list the services (server reflection)\n", "  grpcurl ", transport,
      " ", address, " list\n", "  # list the segments\n", "  ", call,
      "-d '{}' ", address, " segments.v1.SegmentService/ListSegments\n",
      "  # count the members of \"Customers in Germany\"\n", "  ", call,
      "-d '{\"segment_id\": ", g, "}' ", address,
      " segments.v1.SegmentService/CountSegmentMembers\n",
      "  # list its members, full contacts, 5 per page (pass next_page_token "
      "as page_token)\n",
      "  ", call, "-d '{\"segment_id\": ", g,
      ", \"page_size\": 5, \"view\": \"FULL\"}' ", address,
      " segments.v1.SegmentService/ListSegmentMembers\n",
      "  # in another terminal: follow who enters and leaves it, live\n", "  ",
      call, "-d '{\"from_now\": true, \"segment_ids\": [", g, "]}' ", address,
      " segments.v1.ChangeFeedService/WatchMembershipChanges\n",
      "  # what its members are made of: stages, trends, top countries, tags\n",
      "  ", call, "-d '{\"segment_id\": ", g, ", \"top_n\": 5}' ", address,
      " segments.v1.AnalyticsService/GetSegmentBreakdown\n",
      "  # freeze its audience for a campaign (then page through "
      "ListAudienceSnapshotMembers)\n",
      "  ", call, "-d '{\"snapshot\": {\"segment_id\": ", g, "}}' ", address,
      " segments.v1.AudienceSnapshotService/CreateAudienceSnapshot\n",
      "  # create a contact that enters it\n", "  ", call,
      "-d '{\"contact\": {\"email\": \"new.customer@example.com\", "
      "\"country\": \"Germany\", "
      "\"lifecycle_stage\": \"CUSTOMER\"}}' ",
      address, " segments.v1.ContactService/CreateContact\n",
      "  # move it to France so it leaves (ID: the id CreateContact returned), "
      "then count again\n",
      "  ", call,
      "-d '{\"contact\": {\"id\": ID, \"country\": \"France\"}, "
      "\"update_mask\": \"country\"}' ",
      address, " segments.v1.ContactService/UpdateContact");
  return out;
}

}  // namespace segments
