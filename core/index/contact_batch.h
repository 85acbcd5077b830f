// The contacts a write creates, seen as a ContactLookup, so that a small
// AttributeIndex of just them can match them against every segment with
// bitmap algebra (one evaluation per segment) instead of one predicate call
// per contact and segment.
#ifndef SEGMENTS_CORE_INDEX_CONTACT_BATCH_H_
#define SEGMENTS_CORE_INDEX_CONTACT_BATCH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "core/index/contact_lookup.h"
#include "core/model/contact.h"

namespace segments {

class ContactBatch final : public ContactLookup {
 public:
  // REQUIRES: ids ascending and unique, emails unique; the contacts outlive
  // this.
  explicit ContactBatch(std::vector<const Contact*> contacts);

  absl::Span<const Contact* const> contacts() const { return contacts_; }

  ContactId FindEmail(std::string_view email) const override;
  void ForEachEmail(
      absl::FunctionRef<void(const std::string&, ContactId)> fn) const override;
  UnixSeconds created_at(ContactId id) const override {
    return Get(id).created_at;
  }
  std::optional<UnixSeconds> last_engaged_at(ContactId id) const override {
    return Get(id).last_engaged_at;
  }

 private:
  // REQUIRES: `id` is in the batch.
  const Contact& Get(ContactId id) const;

  std::vector<const Contact*> contacts_;
  absl::flat_hash_map<std::string_view, ContactId> by_email_;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_CONTACT_BATCH_H_
