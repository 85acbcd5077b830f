#include "server/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <unordered_set>
#include <utility>

#include "google/rpc/error_details.pb.h"

namespace segments {
namespace {

namespace protobuf = google::protobuf;
using grpc::Status;
using grpc::StatusCode;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

// The file and, once each, every file it depends on.
void AddFile(const protobuf::FileDescriptor* file,
             ServerReflectionResponse* response,
             std::unordered_set<std::string>* seen) {
  if (!seen->insert(file->name()).second) return;
  protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(response->mutable_file_descriptor_response()
                              ->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i), response, seen);
  }
}

// The file (with its dependencies) and, when it declares a service, the
// files of `extras` too: error details travel as google.protobuf.Any, and a
// reflection client that resolved only the service's own files cannot
// decode them (buf curl asks for nothing more and prints their bytes).
Status AnswerFile(const protobuf::FileDescriptor* file, const char* not_found,
                  const std::vector<const protobuf::FileDescriptor*>& extras,
                  ServerReflectionResponse* response) {
  if (file == nullptr) return Status(StatusCode::NOT_FOUND, not_found);
  std::unordered_set<std::string> seen;
  AddFile(file, response, &seen);
  if (file->service_count() > 0) {
    for (const protobuf::FileDescriptor* extra : extras) {
      AddFile(extra, response, &seen);
    }
  }
  return Status::OK;
}

class Reactor final : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                                     ServerReflectionResponse> {
 public:
  explicit Reactor(const ReflectionService* service) : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client is done (or gone)
      Finish(Status::OK);
      return;
    }
    response_.Clear();
    service_->Answer(request_, &response_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(Status(StatusCode::UNKNOWN, "cannot write the response"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionService* const service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

}  // namespace

ReflectionService::ReflectionService(std::vector<std::string> services)
    : services_(std::move(services)),
      // Naming the types links their generated code, which registers the
      // file in the generated pool.
      error_detail_files_({google::rpc::BadRequest::descriptor()->file(),
                           google::rpc::ErrorInfo::descriptor()->file()}) {}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new Reactor(this);
}

void ReflectionService::Answer(const ServerReflectionRequest& request,
                               ServerReflectionResponse* response) const {
  const protobuf::DescriptorPool* pool =
      protobuf::DescriptorPool::generated_pool();
  Status status;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename:
      status = AnswerFile(pool->FindFileByName(request.file_by_filename()),
                          "File not found.", error_detail_files_, response);
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      status = AnswerFile(
          pool->FindFileContainingSymbol(request.file_containing_symbol()),
          "Symbol not found.", error_detail_files_, response);
      break;
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& extension = request.file_containing_extension();
      const protobuf::Descriptor* type =
          pool->FindMessageTypeByName(extension.containing_type());
      if (type == nullptr) {
        status = Status(StatusCode::NOT_FOUND, "Type not found.");
        break;
      }
      const protobuf::FieldDescriptor* field =
          pool->FindExtensionByNumber(type, extension.extension_number());
      if (field == nullptr) {
        status = Status(StatusCode::NOT_FOUND, "Extension not found.");
        break;
      }
      status = AnswerFile(field->file(), "File not found.", error_detail_files_,
                          response);
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& name = request.all_extension_numbers_of_type();
      const protobuf::Descriptor* type = pool->FindMessageTypeByName(name);
      if (type == nullptr) {
        status = Status(StatusCode::NOT_FOUND, "Type not found.");
        break;
      }
      std::vector<const protobuf::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* numbers = response->mutable_all_extension_numbers_response();
      for (const protobuf::FieldDescriptor* field : extensions) {
        numbers->add_extension_number(field->number());
      }
      numbers->set_base_type_name(name);
      break;
    }
    case ServerReflectionRequest::kListServices: {
      auto* list = response->mutable_list_services_response();
      for (const std::string& name : services_) {
        list->add_service()->set_name(name);
      }
      break;
    }
    default:
      status = Status(StatusCode::UNIMPLEMENTED, "");
      break;
  }
  if (!status.ok()) {
    response->clear_message_response();
    auto* error = response->mutable_error_response();
    error->set_error_code(status.error_code());
    error->set_error_message(status.error_message());
  }
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
}

}  // namespace segments
