#include "tests/testing/brute_force.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace segments::testing {
namespace {

// Operator wire numbers (segments.v1.Condition.Operator), spelled out here so
// the reference does not lean on core's tables.
constexpr int kEquals = 1, kNotEquals = 2, kIn = 3, kNotIn = 4, kContains = 5,
              kNotContains = 6, kStartsWith = 7, kEndsWith = 8,
              kGreaterThan = 9, kGreaterOrEqual = 10, kLessThan = 11,
              kLessOrEqual = 12, kBetween = 13, kHasAny = 14, kHasAll = 15,
              kHasNone = 16, kBefore = 17, kAfter = 18, kWithinLastDays = 19,
              kMoreThanDaysAgo = 20, kIsSet = 21, kIsNotSet = 22,
              kInSegment = 23, kNotInSegment = 24;

constexpr int64_t kSecondsPerDay = 86400;

const char* RefOpName(int op) {
  static const char* const kNames[] = {"OPERATOR_UNSPECIFIED",
                                       "EQUALS",
                                       "NOT_EQUALS",
                                       "IN",
                                       "NOT_IN",
                                       "CONTAINS",
                                       "NOT_CONTAINS",
                                       "STARTS_WITH",
                                       "ENDS_WITH",
                                       "GREATER_THAN",
                                       "GREATER_OR_EQUAL",
                                       "LESS_THAN",
                                       "LESS_OR_EQUAL",
                                       "BETWEEN",
                                       "HAS_ANY",
                                       "HAS_ALL",
                                       "HAS_NONE",
                                       "BEFORE",
                                       "AFTER",
                                       "WITHIN_LAST_DAYS",
                                       "MORE_THAN_DAYS_AGO",
                                       "IS_SET",
                                       "IS_NOT_SET"};
  if (op < 0 || op > 22) return "?";
  return kNames[op];
}

// Accessors for a raw value; a value of the wrong kind is a bug in the test
// (the spec was supposed to be valid), reported and read as empty/zero.
std::string StringOf(const RawValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  ADD_FAILURE() << "brute force: expected a string value";
  return "";
}
int64_t NumberOf(const RawValue& v) {
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  ADD_FAILURE() << "brute force: expected a number value";
  return 0;
}
int64_t TimestampOf(const RawValue& v) {
  if (const auto* t = std::get_if<TimestampValue>(&v)) return t->seconds;
  ADD_FAILURE() << "brute force: expected a timestamp value";
  return 0;
}

bool Fail(const ConditionSpec& c) {
  ADD_FAILURE() << "brute force: unsupported condition "
                << DescribeCondition(c);
  return false;
}

// String fields. `stored` is the contact's trimmed value ("" = unset).
bool StringMatches(const ConditionSpec& c, const std::string& stored) {
  const bool set = !stored.empty();
  const std::string s = RefLower(stored);
  switch (c.op) {
    case kIsSet:
      return set;
    case kIsNotSet:
      return !set;
    case kEquals:
    case kNotEquals: {
      bool eq = set && s == RefLower(RefTrim(StringOf(c.values.at(0))));
      return c.op == kEquals ? eq : !eq;
    }
    case kIn:
    case kNotIn: {
      bool in = false;
      for (const RawValue& v : c.values) {
        if (set && s == RefLower(RefTrim(StringOf(v)))) in = true;
      }
      return c.op == kIn ? in : !in;
    }
    case kContains:
    case kNotContains: {
      // Substring operators keep the value as sent (no trimming).
      bool has = set && s.find(RefLower(StringOf(c.values.at(0)))) !=
                            std::string::npos;
      return c.op == kContains ? has : !has;
    }
    case kStartsWith: {
      std::string p = RefLower(StringOf(c.values.at(0)));
      return set && s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
    }
    case kEndsWith: {
      std::string p = RefLower(StringOf(c.values.at(0)));
      return set && s.size() >= p.size() &&
             s.compare(s.size() - p.size(), p.size(), p) == 0;
    }
    default:
      return Fail(c);
  }
}

bool TagsMatch(const ConditionSpec& c,
               const std::vector<std::string>& contact_tags) {
  std::set<std::string> tags;
  for (const std::string& t : contact_tags) tags.insert(RefLower(t));
  std::vector<std::string> listed;
  for (const RawValue& v : c.values)
    listed.push_back(RefLower(RefTrim(StringOf(v))));
  switch (c.op) {
    case kIsSet:
      return !tags.empty();
    case kIsNotSet:
      return tags.empty();
    case kHasAny:
    case kHasNone: {
      bool any = false;
      for (const std::string& t : listed) {
        if (tags.count(t) > 0) any = true;
      }
      return c.op == kHasAny ? any : !any;
    }
    case kHasAll: {
      if (tags.empty()) return false;
      for (const std::string& t : listed) {
        if (tags.count(t) == 0) return false;
      }
      return true;
    }
    default:
      return Fail(c);
  }
}

// Enum name -> wire number (1-based), case-insensitive; 0 when unknown.
int EnumNumber(const RefField& f, const RawValue& v) {
  std::string name = RefLower(StringOf(v));
  for (size_t i = 0; i < f.enum_names.size(); ++i) {
    if (RefLower(f.enum_names[i]) == name) return static_cast<int>(i) + 1;
  }
  ADD_FAILURE() << "brute force: unknown enum name " << name << " for "
                << f.name;
  return 0;
}

// Enums. `value` is the wire number, 0 = unset.
bool EnumMatches(const ConditionSpec& c, const RefField& f, int value) {
  const bool set = value != 0;
  switch (c.op) {
    case kIsSet:
      return set;
    case kIsNotSet:
      return !set;
    case kEquals:
      return set && value == EnumNumber(f, c.values.at(0));
    case kNotEquals:
      return !(set && value == EnumNumber(f, c.values.at(0)));
    case kIn:
    case kNotIn: {
      bool in = false;
      for (const RawValue& v : c.values) {
        if (set && value == EnumNumber(f, v)) in = true;
      }
      return c.op == kIn ? in : !in;
    }
    case kGreaterThan:
      return set && value > EnumNumber(f, c.values.at(0));
    case kGreaterOrEqual:
      return set && value >= EnumNumber(f, c.values.at(0));
    case kLessThan:
      return set && value < EnumNumber(f, c.values.at(0));
    case kLessOrEqual:
      return set && value <= EnumNumber(f, c.values.at(0));
    default:
      return Fail(c);
  }
}

bool NumberMatches(const ConditionSpec& c, int64_t value) {
  switch (c.op) {
    case kEquals:
      return value == NumberOf(c.values.at(0));
    case kNotEquals:
      return value != NumberOf(c.values.at(0));
    case kGreaterThan:
      return value > NumberOf(c.values.at(0));
    case kGreaterOrEqual:
      return value >= NumberOf(c.values.at(0));
    case kLessThan:
      return value < NumberOf(c.values.at(0));
    case kLessOrEqual:
      return value <= NumberOf(c.values.at(0));
    case kBetween:
      return NumberOf(c.values.at(0)) <= value &&
             value <= NumberOf(c.values.at(1));
    default:
      return Fail(c);
  }
}

bool TimestampMatches(const ConditionSpec& c, std::optional<int64_t> t,
                      UnixSeconds now) {
  switch (c.op) {
    case kIsSet:
      return t.has_value();
    case kIsNotSet:
      return !t.has_value();
    case kBefore:
      return t.has_value() && *t < TimestampOf(c.values.at(0));
    case kAfter:
      return t.has_value() && *t > TimestampOf(c.values.at(0));
    case kBetween:
      return t.has_value() && TimestampOf(c.values.at(0)) <= *t &&
             *t <= TimestampOf(c.values.at(1));
    case kWithinLastDays:
      return t.has_value() &&
             *t >= now - NumberOf(c.values.at(0)) * kSecondsPerDay;
    case kMoreThanDaysAgo:
      return t.has_value() &&
             *t < now - NumberOf(c.values.at(0)) * kSecondsPerDay;
    default:
      return Fail(c);
  }
}

bool Named(const std::vector<std::string>& fields, std::string_view name) {
  if (fields.empty()) return true;
  for (const std::string& f : fields) {
    if (f == name) return true;
  }
  return false;
}

std::string Quote(std::string_view s) {
  return absl::StrCat(
      "\"", absl::CHexEscape(absl::string_view(s.data(), s.size())), "\"");
}

std::string DescribeValue(const RawValue& v) {
  if (std::holds_alternative<NoValue>(v)) return "<none>";
  if (const auto* s = std::get_if<std::string>(&v)) return Quote(*s);
  if (const auto* n = std::get_if<int64_t>(&v)) return absl::StrCat(*n);
  return absl::StrCat("ts:", std::get<TimestampValue>(v).seconds);
}

std::string DescribeOptionalTime(const std::optional<UnixSeconds>& t) {
  return t.has_value() ? absl::StrCat(*t) : "unset";
}

}  // namespace

