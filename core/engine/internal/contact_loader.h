// What a workspace's load does with each stored contact: indexes it and puts
// it in the contact table, a thousand at a time, while the store streams the
// next thousand (issue 18). The reading thread fills one batch while the
// previous one is indexed and tabled on two other threads, so the store's
// reading and decoding overlap the indexing instead of waiting for it. The
// two share the batch's pieces (the table's column groups, the index's
// fields), each taking the next piece when done with one, so neither waits
// for the other whatever each piece costs.
//
// Thread-safety: Add and Finish are called from one thread. The index and
// the table are written from other threads between an Add that completes a
// batch and the next Add that completes one, and until Finish returns: the
// caller holds the lock that guards them meanwhile, and touches them only
// after Finish. The destructor finishes.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_

#include <array>
#include <cstddef>
#include <thread>
#include <vector>

#include "absl/types/span.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_table.h"
#include "core/model/contact.h"

namespace segments::engine {

class ContactLoader {
 public:
  // A thousand: AttributeIndex::AddBatch goes field by field, keeping each
  // field's index in cache; and a thread per batch costs tens of
  // microseconds against a few milliseconds of work.
  static constexpr size_t kBatch = 1024;

  ContactLoader(AttributeIndex* index, ContactTable* table);
  ~ContactLoader() { Finish(); }
  ContactLoader(const ContactLoader&) = delete;
  ContactLoader& operator=(const ContactLoader&) = delete;

  // Copies `c` into the batch being filled. REQUIRES: ids ascending, none
  // indexed yet.
  void Add(const Contact& c);
  // Indexes what is left; when it returns, every contact added is in the
  // index and the table, and no other thread touches them.
  void Finish();

 private:
  // Hands the filled batch to a thread (below kParallelMinItems: indexes it
  // here) and switches to the other one.
  void Flush();
  void Index(absl::Span<const Contact* const> batch);
  void Wait();

  AttributeIndex* const index_;
  ContactTable* const table_;
  // Two batches: one filled by Add while the other is indexed. The slots
  // are assigned, not appended, so their strings keep their buffers.
  std::array<std::vector<Contact>, 2> batches_;
  std::array<std::vector<const Contact*>, 2> pointers_;
  int filling_ = 0;
  size_t filled_ = 0;
  std::thread indexing_;  // indexes the other batch, when joinable
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_
