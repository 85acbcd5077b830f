#include "core/analytics/goals.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/analytics/distribution.h"

namespace segments::analytics {
namespace {

constexpr int64_t kDay = 86400;

int64_t DayOf(UnixSeconds t) { return t / kDay - (t % kDay < 0 ? 1 : 0); }

// A day count a relative date rule accepts.
int64_t ClampDays(int64_t days) {
  return std::clamp<int64_t>(days, kMinDays, kMaxDays);
}

ConditionSpec Cond(std::string_view field, Operator op,
                   std::vector<RawValue> values = {}) {
  return {std::string(field), static_cast<int>(op), std::move(values)};
}
RawValue Str(std::string_view s) { return std::string(s); }
RawValue Num(int64_t n) { return n; }

FilterSpec AllOf(std::vector<ConditionSpec> conditions) {
  return {static_cast<int>(Match::kAll), std::move(conditions)};
}

const Roaring& Stage(const AttributeIndex& index, LifecycleStage s) {
  return index.EnumPostings(Field::kLifecycleStage)[static_cast<int>(s)];
}

KeyDistribution Distribution(const AttributeIndex& index, Field f,
                             const Roaring* base) {
  return KeyDistribution(index.OrderedPostings(f), base);
}

// The conditions and phrases the goals share.
ConditionSpec QuietFor(int64_t days) {
  return Cond("last_engaged_at", Operator::kMoreThanDaysAgo, {Num(days)});
}
ConditionSpec AtLeast(std::string_view field, int64_t v) {
  return Cond(field, Operator::kGreaterOrEqual, {Num(v)});
}
ConditionSpec TrendIs(std::string_view trend) {
  return Cond("engagement_trend", Operator::kEquals, {Str(trend)});
}
ConditionSpec LikelyOrBetter() {
  return Cond("conversion_likelihood", Operator::kGreaterOrEqual,
              {Str("LIKELY")});
}
ConditionSpec IsCustomer() {
  return Cond("lifecycle_stage", Operator::kEquals, {Str("CUSTOMER")});
}

std::vector<ConditionSpec> With(std::vector<ConditionSpec> base,
                                ConditionSpec more) {
  base.push_back(std::move(more));
  return base;
}

std::vector<CandidateDraft> Reengage(const AttributeIndex& index,
                                     UnixSeconds now) {
  const KeyDistribution engaged =
      Distribution(index, Field::kLastEngagedAt, nullptr);
  const std::optional<int64_t> median = engaged.Percentile(50);
  if (!median.has_value()) return {};
  const int64_t today = DayOf(now);
  const int64_t days = ClampDays(today - *median);
  const std::vector<ConditionSpec> quiet = {QuietFor(days)};
  const std::string basis = absl::StrCat(
      "last engaged more than ", days,
      " days ago (the median time since the last engagement of the ",
      engaged.total(), " contacts who ever engaged)");
  std::vector<CandidateDraft> drafts;
  drafts.push_back({absl::StrCat("Re-engage: quiet for ", days, "+ days"),
                    AllOf(quiet), basis});
  drafts.push_back(
      {absl::StrCat("Re-engage: declining, quiet for ", days, "+ days"),
       AllOf(With(quiet, TrendIs("DECLINING"))),
       absl::StrCat(basis, ", engagement trend DECLINING")});
  if (const std::optional<int64_t> lead =
          Distribution(index, Field::kLeadScore, nullptr).Percentile(75)) {
    drafts.push_back({absl::StrCat("Re-engage: lead score ", *lead,
                                   "+, quiet for ", days, "+ days"),
                      AllOf(With(quiet, AtLeast("lead_score", *lead))),
                      absl::StrCat(basis, ", lead score >= ", *lead,
                                   " (the 75th percentile of all contacts)")});
  }
  drafts.push_back(
      {absl::StrCat("Re-engage: MQL or later, quiet for ", days, "+ days"),
       AllOf(With(quiet, Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                              {Str("MQL")}))),
       absl::StrCat(basis, ", lifecycle stage MQL or later")});
  if (const std::optional<int64_t> quarter = engaged.Percentile(25)) {
    const int64_t long_days = ClampDays(today - *quarter);
    if (long_days > days) {
      drafts.push_back(
          {absl::StrCat("Re-engage: quiet for ", long_days, "+ days"),
           AllOf({QuietFor(long_days)}),
           absl::StrCat("last engaged more than ", long_days,
                        " days ago (the quietest quarter of the ",
                        engaged.total(), " contacts who ever engaged)")});
    }
  }
  return drafts;
}

std::vector<CandidateDraft> ConvertLeads(const AttributeIndex& index) {
  const Roaring open = Stage(index, LifecycleStage::kLead) |
                       Stage(index, LifecycleStage::kMql) |
                       Stage(index, LifecycleStage::kSql);
  if (open.isEmpty()) return {};
  const std::vector<ConditionSpec> is_open = {Cond(
      "lifecycle_stage", Operator::kIn, {Str("LEAD"), Str("MQL"), Str("SQL")})};
  const std::string leads =
      absl::StrCat("open leads (LEAD to SQL, ", open.cardinality(), ")");
  const KeyDistribution scores = Distribution(index, Field::kLeadScore, &open);
  std::vector<CandidateDraft> drafts;
  for (const int p : {75, 90}) {
    const int64_t v = *scores.Percentile(p);
    drafts.push_back({absl::StrCat("Convert: open leads scoring ", v, "+"),
                      AllOf(With(is_open, AtLeast("lead_score", v))),
                      absl::StrCat(leads, " with lead score >= ", v, ", their ",
                                   p, "th percentile")});
  }
  drafts.push_back(
      {"Convert: open leads LIKELY or better",
       AllOf(With(is_open, LikelyOrBetter())),
       absl::StrCat(leads,
                    " with conversion likelihood LIKELY or VERY_LIKELY")});
  const int64_t engagement =
      *Distribution(index, Field::kEngagementScore, &open).Percentile(50);
  drafts.push_back(
      {absl::StrCat("Convert: rising open leads, engagement ", engagement, "+"),
       AllOf(With(With(is_open, TrendIs("RISING")),
                  AtLeast("engagement_score", engagement))),
       absl::StrCat(leads,
                    " with a RISING engagement trend and engagement "
                    "score >= ",
                    engagement, ", their median")});
  return drafts;
}

std::vector<CandidateDraft> NurtureNew(const AttributeIndex& index,
                                       UnixSeconds now) {
  const std::map<int64_t, Roaring>& created =
      index.OrderedPostings(Field::kCreatedAt);
  const std::optional<int64_t> newest =
      KeyDistribution(created, nullptr).Percentile(90);
  if (!newest.has_value()) return {};
  const int64_t days = ClampDays(DayOf(now) - *newest + 1);
  // The contacts the figures below are drawn from: created on or after that
  // day and not yet qualified (the filter's own days are whole 24-hour
  // periods back from now, so the two differ by a part of one day).
  Roaring base;
  for (auto it = created.lower_bound(*newest); it != created.end(); ++it) {
    base |= it->second;
  }
  base &= Stage(index, LifecycleStage::kSubscriber) |
          Stage(index, LifecycleStage::kLead);
  const std::vector<ConditionSpec> fresh = {
      Cond("created_at", Operator::kWithinLastDays, {Num(days)}),
      Cond("lifecycle_stage", Operator::kLessThan, {Str("MQL")})};
  const std::string basis = absl::StrCat(
      "created in the last ", days,
      " days (the newest tenth of the workspace's contacts) and not yet MQL");
  std::vector<CandidateDraft> drafts;
  drafts.push_back({absl::StrCat("Nurture: new in the last ", days, " days"),
                    AllOf(fresh), basis});
  drafts.push_back(
      {absl::StrCat("Nurture: new in the last ", days, " days, never engaged"),
       AllOf(With(fresh, Cond("last_engaged_at", Operator::kIsNotSet))),
       absl::StrCat(basis, ", never engaged")});
  if (const std::optional<int64_t> engagement =
          Distribution(index, Field::kEngagementScore, &base).Percentile(50)) {
    drafts.push_back(
        {absl::StrCat("Nurture: new and engaged (", *engagement, "+)"),
         AllOf(With(fresh, AtLeast("engagement_score", *engagement))),
         absl::StrCat(basis, ", engagement score >= ", *engagement,
                      " (the median of those contacts)")});
  }
  if (const std::optional<int64_t> lead =
          Distribution(index, Field::kLeadScore, &base).Percentile(75)) {
    drafts.push_back(
        {absl::StrCat("Nurture: new with lead score ", *lead, "+"),
         AllOf(With(fresh, AtLeast("lead_score", *lead))),
         absl::StrCat(basis, ", lead score >= ", *lead,
                      " (the 75th percentile of those contacts)")});
  }
  return drafts;
}

std::vector<CandidateDraft> WinBack(const AttributeIndex& index,
                                    UnixSeconds now) {
  const Roaring& customers = Stage(index, LifecycleStage::kCustomer);
  const KeyDistribution engaged =
      Distribution(index, Field::kLastEngagedAt, &customers);
  const std::optional<int64_t> median = engaged.Percentile(50);
  if (!median.has_value()) return {};
  const int64_t today = DayOf(now);
  const int64_t days = ClampDays(today - *median);
  const std::vector<ConditionSpec> quiet = {IsCustomer(), QuietFor(days)};
  const std::string basis = absl::StrCat(
      "customers last engaged more than ", days,
      " days ago (the median time since the last engagement of the ",
      engaged.total(), " customers who ever engaged)");
  std::vector<CandidateDraft> drafts;
  drafts.push_back(
      {absl::StrCat("Win back: customers quiet for ", days, "+ days"),
       AllOf(quiet), basis});
  const int64_t long_days = ClampDays(today - *engaged.Percentile(25));
  if (long_days > days) {
    drafts.push_back(
        {absl::StrCat("Win back: customers quiet for ", long_days, "+ days"),
         AllOf({IsCustomer(), QuietFor(long_days)}),
         absl::StrCat("customers last engaged more than ", long_days,
                      " days ago (the quietest quarter of the ",
                      engaged.total(), " customers who ever engaged)")});
  }
  drafts.push_back(
      {absl::StrCat("Win back: declining customers quiet for ", days, "+ days"),
       AllOf(With(quiet, TrendIs("DECLINING"))),
       absl::StrCat(basis, ", engagement trend DECLINING")});
  const int64_t lead =
      *Distribution(index, Field::kLeadScore, &customers).Percentile(75);
  drafts.push_back({absl::StrCat("Win back: customers scoring ", lead,
                                 "+, quiet for ", days, "+ days"),
                    AllOf(With(quiet, AtLeast("lead_score", lead))),
                    absl::StrCat(basis, ", lead score >= ", lead,
                                 " (the 75th percentile of customers)")});
  return drafts;
}

std::vector<CandidateDraft> Upsell(const AttributeIndex& index,
                                   UnixSeconds now) {
  const Roaring& customers = Stage(index, LifecycleStage::kCustomer);
  if (customers.isEmpty()) return {};
  const uint64_t n = customers.cardinality();
  const std::vector<ConditionSpec> customer = {IsCustomer()};
  std::vector<CandidateDraft> drafts;
  const int64_t engagement =
      *Distribution(index, Field::kEngagementScore, &customers).Percentile(75);
  drafts.push_back(
      {absl::StrCat("Upsell: customers with engagement ", engagement, "+"),
       AllOf(With(customer, AtLeast("engagement_score", engagement))),
       absl::StrCat("customers with engagement score >= ", engagement,
                    " (the 75th percentile of the ", n, " customers)")});
  drafts.push_back(
      {"Upsell: customers trending up",
       AllOf(With(customer, TrendIs("RISING"))),
       absl::StrCat("customers (", n, ") whose engagement trend is RISING")});
  drafts.push_back(
      {"Upsell: customers LIKELY or better to buy again",
       AllOf(With(customer, LikelyOrBetter())),
       absl::StrCat("customers (", n,
                    ") with conversion likelihood LIKELY or VERY_LIKELY")});
  const KeyDistribution engaged =
      Distribution(index, Field::kLastEngagedAt, &customers);
  if (const std::optional<int64_t> recent = engaged.Percentile(75)) {
    const int64_t days = ClampDays(DayOf(now) - *recent + 1);
    drafts.push_back(
        {absl::StrCat("Upsell: customers engaged in the last ", days, " days"),
         AllOf(With(customer, Cond("last_engaged_at", Operator::kWithinLastDays,
                                   {Num(days)}))),
         absl::StrCat("customers engaged in the last ", days,
                      " days (the most recent quarter of the ", engaged.total(),
                      " customers who ever engaged)")});
  }
  return drafts;
}

}  // namespace

std::string_view GoalName(Goal goal) {
  switch (goal) {
    case Goal::kReengage:
      return "RE_ENGAGE";
    case Goal::kConvertLeads:
      return "CONVERT_LEADS";
    case Goal::kNurtureNew:
      return "NURTURE_NEW_CONTACTS";
    case Goal::kWinBack:
      return "WIN_BACK_CUSTOMERS";
    case Goal::kUpsell:
      return "UPSELL";
    case Goal::kUnspecified:
      break;
  }
  return "RECOMMENDATION_GOAL_UNSPECIFIED";
}

std::vector<CandidateDraft> DraftsFor(Goal goal, const AttributeIndex& index,
                                      UnixSeconds now) {
  switch (goal) {
    case Goal::kReengage:
      return Reengage(index, now);
    case Goal::kConvertLeads:
      return ConvertLeads(index);
    case Goal::kNurtureNew:
      return NurtureNew(index, now);
    case Goal::kWinBack:
      return WinBack(index, now);
    case Goal::kUpsell:
      return Upsell(index, now);
    case Goal::kUnspecified:
      break;
  }
  return {};
}

}  // namespace segments::analytics
