#include "core/engine/internal/contact_loader.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <system_error>

#include "core/base/parallel.h"

namespace segments::engine {

namespace {

// A batch's work in pieces: the contact table's rows made room for (first:
// the table's columns write into them), its column groups and the index's
// fields, each touching state of its own. Biggest first (by a restart's
// profile, issue 18), so that the last pieces taken, which decide when a
// batch is done, are small ones.
struct Piece {
  enum Kind { kRows, kColumns, kField } kind;
  ContactTable::ColumnGroup group;  // when kColumns
  ContactField field;               // when kField
};
constexpr Piece kRowsPiece = {Piece::kRows, ContactTable::ColumnGroup::kEmail,
                              ContactField::kEmail};
constexpr Piece TablePiece(ContactTable::ColumnGroup g) {
  return {Piece::kColumns, g, ContactField::kEmail};
}
constexpr Piece FieldPiece(ContactField f) {
  return {Piece::kField, ContactTable::ColumnGroup::kEmail, f};
}
constexpr Piece kBatchPieces[] = {
    kRowsPiece,
    TablePiece(ContactTable::ColumnGroup::kTags),
    TablePiece(ContactTable::ColumnGroup::kText),
    TablePiece(ContactTable::ColumnGroup::kEmail),
    FieldPiece(ContactField::kTags),
    FieldPiece(ContactField::kCompany),
    FieldPiece(ContactField::kEmail),
    FieldPiece(ContactField::kCreatedAt),
    FieldPiece(ContactField::kLastEngagedAt),
    FieldPiece(ContactField::kCity),
    FieldPiece(ContactField::kJobTitle),
    FieldPiece(ContactField::kCountry),
    FieldPiece(ContactField::kSource),
    FieldPiece(ContactField::kLeadScore),
    FieldPiece(ContactField::kEngagementScore),
    FieldPiece(ContactField::kLifecycleStage),
    FieldPiece(ContactField::kEngagementTrend),
    FieldPiece(ContactField::kConversionLikelihood),
};
// The rows first, then every column group and every field exactly once.
constexpr bool CoversEachOnce() {
  uint32_t groups = 0;
  ContactFieldSet fields = 0;
  for (size_t i = 1; i < std::size(kBatchPieces); ++i) {
    const Piece& p = kBatchPieces[i];
    const bool columns = p.kind == Piece::kColumns;
    const uint32_t bit = columns ? 1u << static_cast<int>(p.group) : 0;
    if (p.kind == Piece::kRows || (groups & bit) != 0 ||
        (!columns && (fields & FieldBit(p.field)))) {
      return false;
    }
    groups |= bit;
    if (!columns) fields |= FieldBit(p.field);
  }
  return kBatchPieces[0].kind == Piece::kRows &&
         groups == (1u << std::size(ContactTable::kColumnGroups)) - 1 &&
         fields == kAllContactFields;
}
static_assert(CoversEachOnce());
static_assert(std::size(kBatchPieces) == ContactLoader::kPieceCount);

}  // namespace

ContactLoader::ContactLoader(AttributeIndex* index, ContactTable* table)
    : index_(index), table_(table) {
  for (size_t s = 0; s < kSlots; ++s) {
    slots_[s].resize(kBatch);
    for (const Contact& c : slots_[s]) pointers_[s].push_back(&c);
  }
}

void ContactLoader::Add(const Contact& c) {
  slots_[filling_ % kSlots][filled_++] = c;
  if (filled_ == kBatch) Publish();
}

void ContactLoader::Finish() {
  if (filled_ > 0) Publish();
  {
    absl::MutexLock l(&mu_);
    finishing_ = true;
  }
  HelpUntil(&ContactLoader::Finished);
  if (indexing_.joinable()) indexing_.join();
}

void ContactLoader::Publish() {
  sizes_[filling_ % kSlots] = filled_;
  ++filling_;
  filled_ = 0;
  {
    absl::MutexLock l(&mu_);
    published_ = filling_;
  }
  if (!indexing_.joinable() && sizes_[0] >= kParallelMinItems) {
    try {
      indexing_ = std::thread([this] { HelpUntil(&ContactLoader::Finished); });
    } catch (const std::system_error&) {
      // No thread to be had: this one runs every piece (HelpUntil).
    }
  }
  HelpUntil(&ContactLoader::FillingSlotFree);
}

bool ContactLoader::FillingSlotFree() const {
  // The batch kSlots before the one to fill used its slot.
  if (filling_ < kSlots) return true;
  const uint64_t previous = filling_ - kSlots;
  return std::all_of(done_.begin(), done_.end(),
                     [previous](uint64_t done) { return done > previous; });
}

bool ContactLoader::Finished() const {
  const uint64_t published = published_;
  return finishing_ &&
         std::all_of(done_.begin(), done_.end(),
                     [published](uint64_t done) { return done == published; });
}

std::optional<ContactLoader::Task> ContactLoader::NextTask() const {
  std::optional<Task> best;
  for (size_t p = 0; p < kPieceCount; ++p) {
    const uint64_t batch = done_[p];
    if (taken_[p] || batch >= published_) continue;
    if (kBatchPieces[p].kind == Piece::kRows) {
      // Making room moves the rows: no column of the batch before may be
      // writing them.
      bool columns_done = true;
      for (size_t q = 0; q < kPieceCount; ++q) {
        if (kBatchPieces[q].kind == Piece::kColumns && done_[q] < batch) {
          columns_done = false;
        }
      }
      if (!columns_done) continue;
    } else if (kBatchPieces[p].kind == Piece::kColumns && done_[0] <= batch) {
      continue;  // the batch's rows first
    }
    // The oldest batch first: it frees a slot. Among equals the earlier
    // piece, the bigger.
    if (!best.has_value() || batch < best->batch) best = Task{batch, p};
  }
  return best;
}

void ContactLoader::Run(Task task) {
  const size_t slot = task.batch % kSlots;
  const auto batch =
      absl::MakeConstSpan(pointers_[slot]).subspan(0, sizes_[slot]);
  const Piece& piece = kBatchPieces[task.piece];
  switch (piece.kind) {
    case Piece::kRows:
      table_->BeginInsert(batch);
      return;
    case Piece::kColumns:
      table_->InsertColumns(batch, piece.group);
      return;
    case Piece::kField:
      index_->AddBatchFields(batch, FieldBit(piece.field));
      return;
  }
}

void ContactLoader::HelpUntil(bool (ContactLoader::*until)() const) {
  absl::MutexLock l(&mu_);
  while (!(this->*until)()) {
    const std::optional<Task> task = NextTask();
    if (!task.has_value()) {
      // Every runnable piece is being run by the other thread: wait for it.
      const auto wake = [this, until]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return (this->*until)() || NextTask().has_value();
      };
      mu_.Await(absl::Condition(&wake));
      continue;
    }
    taken_[task->piece] = true;
    mu_.Unlock();
    Run(*task);
    mu_.Lock();
    taken_[task->piece] = false;
    ++done_[task->piece];
  }
}

}  // namespace segments::engine
