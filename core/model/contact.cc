#include "core/model/contact.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/ascii.h"
#include "core/base/utf8.h"

namespace segments {
namespace {

constexpr std::string_view kFieldNames[kContactFieldCount] = {
    "email",
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
    "last_engaged_at",
};

std::string Join(std::string_view path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return absl::StrCat(absl::string_view(path.data(), path.size()), ".",
                      absl::string_view(name.data(), name.size()));
}

bool Has(ContactFieldSet fields, ContactField f) {
  return (fields & FieldBit(f)) != 0;
}

// Validates an optional string field `path`.`name`; returns the trimmed
// value (empty = unset) or adds a violation and returns nullopt. Paths are
// built only for a violation: most contacts have none.
std::optional<std::string> NormalizeOptionalString(std::string raw,
                                                   std::string_view path,
                                                   std::string_view name,
                                                   Violations* violations) {
  TrimAsciiInPlace(&raw);
  if (!IsValidUtf8(raw)) {
    violations->Add(Join(path, name), "must be valid UTF-8");
    return std::nullopt;
  }
  if (raw.size() > kMaxStringFieldBytes) {
    violations->Add(Join(path, name),
                    absl::StrCat("must be at most ", kMaxStringFieldBytes,
                                 " bytes (got ", raw.size(), ")"));
    return std::nullopt;
  }
  return raw;
}

// Validates the tags of the contact at `path`.
std::optional<std::vector<std::string>> NormalizeTags(
    std::vector<std::string> raw, std::string_view path,
    Violations* violations) {
  std::vector<std::string> tags;
  tags.reserve(raw.size());
  bool ok = true;
  auto violation = [&](size_t i, std::string problem) {
    violations->Add(absl::StrCat(Join(path, "tags"), "[", i, "]"),
                    std::move(problem));
    ok = false;
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string& t = raw[i];
    TrimAsciiInPlace(&t);
    if (t.empty()) {
      violation(i, "must not be empty");
    } else if (!IsValidUtf8(t)) {
      violation(i, "must be valid UTF-8");
    } else if (t.size() > kMaxTagBytes) {
      violation(i, absl::StrCat("must be at most ", kMaxTagBytes,
                                " bytes (got ", t.size(), ")"));
    } else {
      LowerAsciiInPlace(&t);
      tags.push_back(std::move(t));
    }
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (tags.size() > kMaxTags) {
    violations->Add(
        Join(path, "tags"),
        absl::StrCat("at most ", kMaxTags, " distinct tags are allowed (got ",
                     tags.size(), ")"));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return tags;
}

bool TimestampInRange(UnixSeconds t) {
  return t >= kMinTimestamp && t <= kMaxTimestamp;
}

constexpr char kTimestampRange[] =
    "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z";

}  // namespace

std::string EmailProblem(std::string_view email) {
  if (email.empty()) return "is required";
  if (!IsValidUtf8(email)) return "must be valid UTF-8";
  if (email.size() > kMaxEmailBytes) {
    return absl::StrCat("must be at most ", kMaxEmailBytes, " bytes (got ",
                        email.size(), ")");
  }
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return "must not contain whitespace or control characters";
    }
  }
  const size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != email.npos) {
    return "must contain exactly one '@'";
  }
  if (at == 0 || at + 1 == email.size()) {
    return "must have a non-empty local part and domain";
  }
  return "";
}

bool Contact::operator==(const Contact& o) const {
  return id == o.id && email == o.email && company == o.company &&
         job_title == o.job_title && country == o.country && city == o.city &&
         source == o.source && tags == o.tags &&
         lifecycle_stage == o.lifecycle_stage && lead_score == o.lead_score &&
         engagement_score == o.engagement_score &&
         engagement_trend == o.engagement_trend &&
         conversion_likelihood == o.conversion_likelihood &&
         created_at == o.created_at && last_engaged_at == o.last_engaged_at;
}

std::string_view ContactFieldName(ContactField f) {
  const int i = static_cast<int>(f);
  if (i < 0 || i >= kContactFieldCount) return "";
  return kFieldNames[i];
}

std::optional<ContactField> ParseContactField(std::string_view name) {
  for (int i = 0; i < kContactFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<ContactField>(i);
  }
  return std::nullopt;
}

absl::StatusOr<ContactFieldSet> ParseContactFieldMask(
    const std::vector<std::string>& paths, std::string_view mask_path) {
  if (paths.empty()) return kAllContactFields;
  ContactFieldSet set = 0;
  Violations violations;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string at =
        absl::StrCat(absl::string_view(mask_path.data(), mask_path.size()),
                     ".paths[", i, "]");
    if (paths[i] == "id") {
      violations.Add(at, "id is assigned by the service and cannot be updated");
      continue;
    }
    std::optional<ContactField> f = ParseContactField(paths[i]);
    if (!f.has_value()) {
      // Echo the path only when it is short, valid text.
      violations.Add(
          at, paths[i].size() <= 64 && IsValidUtf8(paths[i])
                  ? absl::StrCat("unknown contact field \"", paths[i], "\"")
                  : std::string("unknown contact field"));
      continue;
    }
    set |= FieldBit(*f);
  }
  if (!violations.empty()) return violations.ToStatus();
  return set;
}

