// The decoders of stored rows (storage/workspace_rows.h, tags_codec.h,
// change_runs.h) and of a frozen segment's bitmap (core/index/bitmap_util.h),
// on what a damaged or foreign database could hold.
//
// Input (fuzz_input.h): a selector byte, then
//   0 tags JSON (the rest)              1 tags to encode (a count, strings)
//   2 a change run: sequence, segment, contact, kind, cause, time, last
//     sequence (varints), the delta blob (the rest)
//   3 contacts  4 segments  5 change_runs  6 meta: the row's columns, each a
//     type byte (0 NULL, 1 integer, 2 text, 3 blob) and its value, read by
//     the decoder from a SELECT of bound parameters, so any column may hold
//     any type, as in a file written by something else
//   7 a portable Roaring serialization (the rest)
//
// Properties: no decoder crashes or trips a sanitizer on any row; a row
// that decodes passes the storage's write checks (record_checks.h), and
// written back with the matching Bind* into a fresh schema and read again,
// decodes to the same record; tags and change-run blobs round-trip exactly;
// a bitmap that deserializes (from at least one byte) serializes to as many
// bytes, lists its members
// strictly ascending and round-trips.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/index/bitmap_util.h"
#include "storage/change_runs.h"
#include "storage/record_checks.h"
#include "storage/sqlite_db.h"
#include "storage/tags_codec.h"
#include "storage/workspace_rows.h"
#include "tests/fuzz/fuzz_input.h"

namespace segments {
namespace {

using fuzz::FuzzInput;

template <typename T>
T Ok(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "setup failed: %s\n", v.status().ToString().c_str());
    std::abort();
  }
  return *std::move(v);
}
void Ok(const absl::Status& s) { FUZZ_CHECK(s.ok()); }

// One in-memory workspace database for the whole run, with the statements
// the checks use.
struct Db {
  std::unique_ptr<SqliteDb> db;
  // SELECT ?1, ..., ?15: a row of whatever the input binds.
  std::unique_ptr<SqliteStatement> params;
  std::unique_ptr<SqliteStatement> upsert_contact, select_contacts;
  std::unique_ptr<SqliteStatement> upsert_segment, select_segments;
  std::unique_ptr<SqliteStatement> insert_run, select_runs;

  Db() {
    db = Ok(SqliteDb::Open(":memory:", /*create=*/true, 1000));
    Ok(MigrateSchema(db.get(), kWorkspaceAppId, WorkspaceMigrations()));
    std::string sql = "SELECT ?1";
    for (int i = 2; i <= 15; ++i) absl::StrAppend(&sql, ", ?", i);
    params = Ok(db->Prepare(sql));
    upsert_contact = Ok(db->Prepare(kUpsertContactSql));
    select_contacts = Ok(db->Prepare(kSelectContactsSql));
    upsert_segment = Ok(db->Prepare(kUpsertSegmentSql));
    select_segments = Ok(db->Prepare(kSelectSegmentsSql));
    insert_run = Ok(db->Prepare(kInsertChangeRunSql));
    select_runs = Ok(db->Prepare(kSelectChangeRunsSql));
  }
  void Clear() {
    Ok(
        db->Exec("DELETE FROM contacts; DELETE FROM segments; "
                 "DELETE FROM change_runs;"));
  }
};

Db& TheDb() {
  static Db* const db = new Db();
  return *db;
}

// Binds `columns` parameters of TheDb().params from the input and steps it.
SqliteStatement& ReadRow(FuzzInput* in, int columns) {
  SqliteStatement& s = *TheDb().params;
  s.Reset();
  for (int i = 1; i <= columns; ++i) {
    switch (in->Byte() % 4) {
      case 0:
        s.BindNull(i);
        break;
      case 1:
        s.BindInt(i, in->Signed());
        break;
      case 2:
        s.BindText(i, in->Bytes());
        break;
      default:
        s.BindBlob(i, in->Bytes());
        break;
    }
  }
  FUZZ_CHECK(Ok(s.Step()));
  return s;
}

// Steps `select` (bound by the caller) to its one row.
SqliteStatement& StepOne(SqliteStatement& select) {
  FUZZ_CHECK(Ok(select.Step()));
  return select;
}

void CheckTagsDecode(FuzzInput* in) {
  std::vector<std::string> tags;
  if (!DecodeTags(in->Rest(), &tags)) return;
  std::string json;
  EncodeTags(tags, &json);
  std::vector<std::string> again;
  FUZZ_CHECK(DecodeTags(json, &again) && again == tags);
}

void CheckTagsEncode(FuzzInput* in) {
  std::vector<std::string> tags(in->Byte() % 16);
  for (std::string& t : tags) t = in->Bytes();
  std::string json;
  EncodeTags(tags, &json);
  std::vector<std::string> back;
  FUZZ_CHECK(DecodeTags(json, &back) && back == tags);
}

void CheckRun(FuzzInput* in) {
  MembershipChange first;
  first.sequence = in->Varint();
  first.segment_id = in->Varint();
  first.contact_id = static_cast<ContactId>(in->Varint());
  first.kind = static_cast<ChangeKind>(in->Varint() % 4);
  first.cause = static_cast<ChangeCause>(in->Varint() % 8);
  first.time = in->Signed();
  const uint64_t last = in->Varint();
  const std::string blob = in->Rest();
  std::vector<MembershipChange> out(1);  // ExpandRun appends
  const std::string problem = ExpandRun(first, last, blob, &out);
  if (!problem.empty()) {
    FUZZ_CHECK(out.size() == 1);
    return;
  }
  FUZZ_CHECK(out.size() == 1 + (last - first.sequence + 1));
  std::vector<ContactId> ids;
  for (size_t i = 1; i < out.size(); ++i) {
    FUZZ_CHECK(out[i].sequence == first.sequence + (i - 1));
    FUZZ_CHECK(out[i].segment_id == first.segment_id);
    FUZZ_CHECK(i == 1 || out[i].contact_id != 0);
    ids.push_back(out[i].contact_id);
  }
  std::string encoded;
  EncodeMoreContactIds(ids, &encoded);
  std::vector<MembershipChange> again;
  FUZZ_CHECK(ExpandRun(first, last, encoded, &again).empty());
  FUZZ_CHECK(
      std::equal(again.begin(), again.end(), out.begin() + 1, out.end()));
}

