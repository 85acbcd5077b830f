// Batch upserts big enough to be prepared on two threads (core/parallel.h),
// checked against what their entries imply (ids in entry order, counts, the
// echo, violations in entry order) and against the same entries sent in
// pieces small enough to stay on the caller's thread.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/parallel.h"
#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/pages.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IdsOf;
using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::SizeIs;

constexpr UnixSeconds kNow = 1'800'000'000;
// Contacts stored before the batch.
constexpr int kStored = 1200;
// Entries of the big batch: both halves hold more than kParallelMinItems,
// and the halves split at kBatch / 2.
constexpr size_t kBatch = 3000;
constexpr size_t kHalf = kBatch / 2;
static_assert(kHalf >= kParallelMinItems, "both halves run concurrently");
// Pieces small enough to be prepared on one thread.
constexpr size_t kPiece = 700;
static_assert(kPiece < kParallelMinItems, "pieces run sequentially");

std::string StoredEmail(int k) { return absl::StrCat("stored", k, "@x.com"); }

// A valid draft whose fields vary with `k`.
ContactDraft Draft(std::string email, int k) {
  ContactDraft d;
  d.email = std::move(email);
  d.country = k % 3 == 0 ? "DE" : "FR";
  d.city = absl::StrCat("city", k % 11);
  d.tags = {absl::StrCat("t", k % 7)};
  d.lifecycle_stage = 1 + k % 3;
  d.lead_score = k % 100;
  d.engagement_score = k % 101;
  return d;
}

ContactDraft StoredDraft(int k) { return Draft(StoredEmail(k), k); }

using ::segments::testing::Cond;

SegmentDraft SegmentOf(std::string name, ConditionSpec condition) {
  SegmentDraft d;
  d.display_name = std::move(name);
  d.filter.match = static_cast<int>(Match::kAll);
  d.filter.conditions = {std::move(condition)};
  return d;
}

std::string Key(const std::string& email) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
}

// The mixed batch, entry by entry (i % 5):
//   0: a new email;
//   1: a stored contact's email, in other case and with spaces; every other
//      one sends the stored values again (an update that changes nothing),
//      and stored emails come back every 1,200 entries, across the halves;
//   2: the email of an earlier new entry: two entries back in the first
//      half, from the first half in the second (straddling the halves);
//   3: likewise, the email of an earlier stored-contact entry;
//   4: the email of the entry two back, itself a repeat (a third entry).
std::vector<ContactDraft> MixedBatch() {
  std::vector<ContactDraft> batch;
  batch.reserve(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    const int k = static_cast<int>(i);
    const size_t back = i < kHalf ? 2 : kHalf + 2;
    switch (i % 5) {
      case 0:
        batch.push_back(Draft(absl::StrCat("new", i, "@x.com"), k));
        break;
      case 1: {
        const int stored = (k * 7) % kStored;
        batch.push_back(i % 10 == 6 ? StoredDraft(stored)
                                    : Draft(StoredEmail(stored), k + 1));
        batch.back().email =
            absl::StrCat("  Stored", stored, "@X.com\t");  // same key
        break;
      }
      case 2:
      case 3:
        batch.push_back(Draft(batch[i - back].email, k));
        break;
      case 4:
        batch.push_back(Draft(batch[i - 2].email, k));
        break;
    }
  }
  return batch;
}

class BatchUpsertTest : public ::testing::Test {
 protected:
  // The workspace over `storage` (null if it cannot be opened).
  std::unique_ptr<Workspace> Open(std::shared_ptr<MemoryStorage> storage) {
    MemoryCatalogStore catalog(std::move(storage));
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    auto ws = Workspace::Open(1, Plan::kGrowth, std::move(store).value(),
                              &clock_, limits_);
    EXPECT_THAT(ws, IsOk());
    return ws.ok() ? std::move(ws).value() : nullptr;
  }

