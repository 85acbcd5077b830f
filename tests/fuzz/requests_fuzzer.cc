// Every RPC's request as it arrives off the wire: the first byte chooses the
// request type (kRequestTypes below), the rest is parsed as that message
// with ParseFromArray, then taken through the steps its handler runs before
// it calls the engine (server/*_service.cc: the proto -> core conversion of
// server/convert.h, the id, view, page size and token checks of
// request_util.h and core/model/paging.h), the engine's own validation of
// what it is given (core/model/contact.h, filter.h), and ToGrpcStatus.
// No network, no workspace. The steps are mirrored here, not called through
// the handlers (which need an authenticated workspace): a handler that
// gains a check should gain it here too.
//
// Properties:
// - nothing crashes or trips a sanitizer, for any bytes;
// - a refused request is INVALID_ARGUMENT (NOT_FOUND for a contact id past
//   2^32-1) with its violations, and its gRPC status fits the error metadata
//   budget (kMaxErrorMetadataBytes) with details that parse as a
//   google.rpc.Status of the same code;
// - an accepted contact is storable (ContactProblem) and equals what the
//   reference (tests/testing/brute_force.h) derives from the draft, for new
//   contacts and for updates under any valid update_mask; echoed back as
//   the response proto and sent again, it normalizes to itself;
// - an accepted filter, echoed as a proto (FilterSpecToProto) and sent again,
//   validates to the same filter; its stored encoding decodes to it.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/limits.h"
#include "core/base/status_macros.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "core/model/filter_codec.h"
#include "core/model/paging.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/status.pb.h"
#include "segments/v1/contacts.pb.h"
#include "segments/v1/segments.pb.h"
#include "segments/v1/workspaces.pb.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/status_util.h"
#include "storage/record_checks.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/testing/brute_force.h"

namespace segments {
namespace {

// A fixed clock: normalization gives new contacts created_at = now.
constexpr UnixSeconds kNow = 1700000000;

std::vector<std::string> Paths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

// The contact an update starts from: every field set.
Contact Existing() {
  Contact c;
  c.id = 7;
  c.email = "ada@example.com";
  c.company = "Analytical Engines";
  c.job_title = "Engineer";
  c.country = "GB";
  c.city = "London";
  c.source = "import";
  c.tags = {"beta", "vip"};
  c.lifecycle_stage = LifecycleStage::kMql;
  c.lead_score = 40;
  c.engagement_score = 55;
  c.engagement_trend = EngagementTrend::kRising;
  c.conversion_likelihood = ConversionLikelihood::kLikely;
  c.created_at = 1600000000;
  c.last_engaged_at = 1690000000;
  return c;
}

// The gRPC status a refused request gets, and its budget.
void CheckRefusal(const absl::Status& status) {
  if (status.ok()) return;
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
             status.code() == absl::StatusCode::kNotFound);
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    FUZZ_CHECK(!GetFieldViolations(status).empty());
  }
  const grpc::Status g = ToGrpcStatus(status);
  FUZZ_CHECK(static_cast<int>(g.error_code()) ==
             static_cast<int>(status.code()));
  FUZZ_CHECK(ErrorMetadataWireBytes(g) <= kMaxErrorMetadataBytes);
  if (!g.error_details().empty()) {
    google::rpc::Status details;
    FUZZ_CHECK(details.ParseFromString(g.error_details()));
    FUZZ_CHECK(details.code() == static_cast<int>(status.code()));
  }
}

// An accepted contact: storable, and stable through the response proto.
void CheckContact(Contact contact, const ContactDraft& draft,
                  const std::vector<std::string>& mask, const Contact* before) {
  const UnixSeconds now = kNow;
  FUZZ_CHECK(contact == testing::ReferenceApplyDraft(draft, mask, before, now));
  if (contact.id == 0) contact.id = 1;
  FUZZ_CHECK(ContactProblem(contact).empty());
  v1::Contact echoed;
  ContactToProto(contact, &echoed);
  Violations v;
  const ContactDraft again = ContactDraftFromProto(echoed, "contact", &v);
  FUZZ_CHECK(v.empty());
  absl::StatusOr<Contact> renormalized =
      NormalizeNewContact(again, "contact", now);
  FUZZ_CHECK(renormalized.ok());
  renormalized->id = contact.id;
  FUZZ_CHECK(*renormalized == contact);
}

// A new contact (CreateContact, and each of a batch).
absl::Status NewContact(const ContactDraft& draft, std::string_view path) {
  absl::StatusOr<Contact> contact = NormalizeNewContact(draft, path, kNow);
  if (contact.ok()) CheckContact(*contact, draft, {}, nullptr);
  return contact.status();
}

