// Translation between the segments.v1 protos and the core's types. No
// business logic: values are copied as sent and validated by the core. The
// only checks here are those the core cannot see, because its types have
// already lost the information (Timestamp nanos, enum numbers that do not fit
// the core's enums), reported as violations under the caller's `path`.
#ifndef SEGMENTS_SERVER_CONVERT_H_
#define SEGMENTS_SERVER_CONVERT_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/base/errors.h"
#include "core/engine/workspace.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "core/store/store.h"
#include "google/protobuf/timestamp.pb.h"
#include "segments/v1/contacts.pb.h"
#include "segments/v1/segments.pb.h"
#include "segments/v1/workspaces.pb.h"

namespace segments {

// Timestamps: the core works in whole seconds, so nanos are truncated.
// Nanos outside 0..999999999 are a violation at `path`.
std::optional<UnixSeconds> SecondsFromProto(
    const google::protobuf::Timestamp& ts, std::string_view path,
    Violations* violations);
void SecondsToProto(UnixSeconds seconds, google::protobuf::Timestamp* out);

// Contacts. `path` names the contact in the request ("contact",
// "contacts[3]"); the proto's id is not part of a draft.
ContactDraft ContactDraftFromProto(const v1::Contact& proto,
                                   std::string_view path,
                                   Violations* violations);
// The contact at `list[index]` of a request (e.g. "contacts", 3), moving the
// strings out of `proto` (left with its strings and tags emptied). The path
// is built only when a violation is recorded: a batch converts thousands of
// contacts that are almost always fine.
ContactDraft ContactDraftFromProto(v1::Contact&& proto, std::string_view list,
                                   int index, Violations* violations);
void ContactToProto(const Contact& contact, v1::Contact* out);
// `contact` as `view` shows it, moving its strings into `out` (a fresh
// message): BASIC sets only id and email, any other view every field, as
// ContactToProto does. Callers resolve UNSPECIFIED to their method's default
// first (ContactViewFromProto).
void ContactToProto(Contact&& contact, v1::ContactView view, v1::Contact* out);
// The view a request asks for: UNSPECIFIED is `method_default`; a number
// outside the enum is a violation at `path` (and gives `method_default`).
v1::ContactView ContactViewFromProto(int view, v1::ContactView method_default,
                                     std::string_view path,
                                     Violations* violations);

// Segments. `path` names the segment in the request ("segment").
SegmentDraft SegmentDraftFromProto(const v1::Segment& proto,
                                   std::string_view path,
                                   Violations* violations);
FilterSpec FilterSpecFromProto(const v1::Filter& proto, std::string_view path,
                               Violations* violations);
void FilterSpecToProto(const FilterSpec& spec, v1::Filter* out);
void SegmentViewToProto(const SegmentView& view, v1::Segment* out);
void PreviewToProto(const PreviewResult& result,
                    v1::PreviewSegmentResponse* out);

// The rule catalog (core/field_catalog.h) as the caller's `plan` sees it.
void RuleCatalogToProto(Plan plan, v1::RuleCatalog* out,
                        const Limits& limits = Limits());
// A validate_only answer: the segment as it would be, with its impact.
void SegmentImpactToProto(const SegmentImpact& impact, v1::Segment* out);
void ExplanationToProto(const MembershipExplanation& explanation,
                        v1::ExplainMembershipResponse* out);

// Workspaces. Any plan number is passed on: the core reports unknown ones.
Plan PlanFromProto(int plan);
void WorkspaceToProto(const WorkspaceRecord& record, v1::Workspace* out);

}  // namespace segments

#endif  // SEGMENTS_SERVER_CONVERT_H_
