// Small readers of Workspace listings for tests.
#ifndef SEGMENTS_TESTS_TESTING_PAGES_H_
#define SEGMENTS_TESTS_TESTING_PAGES_H_

#include <vector>

#include "core/base/ids.h"
#include "core/model/contact.h"
#include "core/model/paging.h"

namespace segments::testing {

// The ids of a page of contacts, in page order.
inline std::vector<ContactId> IdsOf(const Page<Contact>& page) {
  std::vector<ContactId> ids;
  ids.reserve(page.items.size());
  for (const Contact& c : page.items) ids.push_back(c.id);
  return ids;
}

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_PAGES_H_