const std::vector<RefField>& ReferenceFields() {
  static const std::vector<RefField>* const kFields = [] {
    const std::set<int> kStringOps = {
        kEquals,      kNotEquals,  kIn,       kNotIn, kContains,
        kNotContains, kStartsWith, kEndsWith, kIsSet, kIsNotSet};
    std::set<int> email_ops = kStringOps;
    email_ops.erase(kIsSet);
    email_ops.erase(kIsNotSet);
    const std::set<int> kOrderedOps = {kEquals,   kNotEquals,   kIn,
                                       kNotIn,    kGreaterThan, kGreaterOrEqual,
                                       kLessThan, kLessOrEqual};
    std::set<int> likelihood_ops = kOrderedOps;
    likelihood_ops.insert({kIsSet, kIsNotSet});
    const std::set<int> kNumberOps = {kEquals,         kNotEquals, kGreaterThan,
                                      kGreaterOrEqual, kLessThan,  kLessOrEqual,
                                      kBetween};
    const std::set<int> kTimeOps = {kBefore, kAfter, kBetween, kWithinLastDays,
                                    kMoreThanDaysAgo};
    std::set<int> optional_time_ops = kTimeOps;
    optional_time_ops.insert({kIsSet, kIsNotSet});
    const std::vector<std::string_view> kStages = {"SUBSCRIBER", "LEAD", "MQL",
                                                   "SQL", "CUSTOMER"};
    const std::vector<std::string_view> kTrends = {"RISING", "STABLE",
                                                   "DECLINING"};
    const std::vector<std::string_view> kLikelihoods = {
        "LOW", "POSSIBLE", "LIKELY", "VERY_LIKELY"};
    return new std::vector<RefField>{
        {"email", RefKind::kString, false, {}, email_ops, false},
        {"company", RefKind::kString, true, {}, kStringOps, false},
        {"job_title", RefKind::kString, true, {}, kStringOps, false},
        {"country", RefKind::kString, true, {}, kStringOps, false},
        {"city", RefKind::kString, true, {}, kStringOps, false},
        {"source", RefKind::kString, true, {}, kStringOps, false},
        {"tags",
         RefKind::kTags,
         true,
         {},
         {kHasAny, kHasAll, kHasNone, kIsSet, kIsNotSet},
         false},
        {"lifecycle_stage", RefKind::kOrderedEnum, false, kStages, kOrderedOps,
         false},
        {"lead_score", RefKind::kNumber, false, {}, kNumberOps, true},
        {"engagement_score", RefKind::kNumber, false, {}, kNumberOps, true},
        {"engagement_trend",
         RefKind::kEnum,
         true,
         kTrends,
         {kEquals, kNotEquals, kIn, kNotIn, kIsSet, kIsNotSet},
         true},
        {"conversion_likelihood", RefKind::kOrderedEnum, true, kLikelihoods,
         likelihood_ops, true},
        {"created_at", RefKind::kTimestamp, false, {}, kTimeOps, false},
        {"last_engaged_at",
         RefKind::kTimestamp,
         true,
         {},
         optional_time_ops,
         false},
    };
  }();
  return *kFields;
}

