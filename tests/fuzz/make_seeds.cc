// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
// from real requests and encodings, made with the project's own encoders:
//
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
//
// Each seed is named after what it holds; rerunning overwrites them with the
// same bytes. Inputs that reproduced a bug are added by hand beside them
// (named crash-<what>) and never overwritten.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/types.h"
#include "core/index/bitmap_util.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "core/model/filter_codec.h"
#include "core/model/paging.h"
#include "segments/v1/contacts.pb.h"
#include "segments/v1/segments.pb.h"
#include "segments/v1/workspaces.pb.h"
#include "server/convert.h"
#include "storage/change_runs.h"
#include "storage/tags_codec.h"
#include "tests/fuzz/fuzz_input.h"

namespace segments {
namespace {

using fuzz::FuzzOutput;

std::string root;

void Write(const std::string& target, const std::string& name,
           const std::string& bytes) {
  const std::string dir = absl::StrCat(root, "/", target);
  std::filesystem::create_directories(dir);
  std::ofstream(absl::StrCat(dir, "/", name), std::ios::binary) << bytes;
}

// Values that `op` accepts on `info`'s field.
std::vector<RawValue> ValuesFor(const FieldInfo& info, Operator op) {
  size_t n = 1;
  if (op == Operator::kIsSet || op == Operator::kIsNotSet) n = 0;
  if (op == Operator::kBetween || op == Operator::kIn ||
      op == Operator::kNotIn || op == Operator::kHasAny ||
      op == Operator::kHasAll || op == Operator::kHasNone) {
    n = 2;
  }
  std::vector<RawValue> values;
  for (size_t i = 0; i < n; ++i) {
    switch (info.type) {
      case FieldType::kEnum:
      case FieldType::kOrderedEnum:
        values.push_back(std::string(info.enum_values[i]));
        break;
      case FieldType::kString:
        values.push_back(i == 0 ? std::string("De") : std::string(" fr "));
        break;
      case FieldType::kTags:
        values.push_back(i == 0 ? std::string("vip") : std::string("Beta"));
        break;
      case FieldType::kNumber:
        values.push_back(int64_t{10} + 40 * static_cast<int64_t>(i));
        break;
      case FieldType::kTimestamp:
        if (op == Operator::kWithinLastDays ||
            op == Operator::kMoreThanDaysAgo) {
          values.push_back(int64_t{30});
        } else {
          values.push_back(
              TimestampValue{1600000000 + 86400 * static_cast<int64_t>(i)});
        }
        break;
    }
  }
  return values;
}

// One valid filter per field (every operator of the field, ALL), and one
// over every field (ANY, each field's first operator).
std::vector<std::pair<std::string, FilterSpec>> Filters() {
  std::vector<std::pair<std::string, FilterSpec>> out;
  FilterSpec any;
  any.match = static_cast<int>(Match::kAny);
  for (const FieldInfo& info : AllFields()) {
    FilterSpec spec;
    spec.match = static_cast<int>(Match::kAll);
    for (Operator op : info.operators) {
      spec.conditions.push_back(
          {std::string(info.name), static_cast<int>(op), ValuesFor(info, op)});
    }
    any.conditions.push_back(spec.conditions.front());
    out.emplace_back(std::string(info.name), std::move(spec));
  }
  out.emplace_back("any_of_every_field", std::move(any));
  for (auto& [name, spec] : out) {
    if (!ValidateFilter(spec, "filter").ok()) {
      std::fprintf(stderr, "seed filter %s is invalid\n", name.c_str());
      std::exit(1);
    }
  }
  return out;
}

void WriteValue(const RawValue& v, FuzzOutput* out) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    out->Byte(1).Bytes(*s);
  } else if (const auto* n = std::get_if<int64_t>(&v)) {
    out->Byte(2).Signed(*n);
  } else if (const auto* t = std::get_if<TimestampValue>(&v)) {
    out->Byte(3).Signed(t->seconds);
  } else {
    out->Byte(0);
  }
}

size_t FieldIndex(const std::string& name) {
  for (size_t i = 0; i < AllFields().size(); ++i) {
    if (AllFields()[i].name == name) return i;
  }
  return 255;
}

