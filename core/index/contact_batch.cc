#include "core/index/contact_batch.h"

#include <algorithm>
#include <utility>

namespace segments {

ContactBatch::ContactBatch(std::vector<const Contact*> contacts)
    : contacts_(std::move(contacts)) {
  by_email_.reserve(contacts_.size());
  for (const Contact* c : contacts_) by_email_.emplace(c->email, c->id);
}

ContactId ContactBatch::FindEmail(std::string_view email) const {
  auto it = by_email_.find(email);
  return it == by_email_.end() ? 0 : it->second;
}

void ContactBatch::ForEachEmail(
    absl::FunctionRef<void(const std::string&, ContactId)> fn) const {
  for (const Contact* c : contacts_) fn(c->email, c->id);
}

const Contact& ContactBatch::Get(ContactId id) const {
  auto it = std::lower_bound(
      contacts_.begin(), contacts_.end(), id,
      [](const Contact* c, ContactId wanted) { return c->id < wanted; });
  return **it;
}

}  // namespace segments
