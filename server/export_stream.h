// One ExportMembers stream (segments.v1.AnalyticsService) on gRPC's
// callback API: it holds no thread while its client reads. It owns the
// serialized bitmap (made under the workspace's reader lock before the
// stream starts, so the lock is never held while the client reads) and
// writes it one chunk per message, the next when the previous is written.
// A cancelled call or a server shutdown past its grace fails the pending
// write, and the stream finishes there.
//
// It is made before its bitmap, so that the bitmap can be made on another
// thread when the workspace must be opened first (AnalyticsServiceImpl):
// Start, or Finish with an error, exactly once, then gives it its end. gRPC
// calls OnDone only after that, so the stream outlives the thread that
// starts it.
//
// Thread-safety: Start or Finish runs once, before any OnWriteDone; gRPC
// runs at most one OnWriteDone at a time, and the only state after the
// first write is the position, touched by OnWriteDone only.
#ifndef SEGMENTS_SERVER_EXPORT_STREAM_H_
#define SEGMENTS_SERVER_EXPORT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <string_view>
#include <vector>

#include "core/analytics/bitmap_export.h"
#include "segments/v1/analytics.pb.h"

namespace segments {

// Bytes of bitmap per message: the default, and the range a request may
// ask for (the top stays well under a client's default 4 MiB receive
// limit with the message's own few bytes).
inline constexpr size_t kDefaultExportChunkBytes = 1 << 20;
inline constexpr size_t kMinExportChunkBytes = 1 << 10;
inline constexpr size_t kMaxExportChunkBytes = (4 << 20) - (1 << 10);

class ExportStream final
    : public grpc::ServerWriteReactor<v1::ExportMembersResponse> {
 public:
  // Writes nothing before Start; gRPC's OnDone deletes it.
  ExportStream() = default;

  // Writes `bitmap` in chunks of at most `max_chunk` bytes, then finishes.
  void Start(analytics::BitmapExport bitmap, size_t max_chunk);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  ~ExportStream() override = default;
  void WriteNext();

  analytics::BitmapExport bitmap_;
  std::vector<std::string_view> chunks_;  // into bitmap_.bytes
  size_t next_ = 0;
  uint64_t offset_ = 0;
  v1::ExportMembersResponse response_;  // the message being written
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_EXPORT_STREAM_H_
