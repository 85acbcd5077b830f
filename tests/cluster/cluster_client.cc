#include "tests/cluster/cluster_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/errors.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "segments/v1/feed.grpc.pb.h"
#include "segments/v1/segments.grpc.pb.h"
#include "segments/v1/workspaces.grpc.pb.h"
#include "server/convert.h"
#include "tests/testing/brute_force.h"

namespace segments::testing {

std::unique_ptr<grpc::ClientContext> KeyContext(const std::string& key,
                                                absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<ClusterWorkspace> CreateClusterWorkspace(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& admin_key,
    const std::string& name) {
  v1::CreateWorkspaceRequest request;
  request.mutable_workspace()->set_display_name(name);
  request.mutable_workspace()->set_plan(v1::PRO);
  v1::CreateWorkspaceResponse response;
  grpc::Status status = v1::WorkspaceAdmin::NewStub(channel)->CreateWorkspace(
      KeyContext(admin_key).get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  return ClusterWorkspace{response.workspace().id(), response.api_key()};
}

std::vector<v1::Contact> NumberedContacts(const std::string& prefix,
                                          int64_t first, int64_t n) {
  static const char* const kCountries[] = {"DE", "FR", "US", "BR", "JP"};
  std::vector<v1::Contact> out(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = first + k;
    v1::Contact& c = out[static_cast<size_t>(k)];
    c.set_email(absl::StrCat(prefix, i, "@example.com"));
    c.set_country(kCountries[i % 5]);
    c.set_lead_score(static_cast<int32_t>((i * 37) % 101));
  }
  return out;
}

absl::Status Upsert(const std::shared_ptr<grpc::Channel>& channel,
                    const std::string& key,
                    const std::vector<v1::Contact>& contacts,
                    absl::Duration deadline) {
  v1::BatchUpsertContactsRequest request;
  for (const v1::Contact& c : contacts) *request.add_contacts() = c;
  request.set_view(v1::CONTACT_VIEW_BASIC);
  v1::BatchUpsertContactsResponse response;
  return FromGrpc(v1::ContactService::NewStub(channel)->BatchUpsertContacts(
      KeyContext(key, deadline).get(), request, &response));
}

absl::StatusOr<v1::Segment> CreateSegment(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    const v1::Segment& segment) {
  v1::CreateSegmentRequest request;
  *request.mutable_segment() = segment;
  v1::Segment created;
  grpc::Status status = v1::SegmentService::NewStub(channel)->CreateSegment(
      KeyContext(key).get(), request, &created);
  if (!status.ok()) return FromGrpc(status);
  return created;
}

absl::StatusOr<uint64_t> CountMembers(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    uint64_t segment_id, absl::Duration deadline, uint64_t* as_of_sequence) {
  v1::CountSegmentMembersRequest request;
  request.set_segment_id(segment_id);
  v1::CountSegmentMembersResponse response;
  grpc::Status status =
      v1::SegmentService::NewStub(channel)->CountSegmentMembers(
          KeyContext(key, deadline).get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  if (as_of_sequence != nullptr) *as_of_sequence = response.as_of_sequence();
  return response.member_count();
}

absl::StatusOr<std::vector<v1::Contact>> AllMembers(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    uint64_t segment_id) {
  auto stub = v1::SegmentService::NewStub(channel);
  std::vector<v1::Contact> out;
  v1::ListSegmentMembersRequest request;
  request.set_segment_id(segment_id);
  request.set_page_size(1000);
  request.set_view(v1::FULL);
  while (true) {
    v1::ListSegmentMembersResponse response;
    grpc::Status status =
        stub->ListSegmentMembers(KeyContext(key).get(), request, &response);
    if (!status.ok()) return FromGrpc(status);
    for (v1::Contact& c : *response.mutable_contacts()) {
      out.push_back(std::move(c));
    }
    if (response.next_page_token().empty()) return out;
    request.set_page_token(response.next_page_token());
  }
}

absl::StatusOr<std::set<uint64_t>> RecomputeMembers(
    const v1::Segment& segment, const std::vector<v1::Contact>& contacts,
    absl::Time now) {
  Violations violations;
  const FilterSpec filter =
      FilterSpecFromProto(segment.filter(), "filter", &violations);
  std::set<uint64_t> members;
  for (const v1::Contact& proto : contacts) {
    const ContactDraft draft =
        ContactDraftFromProto(proto, "contact", &violations);
    Contact contact =
        ReferenceApplyDraft(draft, {}, nullptr, absl::ToUnixSeconds(now));
    contact.id = proto.id();
    if (BruteForceMatches(filter, contact, absl::ToUnixSeconds(now))) {
      members.insert(proto.id());
    }
  }
  if (!violations.empty()) {
    return absl::InternalError(
        absl::StrCat("a segment or contact read back does not convert: ",
                     violations.ToStatus().ToString()));
  }
  return members;
}

void FeedCancel::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool FeedCancel::cancelled() {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool FeedCancel::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  context_ = context;
  return !cancelled_;
}

grpc::Status FollowFeed(const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& key,
                        const std::vector<uint64_t>& segment_ids,
                        std::atomic<uint64_t>* after_sequence, FeedLog* log,
                        FeedCancel* cancel) {
  v1::WatchMembershipChangesRequest request;
  request.set_after_sequence(after_sequence->load());
  for (uint64_t id : segment_ids) request.add_segment_ids(id);
  std::unique_ptr<grpc::ClientContext> context =
      KeyContext(key, absl::Minutes(10));
  if (!cancel->Attach(context.get())) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
  auto stub = v1::ChangeFeedService::NewStub(channel);
  std::unique_ptr<grpc::ClientReader<v1::WatchMembershipChangesResponse>>
      reader = stub->WatchMembershipChanges(context.get(), request);
  v1::WatchMembershipChangesResponse response;
  while (reader->Read(&response)) {
    for (const v1::MembershipChangeRun& run : response.runs()) {
      FeedRun& kept = (*log)[run.first_sequence()];
      kept.segment_id = run.segment_id();
      kept.kind = run.kind();
      kept.contact_ids.assign(run.contact_ids().begin(),
                              run.contact_ids().end());
    }
    if (response.last_sequence() > after_sequence->load()) {
      after_sequence->store(response.last_sequence());
    }
  }
  grpc::Status status = reader->Finish();
  cancel->Attach(nullptr);
  return status;
}

}  // namespace segments::testing
