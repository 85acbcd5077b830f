#include "core/engine/internal/contact_loader.h"

#include <system_error>

#include "core/base/parallel.h"

namespace segments::engine {

ContactLoader::ContactLoader(AttributeIndex* index, ContactTable* table)
    : index_(index), table_(table) {
  for (int b = 0; b < 2; ++b) {
    batches_[b].resize(kBatch);
    for (const Contact& c : batches_[b]) pointers_[b].push_back(&c);
  }
}

void ContactLoader::Add(const Contact& c) {
  batches_[filling_][filled_++] = c;
  if (filled_ == kBatch) Flush();
}

void ContactLoader::Finish() {
  if (filled_ > 0) Flush();
  Wait();
}

void ContactLoader::Flush() {
  // The batch indexed last must be done before this one (the table takes
  // ascending ids) and before its slots are filled again.
  Wait();
  const auto batch =
      absl::MakeConstSpan(pointers_[filling_]).subspan(0, filled_);
  filling_ = 1 - filling_;
  filled_ = 0;
  if (batch.size() < kParallelMinItems) {
    Index(batch);
    return;
  }
  try {
    indexing_ = std::thread([this, batch] { Index(batch); });
  } catch (const std::system_error&) {
    Index(batch);  // no thread to be had: here, as before
  }
}

void ContactLoader::Index(absl::Span<const Contact* const> batch) {
  // The index and the table share nothing.
  RunBoth(
      batch.size() >= kParallelMinItems, [&] { index_->AddBatch(batch); },
      [&] { table_->InsertBatch(batch); });
}

void ContactLoader::Wait() {
  if (indexing_.joinable()) indexing_.join();
}

}  // namespace segments::engine
