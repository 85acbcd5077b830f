// segments.v1.ContactService: authenticate, translate, call the caller's
// Workspace, convert the status once. Thread-safe; `auth` must outlive it.
//
// BatchUpsertContacts is served raw (request and response as bytes), so the
// handler can parse the request into a protobuf Arena and build the response
// on the same arena: a 10,000-contact batch is otherwise tens of thousands of
// small heap allocations to parse and as many frees. gRPC C++ generates raw
// handlers only for the async and callback APIs (WithRawMethod_ turns a
// method async), so this service registers its five methods itself, as the
// generated ContactService::Service does, with a synchronous ByteBuffer
// handler for BatchUpsertContacts: the same threads, unary semantics,
// interceptors and message limits as every other method. Reflection reads the
// generated descriptors, so it still shows the real request/response types.
#ifndef SEGMENTS_SERVER_CONTACT_SERVICE_H_
#define SEGMENTS_SERVER_CONTACT_SERVICE_H_

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "core/base/limits.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "server/auth.h"

namespace segments {

// The full names of the methods, as gRPC routes them.
inline constexpr char kCreateContactMethod[] =
    "/segments.v1.ContactService/CreateContact";
inline constexpr char kGetContactMethod[] =
    "/segments.v1.ContactService/GetContact";
inline constexpr char kUpdateContactMethod[] =
    "/segments.v1.ContactService/UpdateContact";
inline constexpr char kDeleteContactMethod[] =
    "/segments.v1.ContactService/DeleteContact";
inline constexpr char kBatchUpsertContactsMethod[] =
    "/segments.v1.ContactService/BatchUpsertContacts";

class ContactServiceImpl final : public grpc::Service {
 public:
  ContactServiceImpl(const Authenticator* auth, const Limits& limits);

  grpc::Status CreateContact(grpc::ServerContext* context,
                             const v1::CreateContactRequest* request,
                             v1::Contact* response);
  grpc::Status GetContact(grpc::ServerContext* context,
                          const v1::GetContactRequest* request,
                          v1::Contact* response);
  grpc::Status UpdateContact(grpc::ServerContext* context,
                             const v1::UpdateContactRequest* request,
                             v1::Contact* response);
  grpc::Status DeleteContact(grpc::ServerContext* context,
                             const v1::DeleteContactRequest* request,
                             google::protobuf::Empty* response);
  // A serialized BatchUpsertContactsRequest in, a serialized
  // BatchUpsertContactsResponse out.
  grpc::Status BatchUpsertContacts(grpc::ServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response);

 private:
  // Registers `handler` as the unary method `name`.
  template <class Request, class Response>
  void AddUnaryMethod(const char* name,
                      grpc::Status (ContactServiceImpl::*handler)(
                          grpc::ServerContext*, const Request*, Response*));

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
  // Takes the strings out of `*request` (it is not needed afterwards).
  absl::Status DoBatchUpsert(const grpc::ServerContext& context,
                             v1::BatchUpsertContactsRequest* request,
                             v1::BatchUpsertContactsResponse* response);

  const Authenticator* const auth_;
  const Limits limits_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_CONTACT_SERVICE_H_