// The contact draft of the filter target's input.
void WriteDraft(FuzzOutput* out) {
  out->Bytes(" Ada@Example.com ").Bytes("Analytical Engines").Bytes("CTO");
  out->Bytes("de").Bytes("Berlin").Bytes("");
  out->Byte(2).Bytes("VIP").Bytes("beta");
  out->Signed(3).Signed(40).Signed(55).Signed(1).Signed(2);
  out->Byte(3).Signed(1600000000).Signed(1690000000);
}

void FilterSeeds() {
  for (const auto& [name, spec] : Filters()) {
    Write("filter_codec", name,
          EncodeFilter(*ValidateFilter(spec, "filter", Limits())));
    FuzzOutput out;
    out.Varint(50)
        .Varint(500)
        .Signed(spec.match)
        .Byte(static_cast<uint8_t>(spec.conditions.size()));
    for (const ConditionSpec& c : spec.conditions) {
      out.Byte(static_cast<uint8_t>(FieldIndex(c.field))).Signed(c.op);
      out.Varint(c.values.size());
      for (const RawValue& v : c.values) WriteValue(v, &out);
    }
    WriteDraft(&out);
    out.Signed(1700000000);
    Write("filter", name, out.str());
  }
  Write("filter_codec", "truncated",
        EncodeFilter(*ValidateFilter(Filters()[0].second, "filter", Limits()))
            .substr(0, 9));
}

void PageTokenSeeds() {
  struct Seed {
    const char* name;
    std::string scope, other;
    uint64_t id;
    int64_t requested;
    uint64_t max;
    std::string token;
  };
  const Seed seeds[] = {
      {"segments", "segments", "members/3", 12, 0, 1000,
       EncodePageToken("segments", 12)},
      {"members", "members/3", "members/4", 4294967295u, 100, 1000,
       EncodePageToken("members/3", 4294967295u)},
      {"other_scope", "members/3", "segments", 1, -1, 1000,
       EncodePageToken("segments", 1)},
      {"empty", "segments", "", 0, 1001, 1000, ""},
      {"not_base64", "segments", "x:y", 18446744073709551615u, 1, 0,
       "p1:segments:1"},
  };
  for (const Seed& s : seeds) {
    FuzzOutput out;
    out.Bytes(s.scope).Bytes(s.other).Varint(s.id).Signed(s.requested);
    out.Varint(s.max).Rest(s.token);
    Write("page_token", s.name, out.str());
  }
}

// Column writers of the stored_rows target's rows.
void Null(FuzzOutput* o) { o->Byte(0); }
void Int(int64_t v, FuzzOutput* o) { o->Byte(1).Signed(v); }
void Text(const std::string& v, FuzzOutput* o) { o->Byte(2).Bytes(v); }
void Blob(const std::string& v, FuzzOutput* o) { o->Byte(3).Bytes(v); }

