#include "core/engine/internal/contact_loader.h"

#include <atomic>
#include <cstdint>
#include <iterator>
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

namespace {

// A batch's work in pieces two threads share: the contact table's column
// groups and the index's fields, each piece touching state of its own.
// Biggest first (by a restart's profile, issue 18), so that the last pieces
// taken, which decide when both threads are done, are small ones.
struct Piece {
  bool table;
  ContactTable::ColumnGroup group;  // when `table`
  ContactField field;               // else
};
constexpr Piece TablePiece(ContactTable::ColumnGroup g) {
  return {true, g, ContactField::kEmail};
}
constexpr Piece FieldPiece(ContactField f) {
  return {false, ContactTable::ColumnGroup::kEmail, f};
}
constexpr Piece kPieces[] = {
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
// Every column group and every field exactly once.
constexpr bool CoversEachOnce() {
  uint32_t groups = 0;
  ContactFieldSet fields = 0;
  for (const Piece& p : kPieces) {
    const uint32_t bit = p.table ? 1u << static_cast<int>(p.group) : 0;
    if ((groups & bit) != 0 || (!p.table && (fields & FieldBit(p.field)))) {
      return false;
    }
    groups |= bit;
    if (!p.table) fields |= FieldBit(p.field);
  }
  return groups == (1u << std::size(ContactTable::kColumnGroups)) - 1 &&
         fields == kAllContactFields;
}
static_assert(CoversEachOnce());

}  // namespace

void ContactLoader::Index(absl::Span<const Contact* const> batch) {
  // The index and the table share nothing, and within each the pieces
  // share nothing: two threads take the pieces one at a time, whichever is
  // free next, so the work is split evenly whatever each piece costs.
  table_->BeginInsert(batch);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < std::size(kPieces);) {
      const Piece& piece = kPieces[i];
      if (piece.table) {
        table_->InsertColumns(batch, piece.group);
      } else {
        index_->AddBatchFields(batch, FieldBit(piece.field));
      }
    }
  };
  RunBoth(batch.size() >= kParallelMinItems, work, work);
}

void ContactLoader::Wait() {
  if (indexing_.joinable()) indexing_.join();
}

}  // namespace segments::engine
