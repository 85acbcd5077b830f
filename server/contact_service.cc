#include "server/contact_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/contact.h"
#include "google/protobuf/arena.h"
#include "server/convert.h"
#include "server/parse_error_interceptor.h"
#include "server/raw_messages.h"
#include "server/request_util.h"
#include "server/server.h"
#include "server/status_util.h"

namespace segments {
namespace {

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

// Arena blocks for one batch call. Parsed, a request takes about 3.4 times
// its wire size (measured with bench/'s generated contacts); a BASIC response
// adds little, a FULL one about as much again. A first block of 4x spares a
// big batch a chain of small blocks (and their mallocs); a FULL response
// goes on to one more. The blocks are plain mallocs, so pages of a large one
// are touched only as they are used, and a small batch gets a small block.
constexpr size_t kArenaBytesPerRequestByte = 4;
constexpr size_t kMinArenaBlock = size_t{4} << 10;
constexpr size_t kMaxArenaBlock = size_t{16} << 20;

google::protobuf::ArenaOptions BatchArenaOptions(size_t request_bytes) {
  google::protobuf::ArenaOptions options;
  options.start_block_size =
      std::clamp(request_bytes * kArenaBytesPerRequestByte, kMinArenaBlock,
                 kMaxArenaBlock);
  options.max_block_size = kMaxArenaBlock;
  return options;
}

// Upper bounds, in bytes, of the fields of an echoed contact (a field's tag,
// length and value). Strings and tags at their limits (contact.h); a
// negative lead_score takes a 10-byte varint; a Timestamp is at most 17
// bytes (seconds and nanos) inside its own tag and length.
constexpr size_t kMaxTimestampFieldBytes = 1 + 1 + (1 + 10) + (1 + 5);
constexpr size_t kMaxEmailFieldBytes = 1 + 2 + kMaxEmailBytes;
size_t MaxFieldBytes(ContactField f) {
  switch (f) {
    case ContactField::kEmail:
      return kMaxEmailFieldBytes;
    case ContactField::kCompany:
    case ContactField::kJobTitle:
    case ContactField::kCountry:
    case ContactField::kCity:
    case ContactField::kSource:
      return 1 + 2 + kMaxStringFieldBytes;
    case ContactField::kTags:
      return kMaxTags * (1 + 1 + kMaxTagBytes);
    case ContactField::kLeadScore:
      return 1 + 10;
    case ContactField::kLifecycleStage:
    case ContactField::kEngagementScore:
    case ContactField::kEngagementTrend:
    case ContactField::kConversionLikelihood:
      return 1 + 1;
    case ContactField::kCreatedAt:
    case ContactField::kLastEngagedAt:
      return kMaxTimestampFieldBytes;
  }
  return 0;
}
// What the service adds to a contact besides the caller's fields: the id, a
// created_at, the default lifecycle_stage; and the repeated field's tag and
// length around the contact.
constexpr size_t kMaxIdFieldBytes = 1 + 10;
constexpr size_t kEchoFixedBytes =
    kMaxIdFieldBytes + kMaxTimestampFieldBytes + 2 + /*tag and length*/ 1 + 5;

// An upper bound on the serialized size of the response to a batch of
// `count` contacts taking `request_contact_bytes` in the request, whose
// existing contacts keep the fields outside `updated` as stored. Normalizing
// never makes a field longer (it trims, lowercases ASCII, drops duplicate
// tags), so a field from the request takes at most its request bytes, and a
// field kept as stored at most its maximum.
size_t MaxBatchEchoBytes(size_t count, size_t request_contact_bytes,
                         ContactFieldSet updated, v1::ContactView view) {
  constexpr size_t kCounts = 2 * (1 + 5);  // created_count, updated_count
  if (view == v1::CONTACT_VIEW_BASIC) {
    return kCounts + count * (kMaxIdFieldBytes + kMaxEmailFieldBytes + 1 + 5);
  }
  size_t kept = 0;
  for (int i = 0; i < kContactFieldCount; ++i) {
    const auto f = static_cast<ContactField>(i);
    if ((updated & FieldBit(f)) == 0) kept += MaxFieldBytes(f);
  }
  return kCounts + request_contact_bytes + count * (kEchoFixedBytes + kept);
}

}  // namespace

ContactServiceImpl::ContactServiceImpl(const Authenticator* auth,
                                       const Limits& limits)
    : auth_(auth), limits_(limits) {
  // In the proto's order, as the generated service registers them.
  AddUnaryMethod(kCreateContactMethod, &ContactServiceImpl::CreateContact);
  AddUnaryMethod(kGetContactMethod, &ContactServiceImpl::GetContact);
  AddUnaryMethod(kUpdateContactMethod, &ContactServiceImpl::UpdateContact);
  AddUnaryMethod(kDeleteContactMethod, &ContactServiceImpl::DeleteContact);
  AddUnaryMethod(kBatchUpsertContactsMethod,
                 &ContactServiceImpl::BatchUpsertContacts);
}

template <class Request, class Response>
void ContactServiceImpl::AddUnaryMethod(
    const char* name,
    grpc::Status (ContactServiceImpl::*handler)(grpc::ServerContext*,
                                                const Request*, Response*)) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      name, grpc::internal::RpcMethod::NORMAL_RPC,
      new grpc::internal::RpcMethodHandler<ContactServiceImpl, Request,
                                           Response>(
          [handler](ContactServiceImpl* service, grpc::ServerContext* context,
                    const Request* request, Response* response) {
            return (service->*handler)(context, request, response);
          },
          this)));
}