void StoredRowSeeds() {
  std::string json;
  EncodeTags({"beta", "vip", "quote\"back\\slash\nnl\x01"}, &json);
  Write("stored_rows", "tags_json", FuzzOutput().Byte(0).Rest(json).str());
  Write("stored_rows", "tags_json_empty",
        FuzzOutput().Byte(0).Rest("[]").str());
  Write("stored_rows", "tags_json_unicode",
        FuzzOutput().Byte(0).Rest("[\"caf\\u00e9\",\"\\/x\"]").str());
  Write(
      "stored_rows", "tags_encode",
      FuzzOutput().Byte(1).Byte(3).Bytes("a").Bytes("\"").Bytes("\x7f").str());

  std::string blob;
  EncodeMoreContactIds({5, 6, 9, 7, 100000}, &blob);
  Write("stored_rows", "run",
        FuzzOutput()
            .Byte(2)
            .Varint(10)
            .Varint(3)
            .Varint(5)
            .Varint(1)
            .Varint(1)
            .Signed(1700000000)
            .Varint(14)
            .Rest(blob)
            .str());

  FuzzOutput contact;
  contact.Byte(3);
  Int(7, &contact);
  Text("ada@example.com", &contact);
  Text("Analytical Engines", &contact);
  Null(&contact);
  Text("GB", &contact);
  Text("London", &contact);
  Null(&contact);
  EncodeTags({"beta", "vip"}, &json);
  Text(json, &contact);
  Int(3, &contact);
  Int(40, &contact);
  Int(55, &contact);
  Int(1, &contact);
  Null(&contact);
  Int(1600000000, &contact);
  Int(1690000000, &contact);
  Write("stored_rows", "contact_row", contact.str());

  const std::vector<std::pair<std::string, FilterSpec>> filters = Filters();
  for (size_t i = 0; i < filters.size(); i += 4) {
    Roaring frozen;
    for (uint32_t v = 1; v < 100 * (i + 1); v += 3) frozen.add(v);
    FuzzOutput segment;
    segment.Byte(4);
    Int(static_cast<int64_t>(i + 1), &segment);
    Text("Customers in Germany", &segment);
    Blob(EncodeFilter(*ValidateFilter(filters[i].second, "filter")), &segment);
    Int(i % 8 == 0 ? 1 : 2, &segment);
    Int(1600000000, &segment);
    Int(1600000500, &segment);
    Blob(i % 8 == 0 ? "" : SerializeBitmap(frozen), &segment);
    Int(i % 8 == 0 ? 0 : 42, &segment);
    Write("stored_rows", absl::StrCat("segment_row_", filters[i].first),
          segment.str());
  }

  FuzzOutput run;
  run.Byte(5);
  Int(10, &run);
  Int(3, &run);
  Int(5, &run);
  Int(1, &run);
  Int(4, &run);
  Int(1700000000, &run);
  Int(14, &run);
  Blob(blob, &run);
  Write("stored_rows", "change_run_row", run.str());

  const char* keys[] = {"next_contact_id", "next_segment_id", "last_sequence",
                        "workspace_id"};
  for (const char* key : keys) {
    FuzzOutput meta;
    meta.Byte(6);
    Text(key, &meta);
    Int(12, &meta);
    Write("stored_rows", absl::StrCat("meta_", key), meta.str());
  }

  Roaring sparse, dense, runs;
  for (uint32_t v = 0; v < 5000; v += 7) sparse.add(v * 1000);
  for (uint32_t v = 0; v < 10000; ++v) {
    if (v % 3 != 0) dense.add(v);
  }
  runs.addRange(100, 70000);
  runs.runOptimize();
  Write("stored_rows", "bitmap_empty",
        FuzzOutput().Byte(7).Rest(SerializeBitmap(Roaring())).str());
  Write("stored_rows", "bitmap_sparse",
        FuzzOutput().Byte(7).Rest(SerializeBitmap(sparse)).str());
  Write("stored_rows", "bitmap_dense",
        FuzzOutput().Byte(7).Rest(SerializeBitmap(dense)).str());
  Write("stored_rows", "bitmap_runs",
        FuzzOutput().Byte(7).Rest(SerializeBitmap(runs)).str());
}

void Request(int type, const std::string& name,
             const google::protobuf::MessageLite& m) {
  Write("requests", absl::StrCat(type < 10 ? "0" : "", type, "_", name),
        std::string(1, static_cast<char>(type)) + m.SerializeAsString());
}

void FullContact(v1::Contact* c) {
  c->set_email(" Ada@Example.com ");
  c->set_company("Analytical Engines");
  c->set_job_title("CTO");
  c->set_country("DE");
  c->set_city("Berlin");
  c->set_source("import");
  c->add_tags("VIP");
  c->add_tags("beta");
  c->add_tags("vip");
  c->set_lifecycle_stage(v1::MQL);
  c->set_lead_score(40);
  c->set_engagement_score(55);
  c->set_engagement_trend(v1::RISING);
  c->set_conversion_likelihood(v1::LIKELY);
  c->mutable_created_at()->set_seconds(1600000000);
  c->mutable_last_engaged_at()->set_seconds(1690000000);
  c->mutable_last_engaged_at()->set_nanos(500);
}