// An accepted filter: stable through the response proto and the store.
void CheckFilter(const Filter& filter, const Limits& limits) {
  v1::Filter echoed;
  FilterSpecToProto(ToSpec(filter), &echoed);
  Violations v;
  const FilterSpec again = FilterSpecFromProto(echoed, "filter", &v);
  FUZZ_CHECK(v.empty());
  absl::StatusOr<Filter> revalidated = ValidateFilter(again, "filter", limits);
  FUZZ_CHECK(revalidated.ok() && *revalidated == filter);
  absl::StatusOr<Filter> decoded = DecodeFilter(EncodeFilter(filter));
  FUZZ_CHECK(decoded.ok() && *decoded == filter);
}

absl::Status FilterRequest(const v1::Filter& proto, std::string_view path,
                           Violations violations, const Limits& limits) {
  const FilterSpec spec = FilterSpecFromProto(proto, path, &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  absl::StatusOr<Filter> filter = ValidateFilter(spec, path, limits);
  if (filter.ok()) CheckFilter(*filter, limits);
  return filter.status();
}

absl::Status CheckContactId(uint64_t id, std::string_view path) {
  absl::StatusOr<ContactId> c = ToContactId(id, path);
  FUZZ_CHECK(c.ok() ==
             (id >= 1 && id <= std::numeric_limits<ContactId>::max()));
  if (c.ok()) FUZZ_CHECK(*c == id);
  return c.status();
}

absl::Status Id(uint64_t id, std::string_view path) {
  Violations v;
  CheckIdPresent(id, path, &v);
  FUZZ_CHECK(v.empty() == (id != 0));
  return v.ToStatus();
}

// ListSegments and ListSegmentMembers: page size and token, merged.
absl::Status Paging(int32_t page_size, const std::string& token,
                    std::string_view scope, Violations violations,
                    const Limits& limits, bool contact_ids) {
  absl::StatusOr<size_t> size =
      ResolvePageSize(page_size, limits.max_page_size, "page_size");
  absl::StatusOr<uint64_t> after = DecodePageToken(token, scope, "page_token");
  if (after.ok() && contact_ids &&
      *after > std::numeric_limits<ContactId>::max()) {
    after = InvalidFieldError("page_token", "is not a valid page token");
  }
  if (after.ok() && !token.empty()) {
    // Holds exactly what we issue (its base64 spelling may differ).
    std::string plain;
    FUZZ_CHECK(absl::WebSafeBase64Unescape(token, &plain));
    FUZZ_CHECK(absl::WebSafeBase64Escape(plain) ==
               EncodePageToken(scope, *after));
  }
  const size_t before = violations.list().size();
  absl::Status merged =
      MergeViolations({size.status(), after.status()}, std::move(violations));
  FUZZ_CHECK(merged.ok() == (before == 0 && size.ok() && after.ok()));
  return merged;
}

template <typename Request>
bool Parse(const std::string& bytes, Request* request) {
  return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

absl::Status CreateContact(const std::string& bytes) {
  v1::CreateContactRequest r;
  if (!Parse(bytes, &r)) return absl::OkStatus();
  Violations v;
  const ContactDraft draft = ContactDraftFromProto(r.contact(), "contact", &v);
  RETURN_IF_ERROR(v.ToStatus());
  return NewContact(draft, "contact");
}

absl::Status UpdateContact(const std::string& bytes) {
  v1::UpdateContactRequest r;
  if (!Parse(bytes, &r)) return absl::OkStatus();
  Violations v;
  CheckIdPresent(r.contact().id(), "contact.id", &v);
  const ContactDraft draft = ContactDraftFromProto(r.contact(), "contact", &v);
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(CheckContactId(r.contact().id(), "contact.id"));
  // The engine's part (core/engine/internal/contact_writes.cc).
  const std::vector<std::string> mask = Paths(r.update_mask());
  absl::StatusOr<ContactFieldSet> fields =
      ParseContactFieldMask(mask, "update_mask");
  RETURN_IF_ERROR(fields.status());
  const Contact before = Existing();
  Contact contact = before;
  NormalizeContactFields(draft, *fields, "contact", kNow, &contact, &v);
  RETURN_IF_ERROR(v.ToStatus());
  CheckContact(contact, draft, mask, &before);
  return absl::OkStatus();
}

absl::Status BatchUpsert(const std::string& bytes, const Limits& limits) {
  v1::BatchUpsertContactsRequest r;
  if (!Parse(bytes, &r)) return absl::OkStatus();
  if (static_cast<size_t>(r.contacts_size()) > limits.max_batch_contacts) {
    return InvalidFieldError("contacts", "too many");
  }
  Violations v;
  std::vector<ContactDraft> drafts;
  for (int i = 0; i < r.contacts_size(); ++i) {
    drafts.push_back(ContactDraftFromProto(std::move(*r.mutable_contacts(i)),
                                           "contacts", i, &v));
  }
  ContactViewFromProto(r.view(), v1::CONTACT_VIEW_FULL, "view", &v);
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(
      ParseContactFieldMask(Paths(r.update_mask()), "update_mask").status());
  for (size_t i = 0; i < drafts.size(); ++i) {
    RETURN_IF_ERROR(NewContact(drafts[i], absl::StrCat("contacts[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status SegmentRequest(const v1::Segment& segment, Violations v,
                            const Limits& limits) {
  // The engine validates the filter of the draft (the name is checked
  // against the workspace's other segments, not here).
  const SegmentDraft draft = SegmentDraftFromProto(segment, "segment", &v);
  RETURN_IF_ERROR(v.ToStatus());
  absl::StatusOr<Filter> filter =
      ValidateFilter(draft.filter, "segment.filter", limits);
  if (filter.ok()) CheckFilter(*filter, limits);
  return filter.status();
}

absl::Status ListMembers(const std::string& bytes, const Limits& limits) {
  v1::ListSegmentMembersRequest r;
  if (!Parse(bytes, &r)) return absl::OkStatus();
  Violations v;
  CheckIdPresent(r.segment_id(), "segment_id", &v);
  if (r.view() < v1::MEMBER_VIEW_UNSPECIFIED || r.view() > v1::FULL) {
    v.Add("view", "unknown member view");
  }
  return Paging(r.page_size(), r.page_token(),
                absl::StrCat("members/", r.segment_id()), std::move(v), limits,
                /*contact_ids=*/true);
}

absl::Status Preview(const std::string& bytes, const Limits& limits) {
  v1::PreviewSegmentRequest r;
  if (!Parse(bytes, &r)) return absl::OkStatus();
  Violations v;
  if (r.sample_size() < 0 ||
      static_cast<size_t>(r.sample_size()) > limits.max_preview_sample) {
    v.Add("sample_size", "out of range");
  }
  return FilterRequest(r.filter(), "filter", std::move(v), limits);
}

absl::Status Run(uint8_t type, const std::string& bytes) {
  const Limits limits;
  switch (type) {
    case 0:
      return CreateContact(bytes);
    case 1: {
      v1::GetContactRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return CheckContactId(r.id(), "id");
    }
    case 2:
      return UpdateContact(bytes);
    case 3: {
      v1::DeleteContactRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return CheckContactId(r.id(), "id");
    }
    case 4:
      return BatchUpsert(bytes, limits);
    case 5: {
      v1::CreateSegmentRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return SegmentRequest(r.segment(), Violations(), limits);
    }
    case 6: {
      v1::GetSegmentRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.id(), "id");
    }
    case 7: {
      v1::ListSegmentsRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Paging(r.page_size(), r.page_token(), "segments", Violations(),
                    limits, /*contact_ids=*/false);
    }
    case 8: {
      v1::UpdateSegmentRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      Violations v;
      CheckIdPresent(r.segment().id(), "segment.id", &v);
      return SegmentRequest(r.segment(), std::move(v), limits);
    }
    case 9: {
      v1::DeleteSegmentRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.id(), "id");
    }
    case 10: {
      v1::CountSegmentMembersRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.segment_id(), "segment_id");
    }
    case 11:
      return ListMembers(bytes, limits);
    case 12:
      return Preview(bytes, limits);
    case 13: {
      v1::GetRuleCatalogRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      v1::RuleCatalog catalog;
      RuleCatalogToProto(Plan::kGrowth, &catalog);
      FUZZ_CHECK(catalog.fields_size() > 0);
      return absl::OkStatus();
    }
    case 14: {
      v1::CreateWorkspaceRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      // Any plan number is passed on as is; the registry refuses unknown
      // ones (its name and plan checks need a registry, not run here).
      FUZZ_CHECK(static_cast<int>(PlanFromProto(r.workspace().plan())) ==
                 r.workspace().plan());
      return absl::OkStatus();
    }
    case 15: {
      v1::GetWorkspaceRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.id(), "id");
    }
    case 16: {
      v1::SetPlanRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      FUZZ_CHECK(static_cast<int>(PlanFromProto(r.plan())) == r.plan());
      return Id(r.id(), "id");
    }
    case 17: {
      v1::DeleteWorkspaceRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.id(), "id");
    }
    case 18: {
      v1::RotateWorkspaceKeyRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      return Id(r.id(), "id");
    }
    default: {
      // SegmentService.ExplainMembership (server/segment_service.cc).
      v1::ExplainMembershipRequest r;
      if (!Parse(bytes, &r)) return absl::OkStatus();
      Violations v;
      CheckIdPresent(r.segment_id(), "segment_id", &v);
      if (r.contact_id() == 0) v.Add("contact_id", "is required");
      RETURN_IF_ERROR(v.ToStatus());
      return ToContactId(r.contact_id(), "contact_id").status();
    }
  }
}

}  // namespace
}  // namespace segments

// Unparsable requests are the common case here: protobuf's log of each
// (invalid UTF-8 in a string field) would drown the fuzzer's output.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  segments::CheckRefusal(segments::Run(data[0] % 20, bytes));
  return 0;
}
