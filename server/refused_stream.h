// A server-streaming call refused before it became a stream (bad request,
// no valid key, a limit): it sends no message and finishes with the status.
#ifndef SEGMENTS_SERVER_REFUSED_STREAM_H_
#define SEGMENTS_SERVER_REFUSED_STREAM_H_

#include <grpcpp/grpcpp.h>

namespace segments {

template <class Message>
class RefusedStream final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_REFUSED_STREAM_H_
