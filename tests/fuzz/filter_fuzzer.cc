// Filter validation (core/model/filter.h) and evaluation, on filters built
// from the input, and contact normalization (core/model/contact.h).
//
// Input (fuzz_input.h): limits (max_conditions, max_list_values), match,
// conditions (a field: a catalog index or raw bytes; an operator; values,
// each a kind byte and its payload), then a contact draft and `now`.
//
// Properties:
// - ValidateFilter fails only with INVALID_ARGUMENT, every violation under
//   "filter"; when it succeeds, the filter respects the limits, keeps every
//   condition's field and operator, and validating ToSpec(filter) again
//   gives the same filter; the stored encoding decodes to it;
//   CheckPlanAllows agrees with RequiredPlan;
// - a draft that NormalizeNewContact accepts gives the contact the
//   reference (tests/testing/brute_force.h) derives from it, one the
//   storage checks (ContactProblem) accept;
// - on such a contact, FilterMatches (the engine's evaluator) answers as
//   the reference evaluator BruteForceMatches does.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "core/base/errors.h"
#include "core/base/types.h"
#include "core/index/evaluator.h"
#include "core/model/contact.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "core/model/filter_codec.h"
#include "storage/record_checks.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/testing/brute_force.h"

namespace segments {
namespace {

using fuzz::FuzzInput;

// Values of kind byte k: 0 none, 1 string, 2 number, 3 timestamp, 4 the
// field's enum name (by index) with the next byte's case and padding.
RawValue ReadValue(FuzzInput* in, const FieldInfo* info) {
  const uint8_t kind = in->Byte() % 5;
  switch (kind) {
    case 0:
      return NoValue{};
    case 1:
      return in->Bytes();
    case 2:
      return in->Signed();
    case 3:
      return TimestampValue{in->Signed()};
    default: {
      const uint8_t index = in->Byte();
      const uint8_t style = in->Byte();
      if (info == nullptr || info->enum_values.empty()) return in->Bytes();
      std::string v(info->enum_values[index % info->enum_values.size()]);
      if (style & 1) {
        std::transform(v.begin(), v.end(), v.begin(),
                       [](char c) { return static_cast<char>(c | 0x20); });
      }
      if (style & 2) v = " " + v + "\t";
      return v;
    }
  }
}

FilterSpec ReadSpec(FuzzInput* in) {
  FilterSpec spec;
  spec.match = static_cast<int>(in->Signed());
  const size_t n = in->Byte() % 64;
  const absl::Span<const FieldInfo> fields = AllFields();
  for (size_t i = 0; i < n; ++i) {
    ConditionSpec& c = spec.conditions.emplace_back();
    const uint8_t f = in->Byte();
    const FieldInfo* info = nullptr;
    if (f < fields.size()) {
      info = &fields[f];
      c.field = std::string(info->name);
    } else {
      c.field = in->Bytes();
    }
    c.op = static_cast<int>(in->Signed());
    const size_t m = static_cast<size_t>(in->Varint() % 1024);
    for (size_t j = 0; j < m && !in->empty(); ++j) {
      c.values.push_back(ReadValue(in, info));
    }
  }
  return spec;
}

ContactDraft ReadDraft(FuzzInput* in) {
  ContactDraft d;
  d.email = in->Bytes();
  d.company = in->Bytes();
  d.job_title = in->Bytes();
  d.country = in->Bytes();
  d.city = in->Bytes();
  d.source = in->Bytes();
  const size_t tags = in->Byte() % 128;
  for (size_t i = 0; i < tags && !in->empty(); ++i)
    d.tags.push_back(in->Bytes());
  d.lifecycle_stage = static_cast<int>(in->Signed());
  d.lead_score = in->Signed();
  d.engagement_score = in->Signed();
  d.engagement_trend = static_cast<int>(in->Signed());
  d.conversion_likelihood = static_cast<int>(in->Signed());
  const uint8_t times = in->Byte();
  if (times & 1) d.created_at = in->Signed();
  if (times & 2) d.last_engaged_at = in->Signed();
  return d;
}

void CheckFilter(const FilterSpec& spec, const Limits& limits,
                 absl::StatusOr<Filter>* out) {
  *out = ValidateFilter(spec, "filter", limits);
  if (!out->ok()) {
    FUZZ_CHECK(out->status().code() == absl::StatusCode::kInvalidArgument);
    const std::vector<FieldViolation> v = GetFieldViolations(out->status());
    FUZZ_CHECK(!v.empty());
    for (const FieldViolation& fv : v) {
      FUZZ_CHECK(absl::StartsWith(fv.field, "filter."));
    }
    return;
  }
  const Filter& filter = **out;
  FUZZ_CHECK(!filter.conditions.empty());
  FUZZ_CHECK(filter.conditions.size() == spec.conditions.size());
  FUZZ_CHECK(filter.conditions.size() <= limits.max_conditions);
  for (size_t i = 0; i < filter.conditions.size(); ++i) {
    const Condition& c = filter.conditions[i];
    FUZZ_CHECK(GetFieldInfo(c.field).name == spec.conditions[i].field);
    FUZZ_CHECK(static_cast<int>(c.op) == spec.conditions[i].op);
    FUZZ_CHECK(c.original.size() == spec.conditions[i].values.size());
    FUZZ_CHECK(c.original.size() <=
               std::max<size_t>(limits.max_list_values, 2));
  }
  absl::StatusOr<Filter> again =
      ValidateFilter(ToSpec(filter), "filter", limits);
  FUZZ_CHECK(again.ok() && *again == filter);
  absl::StatusOr<Filter> decoded = DecodeFilter(EncodeFilter(filter));
  FUZZ_CHECK(decoded.ok() && *decoded == filter);

  const Plan required = RequiredPlan(filter);
  FUZZ_CHECK(CheckPlanAllows(filter, required).ok());
  FUZZ_CHECK(CheckPlanAllows(filter, Plan::kPro).ok());
  FUZZ_CHECK(CheckPlanAllows(filter, Plan::kFree).code() ==
             absl::StatusCode::kPermissionDenied);
  FUZZ_CHECK((KindOf(filter) == SegmentKind::kSmart) ==
             (required == Plan::kGrowth));
}

void Check(FuzzInput in) {
  Limits limits;
  limits.max_conditions = static_cast<size_t>(in.Varint() % 64);
  limits.max_list_values = static_cast<size_t>(in.Varint() % 1024);
  const FilterSpec spec = ReadSpec(&in);
  const ContactDraft draft = ReadDraft(&in);
  const UnixSeconds now =
      std::clamp<int64_t>(in.Signed(), kMinTimestamp, kMaxTimestamp);

  absl::StatusOr<Filter> filter;
  CheckFilter(spec, limits, &filter);

  absl::StatusOr<Contact> contact = NormalizeNewContact(draft, "contact", now);
  if (!contact.ok()) {
    FUZZ_CHECK(contact.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(*contact == testing::ReferenceApplyDraft(draft, {}, nullptr, now));
  contact->id = 1;
  FUZZ_CHECK(ContactProblem(*contact).empty());

  if (!filter.ok()) return;
  FUZZ_CHECK(FilterMatches(*filter, *contact, now) ==
             testing::BruteForceMatches(spec, *contact, now));
}

}  // namespace
}  // namespace segments

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  segments::Check(segments::fuzz::FuzzInput(data, size));
  return 0;
}
