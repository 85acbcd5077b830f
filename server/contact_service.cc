#include "server/contact_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "server/convert.h"
#include "server/request_util.h"
#include "server/status_util.h"

namespace segments {
namespace {

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

}  // namespace

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
    grpc::ServerContext* context, const v1::BatchUpsertContactsRequest* request,
    v1::BatchUpsertContactsResponse* response) {
  return ToGrpcStatus(DoBatchUpsert(*context, *request, response));
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
    const grpc::ServerContext& context,
    const v1::BatchUpsertContactsRequest& request,
    v1::BatchUpsertContactsResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace,
                   auth_->AuthenticateWorkspace(context));
  const size_t count = static_cast<size_t>(request.contacts_size());
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
  for (int i = 0; i < request.contacts_size(); ++i) {
    drafts.push_back(ContactDraftFromProto(
        request.contacts(i), absl::StrCat("contacts[", i, "]"), &violations));
  }
  RETURN_IF_ERROR(violations.ToStatus());
  RETURN_IF_ERROR(CheckNotCancelled(context));
  ASSIGN_OR_RETURN(
      BatchUpsertResult result,
      workspace->BatchUpsertContacts(drafts, MaskPaths(request.update_mask())));
  response->mutable_contacts()->Reserve(
      static_cast<int>(result.contacts.size()));
  for (const Contact& contact : result.contacts) {
    ContactToProto(contact, response->add_contacts());
  }
  response->set_created_count(result.created);
  response->set_updated_count(result.updated);
  return absl::OkStatus();
}

}  // namespace segments