void CheckContactRow(FuzzInput* in) {
  Contact c;
  if (!DecodeContact(ReadRow(in, 15), &c).empty()) return;
  FUZZ_CHECK(ContactProblem(c).empty());
  Db& db = TheDb();
  db.Clear();
  std::string tags;
  BindContact(c, &tags, db.upsert_contact.get());
  Ok(db.upsert_contact->Run());
  SqliteStatement::Scope scope(*db.select_contacts);
  Contact back;
  FUZZ_CHECK(DecodeContact(StepOne(*db.select_contacts), &back).empty());
  FUZZ_CHECK(back == c);
}

void CheckSegmentRow(FuzzInput* in) {
  SegmentRecord r;
  if (!DecodeSegment(ReadRow(in, 8), &r).empty()) return;
  FUZZ_CHECK(SegmentProblem(r).empty());
  Db& db = TheDb();
  db.Clear();
  BindSegment(r, db.upsert_segment.get());
  Ok(db.upsert_segment->Run());
  SqliteStatement::Scope scope(*db.select_segments);
  SegmentRecord back;
  FUZZ_CHECK(DecodeSegment(StepOne(*db.select_segments), &back).empty());
  FUZZ_CHECK(back == r);
}

void CheckChangeRunRow(FuzzInput* in) {
  std::vector<MembershipChange> events;
  if (!DecodeChangeRun(ReadRow(in, 8), &events).empty()) {
    FUZZ_CHECK(events.empty());
    return;
  }
  FUZZ_CHECK(!events.empty());
  ChangeRun run;
  run.first_sequence = events[0].sequence;
  run.segment_id = events[0].segment_id;
  run.kind = events[0].kind;
  run.cause = events[0].cause;
  run.time = events[0].time;
  for (const MembershipChange& e : events) {
    FUZZ_CHECK(ChangeProblem(e).empty());
    run.contact_ids.push_back(e.contact_id);
  }
  FUZZ_CHECK(run.last_sequence() == events.back().sequence);
  FUZZ_CHECK(RunProblem(run).empty());
  Db& db = TheDb();
  db.Clear();
  std::string blob;
  BindChangeRun(run, &blob, db.insert_run.get());
  Ok(db.insert_run->Run());
  SqliteStatement& select = *db.select_runs;
  SqliteStatement::Scope scope(select);
  select.BindInt(1, static_cast<int64_t>(run.first_sequence - 1));
  select.BindInt(2, 1);
  const SqliteStatement& row = StepOne(select);
  std::vector<MembershipChange> back;
  FUZZ_CHECK(DecodeChangeRun(row, &back).empty());
  FUZZ_CHECK(back == events);
  // The feed reads the same row as a run.
  ChangeRun as_run;
  FUZZ_CHECK(DecodeChangeRunRow(row, &as_run).empty());
  FUZZ_CHECK(as_run == run);
}

void CheckMetaRow(FuzzInput* in) {
  WorkspaceCounters counters;
  bool known = false;
  SqliteStatement& row = ReadRow(in, 2);
  const std::string key(row.ColumnText(0));
  const std::string problem = DecodeMeta(row, &counters, &known);
  FUZZ_CHECK(known == (key == kNextContactIdKey || key == kNextSegmentIdKey ||
                       key == kLastSequenceKey || key == kTimeAppliedUntilKey));
  if (problem.empty()) FUZZ_CHECK(CountersProblem(counters).empty());
}

void CheckBitmap(FuzzInput* in) {
  const std::string bytes = in->Rest();
  absl::StatusOr<Roaring> bitmap = DeserializeBitmap(bytes);
  if (!bitmap.ok()) {
    FUZZ_CHECK(bitmap.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  const std::string serialized = SerializeBitmap(*bitmap);
  // No bytes at all is the empty bitmap (a segment never frozen).
  FUZZ_CHECK(bytes.empty() ? bitmap->isEmpty()
                           : serialized.size() == bytes.size());
  uint64_t count = 0;
  bool first = true;
  uint32_t previous = 0;
  for (const uint32_t v : *bitmap) {
    FUZZ_CHECK(first || v > previous);
    FUZZ_CHECK(bitmap->contains(v));
    first = false;
    previous = v;
    ++count;
  }
  FUZZ_CHECK(count == bitmap->cardinality());
  absl::StatusOr<Roaring> again = DeserializeBitmap(serialized);
  FUZZ_CHECK(again.ok() && *again == *bitmap);
}

void Check(FuzzInput in) {
  switch (in.Byte() % 8) {
    case 0:
      return CheckTagsDecode(&in);
    case 1:
      return CheckTagsEncode(&in);
    case 2:
      return CheckRun(&in);
    case 3:
      return CheckContactRow(&in);
    case 4:
      return CheckSegmentRow(&in);
    case 5:
      return CheckChangeRunRow(&in);
    case 6:
      return CheckMetaRow(&in);
    default:
      return CheckBitmap(&in);
  }
}

}  // namespace
}  // namespace segments

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  segments::Check(segments::fuzz::FuzzInput(data, size));
  return 0;
}
