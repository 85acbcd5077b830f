// segments.v1.ContactService: authenticate, translate, call the caller's
// Workspace, convert the status once. Thread-safe; `auth` must outlive it.
#ifndef SEGMENTS_SERVER_CONTACT_SERVICE_H_
#define SEGMENTS_SERVER_CONTACT_SERVICE_H_

#include "absl/status/status.h"
#include "core/limits.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "server/auth.h"

namespace segments {

class ContactServiceImpl final : public v1::ContactService::Service {
 public:
  ContactServiceImpl(const Authenticator* auth, const Limits& limits)
      : auth_(auth), limits_(limits) {}

  grpc::Status CreateContact(grpc::ServerContext* context,
                             const v1::CreateContactRequest* request,
                             v1::Contact* response) override;
  grpc::Status GetContact(grpc::ServerContext* context,
                          const v1::GetContactRequest* request,
                          v1::Contact* response) override;
  grpc::Status UpdateContact(grpc::ServerContext* context,
                             const v1::UpdateContactRequest* request,
                             v1::Contact* response) override;
  grpc::Status DeleteContact(grpc::ServerContext* context,
                             const v1::DeleteContactRequest* request,
                             google::protobuf::Empty* response) override;
  grpc::Status BatchUpsertContacts(
      grpc::ServerContext* context,
      const v1::BatchUpsertContactsRequest* request,
      v1::BatchUpsertContactsResponse* response) override;

 private:
  absl::Status DoCreate(const grpc::ServerContext& context,
                        const v1::CreateContactRequest& request,
                        v1::Contact* response);
  absl::Status DoGet(const grpc::ServerContext& context,
                     const v1::GetContactRequest& request,
                     v1::Contact* response);
  absl::Status DoUpdate(const grpc::ServerContext& context,
                        const v1::UpdateContactRequest& request,
                        v1::Contact* response);
  absl::Status DoDelete(const grpc::ServerContext& context,
                        const v1::DeleteContactRequest& request);
  absl::Status DoBatchUpsert(const grpc::ServerContext& context,
                             const v1::BatchUpsertContactsRequest& request,
                             v1::BatchUpsertContactsResponse* response);

  const Authenticator* const auth_;
  const Limits limits_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_CONTACT_SERVICE_H_
