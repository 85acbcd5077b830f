#include "server/export_stream.h"

#include <utility>

namespace segments {

void ExportStream::Start(analytics::BitmapExport bitmap, size_t max_chunk) {
  bitmap_ = std::move(bitmap);
  chunks_ = analytics::Chunks(bitmap_.bytes, max_chunk);
  response_.set_member_count(bitmap_.member_count);
  response_.set_as_of_sequence(bitmap_.as_of_sequence);
  response_.set_total_bytes(bitmap_.bytes.size());
  WriteNext();
}

void ExportStream::WriteNext() {
  const std::string_view chunk = chunks_[next_++];
  response_.set_offset(offset_);
  response_.set_chunk(chunk.data(), chunk.size());
  offset_ += chunk.size();
  if (next_ == chunks_.size()) {
    // The last message and the status travel together.
    StartWriteLast(&response_, grpc::WriteOptions());
  } else {
    StartWrite(&response_);
  }
}

void ExportStream::OnWriteDone(bool ok) {
  if (!ok) {
    // Cancelled, past its deadline, or the server is shutting down.
    Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                        "the export stream was cancelled"));
    return;
  }
  if (next_ == chunks_.size()) {
    Finish(grpc::Status::OK);
    return;
  }
  // Only the first message carries the totals.
  response_.clear_member_count();
  response_.clear_as_of_sequence();
  response_.clear_total_bytes();
  WriteNext();
}

}  // namespace segments
