// A contact (SPEC §3), the raw draft a caller sends, and the normalization
// that turns one into the other.
#ifndef SEGMENTS_CORE_MODEL_CONTACT_H_
#define SEGMENTS_CORE_MODEL_CONTACT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/errors.h"
#include "core/base/ids.h"
#include "core/base/types.h"

namespace segments {

// A normalized, valid contact. Strings are trimmed; an empty string means
// unset; email and tags are lowercase; tags are sorted and unique.
struct Contact {
  ContactId id = 0;
  std::string email;
  std::string company;
  std::string job_title;
  std::string country;
  std::string city;
  std::string source;
  std::vector<std::string> tags;
  LifecycleStage lifecycle_stage = LifecycleStage::kSubscriber;
  int32_t lead_score = 0;
  int32_t engagement_score = 0;
  EngagementTrend engagement_trend = EngagementTrend::kUnset;
  ConversionLikelihood conversion_likelihood = ConversionLikelihood::kUnset;
  UnixSeconds created_at = 0;
  std::optional<UnixSeconds> last_engaged_at;

  bool operator==(const Contact& o) const;
};

// What a caller sends, before validation. Enum fields hold the raw wire
// number (0 = unspecified) so out-of-range numbers can be reported.
struct ContactDraft {
  std::string email;
  std::string company;
  std::string job_title;
  std::string country;
  std::string city;
  std::string source;
  std::vector<std::string> tags;
  int lifecycle_stage = 0;
  int64_t lead_score = 0;
  int64_t engagement_score = 0;
  int engagement_trend = 0;
  int conversion_likelihood = 0;
  std::optional<UnixSeconds> created_at;
  std::optional<UnixSeconds> last_engaged_at;
};

// The contact fields a field mask may name (the proto field names).
enum class ContactField : int {
  kEmail,
  kCompany,
  kJobTitle,
  kCountry,
  kCity,
  kSource,
  kTags,
  kLifecycleStage,
  kLeadScore,
  kEngagementScore,
  kEngagementTrend,
  kConversionLikelihood,
  kCreatedAt,
  kLastEngagedAt,
};
inline constexpr int kContactFieldCount = 14;

// Set of contact fields as a bit mask (bit i = ContactField i).
using ContactFieldSet = uint32_t;
inline constexpr ContactFieldSet kAllContactFields =
    (1u << kContactFieldCount) - 1;
constexpr ContactFieldSet FieldBit(ContactField f) {
  return 1u << static_cast<int>(f);
}

std::string_view ContactFieldName(ContactField f);

// The value of one of the six string fields (email, company, job_title,
// country, city, source). REQUIRES: `f` is one of them.
const std::string& StringFieldOf(const Contact& c, ContactField f);
std::optional<ContactField> ParseContactField(std::string_view name);

// Resolves update-mask paths; an empty mask means every field. Unknown paths
// are reported as `<mask_path>.paths[i]`.
absl::StatusOr<ContactFieldSet> ParseContactFieldMask(
    const std::vector<std::string>& paths, std::string_view mask_path);

// Validates every field of `draft` that `fields` names and writes the
// normalized values into `*out`, leaving the other fields of `*out` alone.
// Violations are added under `path` (e.g. "contact" -> "contact.email").
// A draft without created_at leaves `out->created_at` as it is (an update never
// resets it; a new contact is given `now` by NormalizeNewContact).
// `draft` is taken by value: a caller done with it moves it in, and its
// strings become the contact's without a copy.
void NormalizeContactFields(ContactDraft draft, ContactFieldSet fields,
                            std::string_view path, UnixSeconds now,
                            Contact* out, Violations* violations);

// Normalizes a whole new contact (all fields); INVALID_ARGUMENT lists every
// violation. The id is left 0.
absl::StatusOr<Contact> NormalizeNewContact(const ContactDraft& draft,
                                            std::string_view path,
                                            UnixSeconds now);

// The first problem with an email that is already trimmed and lowercased,
// worded as a field violation ("must contain exactly one '@'"); "" when the
// email is valid.
std::string EmailProblem(std::string_view email);

// Limits from SPEC §3.
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMaxStringFieldBytes = 256;
inline constexpr size_t kMaxTags = 100;
inline constexpr size_t kMaxTagBytes = 64;

}  // namespace segments

#endif  // SEGMENTS_CORE_MODEL_CONTACT_H_