void RequestSeeds() {
  v1::CreateContactRequest create;
  FullContact(create.mutable_contact());
  Request(0, "create_contact", create);
  create.mutable_contact()->set_email("no-at-sign");
  create.mutable_contact()->mutable_created_at()->set_nanos(-1);
  Request(0, "create_contact_invalid", create);
  v1::GetContactRequest get;
  get.set_id(5);
  Request(1, "get_contact", get);
  v1::UpdateContactRequest update;
  FullContact(update.mutable_contact());
  update.mutable_contact()->set_id(7);
  update.mutable_update_mask()->add_paths("company");
  update.mutable_update_mask()->add_paths("tags");
  update.mutable_update_mask()->add_paths("last_engaged_at");
  Request(2, "update_contact", update);
  v1::DeleteContactRequest del;
  del.set_id(4294967296u);
  Request(3, "delete_contact_too_large", del);
  v1::BatchUpsertContactsRequest batch;
  for (int i = 0; i < 3; ++i) {
    v1::Contact* c = batch.add_contacts();
    FullContact(c);
    c->set_email(absl::StrCat("user", i, "@example.com"));
  }
  batch.set_view(v1::CONTACT_VIEW_BASIC);
  batch.mutable_update_mask()->add_paths("lead_score");
  Request(4, "batch_upsert", batch);

  const std::vector<std::pair<std::string, FilterSpec>> filters = Filters();
  for (size_t i = 0; i < filters.size(); i += 3) {
    v1::CreateSegmentRequest seg;
    seg.mutable_segment()->set_display_name("Customers in Germany");
    FilterSpecToProto(filters[i].second,
                      seg.mutable_segment()->mutable_filter());
    Request(5, absl::StrCat("create_segment_", filters[i].first), seg);
    v1::UpdateSegmentRequest up;
    *up.mutable_segment() = seg.segment();
    up.mutable_segment()->set_id(3);
    up.mutable_update_mask()->add_paths("filter");
    Request(8, absl::StrCat("update_segment_", filters[i].first), up);
    v1::PreviewSegmentRequest preview;
    *preview.mutable_filter() = seg.segment().filter();
    preview.set_sample_size(10);
    Request(12, absl::StrCat("preview_", filters[i].first), preview);
  }
  v1::GetSegmentRequest get_segment;
  get_segment.set_id(3);
  Request(6, "get_segment", get_segment);
  v1::ListSegmentsRequest list;
  list.set_page_size(10);
  list.set_page_token(EncodePageToken("segments", 12));
  Request(7, "list_segments", list);
  v1::DeleteSegmentRequest delete_segment;
  Request(9, "delete_segment_no_id", delete_segment);
  v1::CountSegmentMembersRequest count;
  count.set_segment_id(3);
  Request(10, "count_members", count);
  v1::ListSegmentMembersRequest members;
  members.set_segment_id(3);
  members.set_page_size(100);
  members.set_view(v1::FULL);
  members.set_page_token(EncodePageToken("members/3", 99));
  Request(11, "list_members", members);
  members.set_page_token(EncodePageToken("members/4", 99));
  Request(11, "list_members_other_segment", members);
  Request(13, "rule_catalog", v1::GetRuleCatalogRequest());
  v1::CreateWorkspaceRequest workspace;
  workspace.mutable_workspace()->set_display_name("Acme");
  workspace.mutable_workspace()->set_plan(v1::GROWTH);
  Request(14, "create_workspace", workspace);
  v1::GetWorkspaceRequest get_workspace;
  get_workspace.set_id(2);
  Request(15, "get_workspace", get_workspace);
  v1::SetPlanRequest plan;
  plan.set_id(2);
  plan.set_plan(v1::PRO);
  Request(16, "set_plan", plan);
  v1::DeleteWorkspaceRequest delete_workspace;
  delete_workspace.set_id(2);
  Request(17, "delete_workspace", delete_workspace);
  v1::RotateWorkspaceKeyRequest rotate;
  rotate.set_id(2);
  Request(18, "rotate_key", rotate);
  v1::ExplainMembershipRequest explain;
  explain.set_segment_id(1);
  explain.set_contact_id(7);
  Request(19, "explain_membership", explain);
  explain.set_contact_id(uint64_t{1} << 32);
  Request(19, "explain_membership_contact_too_large", explain);
}

}  // namespace
}  // namespace segments

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  segments::root = argv[1];
  segments::FilterSeeds();
  segments::PageTokenSeeds();
  segments::StoredRowSeeds();
  segments::RequestSeeds();
  return 0;
}
