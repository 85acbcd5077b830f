// What a workspace's load does with each stored contact: indexes it and puts
// it in the contact table, a thousand at a time, while the store streams the
// next thousands (issue 18). A batch's work is pieces (room for its rows,
// the table's column groups, the index's fields), each touching state of its
// own; a piece of a batch can run as soon as the same piece of the batch
// before it is done, so one indexing thread works through older batches
// while the reading thread fills newer ones, and the reading thread, when
// every slot is full, takes pieces too. Two threads on two cores, neither
// waiting for a whole batch: at ten million contacts the loader that indexed
// one batch at a time, on two threads started per batch, left a third of the
// two cores idle (docs/benchmarks.md, restart).
//
// Thread-safety: Add and Finish are called from one thread. The index and
// the table are written from the indexing thread from the first Add until
// Finish returns: the caller holds the lock that guards them meanwhile, and
// touches them only after Finish. The destructor finishes.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_table.h"
#include "core/model/contact.h"

namespace segments::engine {

class ContactLoader {
 public:
  // A thousand: AttributeIndex::AddBatchFields goes field by field,
  // keeping each field's index in cache.
  static constexpr size_t kBatch = 1024;
  // Batches filled and not yet indexed, at most: enough that a slow batch
  // (a pool's hash set growing) does not stop the reading thread.
  static constexpr size_t kSlots = 4;
  // A batch's pieces: BeginInsert, then the table's column groups and the
  // index's fields (contact_loader.cc).
  static constexpr size_t kPieceCount = 18;

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
  struct Task {
    uint64_t batch;
    size_t piece;
  };
  // Hands the filled batch over (starting the indexing thread with the
  // first full one), then runs pieces here until the next slot is free.
  void Publish();
  // The oldest piece that may run now: not being run, its batch handed
  // over, the batch before done with it, and the batch's rows made before
  // its columns (and the columns of the batch before done before that).
  std::optional<Task> NextTask() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(Task task);  // without mu_: the piece's state is its own
  // Runs pieces until `until` holds, waiting for the other thread when all
  // that may run are being run.
  void HelpUntil(bool (ContactLoader::*until)() const) ABSL_LOCKS_EXCLUDED(mu_);
  bool FillingSlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AttributeIndex* const index_;
  ContactTable* const table_;
  // Batch b is in slot b % kSlots. The slots are assigned, not appended,
  // so their strings keep their buffers.
  std::array<std::vector<Contact>, kSlots> slots_;
  std::array<std::vector<const Contact*>, kSlots> pointers_;
  std::array<size_t, kSlots> sizes_{};
  uint64_t filling_ = 0;  // the batch Add fills (the reading thread's)
  size_t filled_ = 0;

  absl::Mutex mu_;
  uint64_t published_ ABSL_GUARDED_BY(mu_) = 0;  // batches handed over
  // Per piece: the batches it is done for (all below), and whether it is
  // being run for the next one.
  std::array<uint64_t, kPieceCount> done_ ABSL_GUARDED_BY(mu_){};
  std::array<bool, kPieceCount> taken_ ABSL_GUARDED_BY(mu_){};
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::thread indexing_;  // started with the first full batch, if it can
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_CONTACT_LOADER_H_
