#include "server/status_util.h"

#include <string>
#include <vector>

#include "core/base/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace segments {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode values are the canonical gRPC codes (0..16). Anything
  // else would be a bug; report it as INTERNAL rather than UNKNOWN.
  int raw = static_cast<int>(status.code());
  grpc::StatusCode code = raw > 0 && raw <= grpc::StatusCode::UNAUTHENTICATED
                              ? static_cast<grpc::StatusCode>(raw)
                              : grpc::StatusCode::INTERNAL;
  std::string message(status.message());

  google::rpc::Status details;
  details.set_code(code);
  details.set_message(message);
  std::vector<FieldViolation> violations = GetFieldViolations(status);
  if (!violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const FieldViolation& v : violations) {
      google::rpc::BadRequest::FieldViolation* out =
          bad_request.add_field_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
    details.add_details()->PackFrom(bad_request);
  }
  ErrorInfo info = GetErrorInfo(status);
  if (!info.reason.empty()) {
    google::rpc::ErrorInfo error_info;
    error_info.set_reason(info.reason);
    error_info.set_domain(std::string(kErrorDomain));
    for (const auto& [key, value] : info.metadata) {
      (*error_info.mutable_metadata())[key] = value;
    }
    details.add_details()->PackFrom(error_info);
  }
  if (details.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace segments