void NormalizeContactFields(ContactDraft draft, ContactFieldSet fields,
                            std::string_view path, UnixSeconds /*now*/,
                            Contact* out, Violations* violations) {
  if (Has(fields, ContactField::kEmail)) {
    std::string email = std::move(draft.email);
    TrimAsciiInPlace(&email);
    LowerAsciiInPlace(&email);
    std::string problem = EmailProblem(email);
    if (problem.empty()) {
      out->email = std::move(email);
    } else {
      violations->Add(Join(path, "email"), std::move(problem));
    }
  }

  struct StringField {
    ContactField field;
    std::string* raw;
    std::string* dest;
  };
  const StringField strings[] = {
      {ContactField::kCompany, &draft.company, &out->company},
      {ContactField::kJobTitle, &draft.job_title, &out->job_title},
      {ContactField::kCountry, &draft.country, &out->country},
      {ContactField::kCity, &draft.city, &out->city},
      {ContactField::kSource, &draft.source, &out->source},
  };
  for (const StringField& s : strings) {
    if (!Has(fields, s.field)) continue;
    std::optional<std::string> v = NormalizeOptionalString(
        std::move(*s.raw), path, ContactFieldName(s.field), violations);
    if (v.has_value()) *s.dest = std::move(*v);
  }

  if (Has(fields, ContactField::kTags)) {
    std::optional<std::vector<std::string>> tags =
        NormalizeTags(std::move(draft.tags), path, violations);
    if (tags.has_value()) out->tags = std::move(*tags);
  }

  if (Has(fields, ContactField::kLifecycleStage)) {
    const int v = draft.lifecycle_stage;
    if (v == 0) {
      out->lifecycle_stage = LifecycleStage::kSubscriber;
    } else if (v >= 1 && v <= static_cast<int>(LifecycleStage::kCustomer)) {
      out->lifecycle_stage = static_cast<LifecycleStage>(v);
    } else {
      violations->Add(Join(path, "lifecycle_stage"),
                      absl::StrCat("unknown lifecycle stage ", v));
    }
  }

  if (Has(fields, ContactField::kLeadScore)) {
    const int64_t v = draft.lead_score;
    if (v < std::numeric_limits<int32_t>::min() ||
        v > std::numeric_limits<int32_t>::max()) {
      violations->Add(Join(path, "lead_score"), "must fit in a 32-bit integer");
    } else {
      out->lead_score = static_cast<int32_t>(v);
    }
  }

  if (Has(fields, ContactField::kEngagementScore)) {
    const int64_t v = draft.engagement_score;
    if (v < 0 || v > 100) {
      violations->Add(Join(path, "engagement_score"),
                      absl::StrCat("must be between 0 and 100 (got ", v, ")"));
    } else {
      out->engagement_score = static_cast<int32_t>(v);
    }
  }

  if (Has(fields, ContactField::kEngagementTrend)) {
    const int v = draft.engagement_trend;
    if (v >= 0 && v <= static_cast<int>(EngagementTrend::kDeclining)) {
      out->engagement_trend = static_cast<EngagementTrend>(v);
    } else {
      violations->Add(Join(path, "engagement_trend"),
                      absl::StrCat("unknown engagement trend ", v));
    }
  }

  if (Has(fields, ContactField::kConversionLikelihood)) {
    const int v = draft.conversion_likelihood;
    if (v >= 0 && v <= static_cast<int>(ConversionLikelihood::kVeryLikely)) {
      out->conversion_likelihood = static_cast<ConversionLikelihood>(v);
    } else {
      violations->Add(Join(path, "conversion_likelihood"),
                      absl::StrCat("unknown conversion likelihood ", v));
    }
  }

  // An absent created_at leaves the stored one alone, so an update never
  // resets it; NormalizeNewContact fills `now` beforehand for new contacts.
  if (Has(fields, ContactField::kCreatedAt) && draft.created_at.has_value()) {
    if (TimestampInRange(*draft.created_at)) {
      out->created_at = *draft.created_at;
    } else {
      violations->Add(Join(path, "created_at"), kTimestampRange);
    }
  }

  if (Has(fields, ContactField::kLastEngagedAt)) {
    if (!draft.last_engaged_at.has_value()) {
      out->last_engaged_at.reset();
    } else if (TimestampInRange(*draft.last_engaged_at)) {
      out->last_engaged_at = *draft.last_engaged_at;
    } else {
      violations->Add(Join(path, "last_engaged_at"), kTimestampRange);
    }
  }
}

absl::StatusOr<Contact> NormalizeNewContact(const ContactDraft& draft,
                                            std::string_view path,
                                            UnixSeconds now) {
  Contact contact;
  contact.created_at = now;
  Violations violations;
  NormalizeContactFields(draft, kAllContactFields, path, now, &contact,
                         &violations);
  if (!violations.empty()) return violations.ToStatus();
  return contact;
}

const std::string& StringFieldOf(const Contact& c, ContactField f) {
  switch (f) {
    case ContactField::kCompany:
      return c.company;
    case ContactField::kJobTitle:
      return c.job_title;
    case ContactField::kCountry:
      return c.country;
    case ContactField::kCity:
      return c.city;
    case ContactField::kSource:
      return c.source;
    default:
      return c.email;
  }
}

}  // namespace segments