const RefField* FindReferenceField(std::string_view name) {
  for (const RefField& f : ReferenceFields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string RefLower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

std::string RefTrim(std::string_view s) {
  auto space = [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' ||
           ch == '\r';
  };
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && space(s[begin])) ++begin;
  while (end > begin && space(s[end - 1])) --end;
  return std::string(s.substr(begin, end - begin));
}

bool BruteForceConditionMatches(const ConditionSpec& c, const Contact& contact,
                                UnixSeconds now) {
  const RefField* f = FindReferenceField(c.field);
  if (f == nullptr || f->ops.count(c.op) == 0) return Fail(c);
  const std::string& name = c.field;
  if (name == "email") return StringMatches(c, contact.email);
  if (name == "company") return StringMatches(c, contact.company);
  if (name == "job_title") return StringMatches(c, contact.job_title);
  if (name == "country") return StringMatches(c, contact.country);
  if (name == "city") return StringMatches(c, contact.city);
  if (name == "source") return StringMatches(c, contact.source);
  if (name == "tags") return TagsMatch(c, contact.tags);
  if (name == "lifecycle_stage") {
    return EnumMatches(c, *f, static_cast<int>(contact.lifecycle_stage));
  }
  if (name == "engagement_trend") {
    return EnumMatches(c, *f, static_cast<int>(contact.engagement_trend));
  }
  if (name == "conversion_likelihood") {
    return EnumMatches(c, *f, static_cast<int>(contact.conversion_likelihood));
  }
  if (name == "lead_score") return NumberMatches(c, contact.lead_score);
  if (name == "engagement_score")
    return NumberMatches(c, contact.engagement_score);
  if (name == "created_at") return TimestampMatches(c, contact.created_at, now);
  if (name == "last_engaged_at")
    return TimestampMatches(c, contact.last_engaged_at, now);
  return Fail(c);
}

bool BruteForceMatches(const FilterSpec& filter, const Contact& contact,
                       UnixSeconds now) {
  return BruteForceMatches(filter, contact, now, [](SegmentId) {
    ADD_FAILURE() << "a reference without a way to answer it";
    return false;
  });
}

bool BruteForceMatches(const FilterSpec& filter, const Contact& contact,
                       UnixSeconds now,
                       const std::function<bool(SegmentId)>& in_segment) {
  // MATCH_UNSPECIFIED (0) means ALL.
  const bool any = filter.match == 2;
  bool result = !any;
  for (const ConditionSpec& c : filter.conditions) {
    bool m = false;
    if (c.group.has_value()) {
      m = BruteForceMatches(*c.group, contact, now, in_segment);
    } else if (c.op == kInSegment) {
      m = in_segment(c.segment_id);
    } else if (c.op == kNotInSegment) {
      m = !in_segment(c.segment_id);
    } else {
      m = BruteForceConditionMatches(c, contact, now);
    }
    if (any && m) result = true;
    if (!any && !m) result = false;
  }
  return result;
}

Contact ReferenceApplyDraft(const ContactDraft& d,
                            const std::vector<std::string>& fields,
                            const Contact* before, UnixSeconds now) {
  Contact c;
  if (before != nullptr) c = *before;
  // A new contact takes every field regardless of `fields`.
  auto take = [&](std::string_view name) {
    return before == nullptr || Named(fields, name);
  };
  if (take("email")) c.email = RefLower(RefTrim(d.email));
  if (take("company")) c.company = RefTrim(d.company);
  if (take("job_title")) c.job_title = RefTrim(d.job_title);
  if (take("country")) c.country = RefTrim(d.country);
  if (take("city")) c.city = RefTrim(d.city);
  if (take("source")) c.source = RefTrim(d.source);
  if (take("tags")) {
    std::set<std::string> tags;
    for (const std::string& t : d.tags) tags.insert(RefLower(RefTrim(t)));
    c.tags.assign(tags.begin(), tags.end());
  }
  if (take("lifecycle_stage")) {
    c.lifecycle_stage = static_cast<LifecycleStage>(
        d.lifecycle_stage == 0 ? 1 : d.lifecycle_stage);
  }
  if (take("lead_score")) c.lead_score = static_cast<int32_t>(d.lead_score);
  if (take("engagement_score"))
    c.engagement_score = static_cast<int32_t>(d.engagement_score);
  if (take("engagement_trend")) {
    c.engagement_trend = static_cast<EngagementTrend>(d.engagement_trend);
  }
  if (take("conversion_likelihood")) {
    c.conversion_likelihood =
        static_cast<ConversionLikelihood>(d.conversion_likelihood);
  }
  if (take("created_at")) {
    if (d.created_at.has_value()) {
      c.created_at = *d.created_at;
    } else if (before == nullptr) {
      c.created_at = now;
    }
  }
  if (take("last_engaged_at")) c.last_engaged_at = d.last_engaged_at;
  return c;
}

std::string DescribeContact(const Contact& c) {
  std::string tags;
  for (const std::string& t : c.tags)
    absl::StrAppend(&tags, tags.empty() ? "" : ",", Quote(t));
  return absl::StrCat(
      "Contact{id=", c.id, " email=", Quote(c.email),
      " company=", Quote(c.company), " job_title=", Quote(c.job_title),
      " country=", Quote(c.country), " city=", Quote(c.city),
      " source=", Quote(c.source), " tags=[", tags,
      "] lifecycle_stage=", static_cast<int>(c.lifecycle_stage),
      " lead_score=", c.lead_score, " engagement_score=", c.engagement_score,
      " engagement_trend=", static_cast<int>(c.engagement_trend),
      " conversion_likelihood=", static_cast<int>(c.conversion_likelihood),
      " created_at=", c.created_at,
      " last_engaged_at=", DescribeOptionalTime(c.last_engaged_at), "}");
}

std::string DescribeDraft(const ContactDraft& d) {
  std::string tags;
  for (const std::string& t : d.tags)
    absl::StrAppend(&tags, tags.empty() ? "" : ",", Quote(t));
  return absl::StrCat(
      "ContactDraft{email=", Quote(d.email), " company=", Quote(d.company),
      " job_title=", Quote(d.job_title), " country=", Quote(d.country),
      " city=", Quote(d.city), " source=", Quote(d.source), " tags=[", tags,
      "] lifecycle_stage=", d.lifecycle_stage, " lead_score=", d.lead_score,
      " engagement_score=", d.engagement_score,
      " engagement_trend=", d.engagement_trend,
      " conversion_likelihood=", d.conversion_likelihood,
      " created_at=", DescribeOptionalTime(d.created_at),
      " last_engaged_at=", DescribeOptionalTime(d.last_engaged_at), "}");
}

std::string DescribeCondition(const ConditionSpec& c) {
  if (c.group.has_value())
    return absl::StrCat("group ", DescribeFilter(*c.group));
  if (c.op == kInSegment) return absl::StrCat("IN_SEGMENT ", c.segment_id);
  if (c.op == kNotInSegment)
    return absl::StrCat("NOT_IN_SEGMENT ", c.segment_id);
  std::string values;
  for (const RawValue& v : c.values) {
    absl::StrAppend(&values, values.empty() ? "" : ", ", DescribeValue(v));
  }
  return absl::StrCat(c.field, " ", c.op <= kIsNotSet ? RefOpName(c.op) : "?",
                      " [", values, "]");
}

std::string DescribeFilter(const FilterSpec& f) {
  std::string out = absl::StrCat("Filter{match=", f.match == 2 ? "ANY" : "ALL",
                                 "(", f.match, ")");
  for (size_t i = 0; i < f.conditions.size(); ++i) {
    absl::StrAppend(&out, "\n  [", i, "] ", DescribeCondition(f.conditions[i]));
  }
  absl::StrAppend(&out, "}");
  return out;
}

}  // namespace segments::testing
