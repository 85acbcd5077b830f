// Client-side helpers of the cluster test and benchmark: the calls a
// platform makes through nginx (create a workspace, upsert, count, read a
// segment's members, follow the feed), and the recompute of a segment from
// the contacts read back (tests/testing/brute_force.h).
#ifndef SEGMENTS_TESTS_CLUSTER_CLUSTER_CLIENT_H_
#define SEGMENTS_TESTS_CLUSTER_CLUSTER_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "segments/v1/contacts.pb.h"
#include "segments/v1/segments.pb.h"

namespace segments::testing {

struct ClusterWorkspace {
  uint64_t id = 0;
  std::string api_key;
};

// A context with `authorization: Bearer <key>` and a deadline.
std::unique_ptr<grpc::ClientContext> KeyContext(
    const std::string& key, absl::Duration deadline = absl::Seconds(30));

// An error status from a failed call ("CODE: message").
absl::Status FromGrpc(const grpc::Status& status);

absl::StatusOr<ClusterWorkspace> CreateClusterWorkspace(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& admin_key,
    const std::string& name);

// `n` contacts "<prefix><i>@example.com", i in [first, first + n), with a
// country and a lead score derived from i.
std::vector<v1::Contact> NumberedContacts(const std::string& prefix,
                                          int64_t first, int64_t n);

absl::Status Upsert(const std::shared_ptr<grpc::Channel>& channel,
                    const std::string& key,
                    const std::vector<v1::Contact>& contacts,
                    absl::Duration deadline = absl::Seconds(30));

absl::StatusOr<v1::Segment> CreateSegment(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    const v1::Segment& segment);

absl::StatusOr<uint64_t> CountMembers(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    uint64_t segment_id, absl::Duration deadline = absl::Seconds(30),
    uint64_t* as_of_sequence = nullptr);

// Every member of a segment, whole, page by page.
absl::StatusOr<std::vector<v1::Contact>> AllMembers(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& key,
    uint64_t segment_id);

// The ids of `contacts` that `segment`'s filter matches, by the brute-force
// evaluator at `now` (an error for a filter or contact that does not
// convert).
absl::StatusOr<std::set<uint64_t>> RecomputeMembers(
    const v1::Segment& segment, const std::vector<v1::Contact>& contacts,
    absl::Time now);

// The feed of one segment as a consumer keeps it: run -> contacts, keyed
// by the run's first sequence.
struct FeedRun {
  uint64_t segment_id = 0;
  int kind = 0;
  std::vector<uint64_t> contact_ids;
  bool operator==(const FeedRun& o) const {
    return segment_id == o.segment_id && kind == o.kind &&
           contact_ids == o.contact_ids;
  }
};
using FeedLog = std::map<uint64_t, FeedRun>;

// Lets another thread end a FollowFeed (its stream is cancelled).
class FeedCancel {
 public:
  void Cancel();
  bool cancelled();
  // For FollowFeed: the context of the stream it reads now, or nullptr.
  // False if already cancelled.
  bool Attach(grpc::ClientContext* context);

 private:
  absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Reads the feed of `segment_ids` after *after_sequence into *log until the
// stream ends or `cancel` ends it; *after_sequence follows the last
// sequence received, so a call after a failure resumes where this one
// stopped; it moves as messages arrive, so another thread can watch the
// progress. Returns how the stream ended (CANCELLED after Cancel).
grpc::Status FollowFeed(const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& key,
                        const std::vector<uint64_t>& segment_ids,
                        std::atomic<uint64_t>* after_sequence, FeedLog* log,
                        FeedCancel* cancel);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_CLUSTER_CLUSTER_CLIENT_H_
