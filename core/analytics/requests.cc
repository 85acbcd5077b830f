#include "core/analytics/requests.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/analytics/breakdown.h"
#include "core/base/ascii.h"
#include "core/base/errors.h"

namespace segments::analytics {
namespace {

std::string At(std::string_view list, size_t i) {
  return absl::StrCat(AbslView(list), "[", i, "]");
}

std::string BreakdownFieldNames() {
  std::vector<absl::string_view> names;
  for (Field f : BreakdownFields()) {
    names.push_back(AbslView(GetFieldInfo(f).name));
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::Status CheckMembershipIds(absl::Span<const uint64_t> ids,
                                const Limits& limits) {
  Violations v;
  if (ids.empty()) v.Add("contact_ids", "must list at least one contact id");
  if (ids.size() > limits.max_membership_check_ids) {
    v.Add("contact_ids",
          absl::StrCat(ids.size(), " ids: at most ",
                       limits.max_membership_check_ids,
                       " per call (limit max_membership_check_ids)"));
    return v.ToStatus();  // too many to report each one
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == 0) v.Add(At("contact_ids", i), "ids start at 1");
  }
  return v.ToStatus();
}

absl::StatusOr<BreakdownArgs> CheckBreakdownArgs(
    const std::vector<std::string>& dimensions, int64_t top_n,
    const Limits& limits) {
  Violations v;
  BreakdownArgs args;
  for (size_t i = 0; i < dimensions.size(); ++i) {
    const FieldInfo* info = FindField(dimensions[i]);
    if (info == nullptr || !IsBreakdownField(info->field)) {
      v.Add(At("dimensions", i),
            absl::StrCat("unknown dimension \"", dimensions[i], "\"; one of ",
                         BreakdownFieldNames()));
      continue;
    }
    if (std::find(args.fields.begin(), args.fields.end(), info->field) !=
        args.fields.end()) {
      v.Add(At("dimensions", i),
            absl::StrCat(AbslView(info->name), " is listed twice"));
      continue;
    }
    args.fields.push_back(info->field);
  }
  if (top_n < 0 || static_cast<uint64_t>(top_n) > limits.max_breakdown_top_n) {
    v.Add("top_n",
          absl::StrCat("must be between 1 and ", limits.max_breakdown_top_n,
                       " (limit max_breakdown_top_n), or 0 for ",
                       limits.default_breakdown_top_n));
  }
  args.top_n =
      top_n == 0 ? limits.default_breakdown_top_n : static_cast<size_t>(top_n);
  if (!v.empty()) return v.ToStatus();
  return args;
}

absl::Status CheckOverlapIds(absl::Span<const uint64_t> ids,
                             const Limits& limits) {
  Violations v;
  if (ids.size() < 2 || ids.size() > limits.max_overlap_segments) {
    v.Add("segment_ids", absl::StrCat(ids.size(), " segments: between 2 and ",
                                      limits.max_overlap_segments,
                                      " (limit max_overlap_segments)"));
    return v.ToStatus();
  }
  absl::flat_hash_map<uint64_t, size_t> first;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == 0) {
      v.Add(At("segment_ids", i), "ids start at 1");
      continue;
    }
    auto [it, fresh] = first.try_emplace(ids[i], i);
    if (!fresh) {
      v.Add(At("segment_ids", i),
            absl::StrCat("repeats segment_ids[", it->second, "]"));
    }
  }
  return v.ToStatus();
}

absl::StatusOr<Goal> CheckGoal(int goal) {
  if (goal < 1 || goal > kMaxGoal) {
    return InvalidFieldError(
        "goal",
        "must be one of RE_ENGAGE, CONVERT_LEADS, "
        "NURTURE_NEW_CONTACTS, WIN_BACK_CUSTOMERS, UPSELL");
  }
  return static_cast<Goal>(goal);
}

}  // namespace segments::analytics