  // Likewise, with two segments and kStored contacts added.
  std::unique_ptr<Workspace> OpenSeeded(
      std::shared_ptr<MemoryStorage> storage) {
    std::unique_ptr<Workspace> ws = Open(std::move(storage));
    if (ws == nullptr) return ws;
    segment_ids_.clear();
    for (const SegmentDraft& d :
         {SegmentOf("Germany", Cond("country", Operator::kEquals, {"DE"})),
          SegmentOf("Hot", Cond("lead_score", Operator::kGreaterThan,
                                {int64_t{50}}))}) {
      auto segment = ws->CreateSegment(d);
      EXPECT_THAT(segment, IsOk());
      if (segment.ok()) segment_ids_.push_back(segment->record.id);
    }
    std::vector<ContactDraft> seed;
    for (int k = 0; k < kStored; ++k) seed.push_back(StoredDraft(k));
    auto seeded = ws->BatchUpsertContacts(seed, {});
    EXPECT_THAT(seeded, IsOk());
    if (seeded.ok()) {
      for (const Contact& c : seeded->contacts) stored_ids_[c.email] = c.id;
    }
    return ws;
  }

  // The same batch in pieces, one after the other, results concatenated.
  BatchUpsertResult UpsertInPieces(Workspace& ws,
                                   const std::vector<ContactDraft>& batch,
                                   const std::vector<std::string>& mask,
                                   ContactView echo) {
    BatchUpsertResult all;
    for (size_t from = 0; from < batch.size(); from += kPiece) {
      const size_t end = std::min(batch.size(), from + kPiece);
      auto piece = ws.BatchUpsertContacts(
          std::vector<ContactDraft>(batch.begin() + from, batch.begin() + end),
          mask, echo);
      EXPECT_THAT(piece, IsOk());
      if (!piece.ok()) return all;
      all.created += piece->created;
      all.updated += piece->updated;
      all.contacts.insert(all.contacts.end(), piece->contacts.begin(),
                          piece->contacts.end());
    }
    return all;
  }

