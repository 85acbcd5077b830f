// Logs one line for each call that takes longer than a threshold (SPEC §11:
// "slow call" is a notable event); faster calls log nothing. Unary calls
// only.
#ifndef SEGMENTS_SERVER_SLOW_CALL_INTERCEPTOR_H_
#define SEGMENTS_SERVER_SLOW_CALL_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "absl/time/time.h"

namespace segments {

class SlowCallInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit SlowCallInterceptorFactory(absl::Duration threshold)
      : threshold_(threshold) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const absl::Duration threshold_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_SLOW_CALL_INTERCEPTOR_H_
