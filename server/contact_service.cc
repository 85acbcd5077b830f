#include "server/contact_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "google/protobuf/arena.h"
#include "server/convert.h"
#include "server/parse_error_interceptor.h"
#include "server/request_util.h"
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

// Parses `bytes` exactly as gRPC's own deserializer does for a typed method,
// but into `message`, which may live on an arena.
bool ParseRequest(const grpc::ByteBuffer& bytes,
                  google::protobuf::MessageLite* message) {
  // The reader wants a mutable buffer; the copy shares the slices.
  grpc::ByteBuffer buffer(bytes);
  return grpc::GenericDeserialize<grpc::ProtoBufferReader,
                                  google::protobuf::MessageLite>(&buffer,
                                                                 message)
      .ok();
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
  if (!ParseRequest(*request, parsed)) {
    return UnparsableRequestStatus(
        kBatchUpsertContactsMethod,
        auth_->AuthenticateWorkspace(*context).status());
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
  RETURN_IF_ERROR(CheckNotCancelled(context));
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
  RETURN_IF_ERROR(CheckNotCancelled(context));
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
  RETURN_IF_ERROR(CheckNotCancelled(context));
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
  for (int i = 0; i < request->contacts_size(); ++i) {
    drafts.push_back(ContactDraftFromProto(
        std::move(*request->mutable_contacts(i)), "contacts", i, &violations));
  }
  const v1::ContactView view = ContactViewFromProto(
      request->view(), v1::CONTACT_VIEW_FULL, "view", &violations);
  RETURN_IF_ERROR(violations.ToStatus());
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