grpc::Status ContactServiceImpl::CreateContact(
    grpc::ServerContext* context, const v1::CreateContactRequest* request,
    v1::Contact* response) {
  return ToGrpcStatus(DoCreate(*context, *request, response));
}

grpc::Status ContactServiceImpl::GetContact(
    grpc::ServerContext* context, const v1::GetContactRequest* request,
    v1::Contact* response) {
  return ToGrpcStatus(DoGet(*context, *request, response));
}

grpc::Status ContactServiceImpl::UpdateContact(
    grpc::ServerContext* context, const v1::UpdateContactRequest* request,
    v1::Contact* response) {
  return ToGrpcStatus(DoUpdate(*context, *request, response));
}

grpc::Status ContactServiceImpl::DeleteContact(
    grpc::ServerContext* context, const v1::DeleteContactRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(DoDelete(*context, *request));
}

grpc::Status ContactServiceImpl::BatchUpsertContacts(
    grpc::ServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  google::protobuf::Arena arena(BatchArenaOptions(request->Length()));
  auto* parsed =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsRequest>(
          &arena);
  if (!ParseRawMessage(*request, parsed)) {
    return UnparsableRequestStatus(
        kBatchUpsertContactsMethod,
        auth_->AuthenticateMethod(*context, kBatchUpsertContactsMethod));
  }
  auto* reply =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsResponse>(
          &arena);
  grpc::Status status = ToGrpcStatus(DoBatchUpsert(*context, parsed, reply));
  if (!status.ok()) return status;
  bool own_buffer = false;
  return grpc::GenericSerialize<grpc::ProtoBufferWriter,
                                v1::BatchUpsertContactsResponse>(
      *reply, response, &own_buffer);
}

absl::Status ContactServiceImpl::DoCreate(
    const grpc::ServerContext& context, const v1::CreateContactRequest& request,
    v1::Contact* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  ContactDraft draft =
      ContactDraftFromProto(request.contact(), "contact", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckDeadlineNotPassed(context));
  ASSIGN_OR_RETURN(Contact contact, workspace->CreateContact(draft));
  ContactToProto(contact, response);
  return absl::OkStatus();
}

absl::Status ContactServiceImpl::DoGet(const grpc::ServerContext& context,
                                       const v1::GetContactRequest& request,
                                       v1::Contact* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  ASSIGN_OR_RETURN(ContactId id, ToContactId(request.id(), "id"));
  ASSIGN_OR_RETURN(Contact contact, workspace->GetContact(id));
  ContactToProto(contact, response);
  return absl::OkStatus();
}

