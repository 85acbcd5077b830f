// What an AttributeIndex reads from the contacts it describes, besides its
// own postings: emails (unique per contact, so not indexed twice) and the
// exact timestamps of a time range's boundary days. ContactTable answers it
// for a workspace; ContactBatch for the new contacts of one write, which the
// write indexes on their own to match them against every segment at once.
#ifndef SEGMENTS_CORE_INDEX_CONTACT_LOOKUP_H_
#define SEGMENTS_CORE_INDEX_CONTACT_LOOKUP_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "core/base/types.h"
#include "core/model/contact.h"

namespace segments {

class ContactLookup {
 public:
  virtual ~ContactLookup() = default;
  // The id of the contact with this (normalized) email, or 0.
  virtual ContactId FindEmail(std::string_view email) const = 0;
  // Calls `fn(email, id)` for every contact, by ascending id.
  virtual void ForEachEmail(
      absl::FunctionRef<void(const std::string&, ContactId)> fn) const = 0;
  // Timestamps of a present contact.
  virtual UnixSeconds created_at(ContactId id) const = 0;
  virtual std::optional<UnixSeconds> last_engaged_at(ContactId id) const = 0;
};

// The timestamp `field` (kCreatedAt or kLastEngagedAt) of present contact
// `id`. REQUIRES: it is set.
inline UnixSeconds TimestampOf(ContactField field, ContactId id,
                               const ContactLookup& contacts) {
  return field == ContactField::kCreatedAt ? contacts.created_at(id)
                                           : *contacts.last_engaged_at(id);
}

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_CONTACT_LOOKUP_H_