  // Checks the big batch's result against what its entries imply: an email
  // seen before (in the batch or stored) keeps its id, the others take the
  // next ids in entry order.
  void ExpectIdsAndCounts(const std::vector<ContactDraft>& batch,
                          const BatchUpsertResult& r) {
    ASSERT_THAT(r.contacts, SizeIs(batch.size()));
    absl::flat_hash_map<std::string, ContactId> ids = stored_ids_;
    ContactId next = kStored + 1;
    uint64_t created = 0, updated = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string key = Key(batch[i].email);
      auto [it, inserted] = ids.try_emplace(key, next);
      if (inserted) {
        ++next;
        ++created;
      } else {
        ++updated;
      }
      EXPECT_EQ(r.contacts[i].id, it->second) << "entry " << i;
      EXPECT_EQ(r.contacts[i].email, key) << "entry " << i;
    }
    EXPECT_EQ(r.created, created);
    EXPECT_EQ(r.updated, updated);
  }

  void ExpectSameContent(Workspace& a, Workspace& b) {
    for (ContactId id = 1; id <= kStored + kBatch; ++id) {
      auto x = a.GetContact(id);
      auto y = b.GetContact(id);
      ASSERT_EQ(x.ok(), y.ok()) << "contact " << id;
      if (x.ok()) {
        EXPECT_TRUE(*x == *y) << "contact " << id;
      }
    }
    ASSERT_THAT(segment_ids_, SizeIs(2));
    for (SegmentId sid : segment_ids_) {
      auto x = a.ListMembers(sid, 0, 10'000, ContactView::kId);
      auto y = b.ListMembers(sid, 0, 10'000, ContactView::kId);
      ASSERT_THAT(x, IsOk());
      ASSERT_THAT(y, IsOk());
      EXPECT_EQ(IdsOf(*x), IdsOf(*y)) << "segment " << sid;
    }
  }

  // Upserts the mixed batch whole into one new workspace and in pieces into
  // another.
  void CheckMixedBatch(const std::vector<std::string>& mask, ContactView echo) {
    std::unique_ptr<Workspace> whole =
        OpenSeeded(std::make_shared<MemoryStorage>());
    std::unique_ptr<Workspace> pieces =
        OpenSeeded(std::make_shared<MemoryStorage>());
    ASSERT_NE(whole, nullptr);
    ASSERT_NE(pieces, nullptr);
    const std::vector<ContactDraft> batch = MixedBatch();
    ASSERT_OK_AND_ASSIGN(BatchUpsertResult r,
                         whole->BatchUpsertContacts(batch, mask, echo));
    ExpectIdsAndCounts(batch, r);
    const BatchUpsertResult expected =
        UpsertInPieces(*pieces, batch, mask, echo);
    EXPECT_EQ(r.created, expected.created);
    EXPECT_EQ(r.updated, expected.updated);
    ASSERT_THAT(r.contacts, SizeIs(expected.contacts.size()));
    for (size_t i = 0; i < r.contacts.size(); ++i) {
      EXPECT_TRUE(r.contacts[i] == expected.contacts[i]) << "entry " << i;
      if (echo == ContactView::kIdAndEmail) {
        EXPECT_EQ(r.contacts[i].country, "") << "only ids and emails echoed";
        EXPECT_TRUE(r.contacts[i].tags.empty()) << "entry " << i;
      }
    }
    ExpectSameContent(*whole, *pieces);
  }

  FakeClock clock_{kNow};
  Limits limits_;
  std::shared_ptr<MemoryStorage> whole_storage_ =
      std::make_shared<MemoryStorage>();
  // The seeded contacts' ids by email, and the segments' ids.
  absl::flat_hash_map<std::string, ContactId> stored_ids_;
  std::vector<SegmentId> segment_ids_;
};

TEST_F(BatchUpsertTest, BigMixedBatchEqualsItsPiecesEchoingContacts) {
  CheckMixedBatch({}, ContactView::kFull);
}

TEST_F(BatchUpsertTest, BigMixedBatchEqualsItsPiecesEchoingIdsAndEmails) {
  CheckMixedBatch({}, ContactView::kIdAndEmail);
}

// With a mask, new contacts take every field and updates (of stored
// contacts or of earlier entries) only the masked ones.
TEST_F(BatchUpsertTest, BigMixedBatchWithMaskEqualsItsPieces) {
  CheckMixedBatch({"country", "tags"}, ContactView::kFull);
  CheckMixedBatch({"lead_score"}, ContactView::kIdAndEmail);
}

TEST_F(BatchUpsertTest, BigBatchStoresTheLastEntryOfARepeatedEmail) {
  std::unique_ptr<Workspace> ws = OpenSeeded(whole_storage_);
  ASSERT_NE(ws, nullptr);
  std::vector<ContactDraft> batch;
  for (size_t i = 0; i < kBatch; ++i) {
    batch.push_back(Draft(absl::StrCat("n", i, "@x.com"), 0));
  }
  // A new email in the first half, repeated in the second with the mask's
  // field changed; a stored one likewise.
  batch[10] = Draft("twice@x.com", 1);
  batch[2500] = Draft("TWICE@x.com", 2);
  batch[20] = StoredDraft(5);
  batch[2600] = Draft(StoredEmail(5), 3);
  ASSERT_OK_AND_ASSIGN(BatchUpsertResult r,
                       ws->BatchUpsertContacts(batch, {"lead_score"}));
  EXPECT_EQ(r.created, kBatch - 3);
  EXPECT_EQ(r.updated, 3u);
  EXPECT_EQ(r.contacts[10].id, r.contacts[2500].id);
  EXPECT_EQ(r.contacts[20].id, stored_ids_.at(StoredEmail(5)));
  EXPECT_EQ(r.contacts[2600].id, r.contacts[20].id);
  EXPECT_EQ(r.contacts[11].id, r.contacts[10].id + 1);
  ASSERT_OK_AND_ASSIGN(Contact twice, ws->GetContact(r.contacts[10].id));
  EXPECT_EQ(twice.lead_score, 2);  // from the repeat, through the mask
  EXPECT_EQ(twice.city, "city1");  // from the first entry (not masked)
  ASSERT_OK_AND_ASSIGN(Contact stored, ws->GetContact(r.contacts[20].id));
  EXPECT_EQ(stored.lead_score, 3);
  EXPECT_EQ(stored.city, "city5");
}

// Violations come in entry order from both halves, from the emails' first
// entries and from their repeats, with the paths of the entries.
TEST_F(BatchUpsertTest, BigBatchListsViolationsOfBothHalvesInEntryOrder) {
  std::unique_ptr<Workspace> ws = OpenSeeded(whole_storage_);
  ASSERT_NE(ws, nullptr);
  const int commits = whole_storage_->commit_count();
  std::vector<ContactDraft> batch;
  for (size_t i = 0; i < kBatch; ++i) {
    batch.push_back(Draft(absl::StrCat("n", i, "@x.com"), 0));
  }
  batch[0].email = "not-an-email";
  batch[5].tags = {"ok", ""};
  // A new email whose first entry is invalid: its repeat in the other half
  // is then taken as the first (a new contact, every field checked, the
  // mask notwithstanding).
  batch[20] = Draft("dup@x.com", 20);
  batch[20].tags = {""};
  batch[2000] = Draft("dup@x.com", 2000);
  batch[2000].engagement_score = 200;
  batch[1499].lifecycle_stage = 99;
  batch[1499].engagement_score = -1;
  batch[1500].email = "";
  // A repeat of a valid entry, with an invalid masked field.
  batch[1501] = Draft(batch[10].email, 1501);
  batch[1501].country = std::string(300, 'x');
  // A stored contact's update in the second half.
  batch[2500] = Draft(StoredEmail(7), 2500);
  batch[2500].country = "\xff";
  batch[2999].tags = {""};
  auto status = ws->BatchUpsertContacts(batch, {"country"}).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const FieldViolation& v : GetFieldViolations(status)) {
    fields.push_back(v.field);
  }
  EXPECT_THAT(fields, ElementsAreArray({
                          "contacts[0].email",
                          "contacts[5].tags[1]",
                          "contacts[20].tags[0]",
                          "contacts[1499].lifecycle_stage",
                          "contacts[1499].engagement_score",
                          "contacts[1500].email",
                          "contacts[1501].country",
                          "contacts[2000].engagement_score",
                          "contacts[2500].country",
                          "contacts[2999].tags[0]",
                      }));
  // Nothing changed.
  EXPECT_EQ(whole_storage_->commit_count(), commits);
  EXPECT_THAT(ws->GetContact(kStored + 1),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(Contact stored,
                       ws->GetContact(stored_ids_.at(StoredEmail(7))));
  EXPECT_EQ(stored.country, "FR");
}

// Running out of ids is reported the moment a valid new entry needs one,
// before the violations of the batch (as a single thread would).
TEST_F(BatchUpsertTest, BigBatchRunningOutOfIdsIsResourceExhausted) {
  {
    MemoryCatalogStore catalog(whole_storage_);
    ASSERT_OK_AND_ASSIGN(auto store, catalog.OpenWorkspace(1));
    WorkspaceWrite w;
    w.counters.next_contact_id = std::numeric_limits<ContactId>::max() - 100;
    ASSERT_THAT(store->Commit(w), IsOk());
  }
  std::unique_ptr<Workspace> ws = Open(whole_storage_);
  ASSERT_NE(ws, nullptr);
  std::vector<ContactDraft> batch;
  for (size_t i = 0; i < kBatch; ++i) {
    batch.push_back(Draft(absl::StrCat("n", i, "@x.com"), 0));
  }
  batch[0].email = "bad";
  batch[2999].email = "bad";
  EXPECT_THAT(ws->BatchUpsertContacts(batch, {}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // With ids enough for its valid entries (101 are left), the batch reports
  // its violations.
  for (size_t i = 102; i < kBatch; ++i) batch[i].email = "bad";
  EXPECT_THAT(ws->BatchUpsertContacts(batch, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace segments