absl::Status ContactServiceImpl::DoUpdate(
    const grpc::ServerContext& context, const v1::UpdateContactRequest& request,
    v1::Contact* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  Violations violations;
  CheckIdPresent(request.contact().id(), "contact.id", &violations);
  ContactDraft draft =
      ContactDraftFromProto(request.contact(), "contact", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  ASSIGN_OR_RETURN(ContactId id,
                   ToContactId(request.contact().id(), "contact.id"));
  RETURN_IF_ERROR(CheckDeadlineNotPassed(context));
  ASSIGN_OR_RETURN(
      Contact contact,
      workspace->UpdateContact(id, draft, MaskPaths(request.update_mask())));
  ContactToProto(contact, response);
  return absl::OkStatus();
}

absl::Status ContactServiceImpl::DoDelete(
    const grpc::ServerContext& context,
    const v1::DeleteContactRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  ASSIGN_OR_RETURN(ContactId id, ToContactId(request.id(), "id"));
  RETURN_IF_ERROR(CheckDeadlineNotPassed(context));
  return workspace->DeleteContact(id);
}

absl::Status ContactServiceImpl::DoBatchUpsert(
    const grpc::ServerContext& context, v1::BatchUpsertContactsRequest* request,
    v1::BatchUpsertContactsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const size_t count = static_cast<size_t>(request->contacts_size());
  if (count > limits_.max_batch_contacts) {
    return InvalidFieldError(
        "contacts",
        absl::StrCat("at most ", limits_.max_batch_contacts,
                     " contacts per batch (limit max_batch_contacts); got ",
                     count));
  }
  Violations violations;
  std::vector<ContactDraft> drafts;
  drafts.reserve(count);
  size_t request_contact_bytes = 0;
  for (int i = 0; i < request->contacts_size(); ++i) {
    request_contact_bytes += request->contacts(i).ByteSizeLong();
    drafts.push_back(ContactDraftFromProto(
        std::move(*request->mutable_contacts(i)), "contacts", i, &violations));
  }
  const v1::ContactView view = ContactViewFromProto(
      request->view(), v1::CONTACT_VIEW_FULL, "view", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
  // The reply is sent after the commit: one that could not be sent would
  // report a failure for a write that happened. So a batch whose reply might
  // exceed the message limit is refused before anything is written. (A bad
  // mask is left to the workspace to report.)
  absl::StatusOr<ContactFieldSet> updated =
      ParseContactFieldMask(MaskPaths(request->update_mask()), "update_mask");
  if (updated.ok()) {
    const size_t bound =
        MaxBatchEchoBytes(count, request_contact_bytes, *updated, view);
    if (bound > static_cast<size_t>(kMaxMessageBytes)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the reply to this batch could take up to ", bound, " bytes",
          view == v1::CONTACT_VIEW_BASIC ? ""
          : request->update_mask().paths().empty()
              ? " (view CONTACT_VIEW_FULL echoes every field)"
              : " (view CONTACT_VIEW_FULL echoes every field; those "
                "outside update_mask are counted at their maximum)",
          ", over the ", kMaxMessageBytes,
          "-byte message limit (limit max_message_bytes); nothing was "
          "written: use view CONTACT_VIEW_BASIC or smaller batches"));
    }
  }
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(BatchUpsertResult result,
                   workspace->BatchUpsertContacts(
                       std::move(drafts), MaskPaths(request->update_mask()),
                       view == v1::CONTACT_VIEW_BASIC ? ContactView::kIdAndEmail
                                                      : ContactView::kFull));
  response->mutable_contacts()->Reserve(
      static_cast<int>(result.contacts.size()));
  for (Contact& contact : result.contacts) {
    ContactToProto(std::move(contact), view, response->add_contacts());
  }
  response->set_created_count(result.created);
  response->set_updated_count(result.updated);
  return absl::OkStatus();
}

}  // namespace segments
