// Demo mode (--demo): a workspace for newcomers, with synthetic contacts and
// a few segments, reachable with a well-known key.
//
// The key kDemoApiKey is public: it is for a local demo only. The demo
// workspace is created only when the server runs with --demo; never expose a
// demo server on a reachable address with data you care about.
#ifndef SEGMENTS_SERVER_DEMO_H_
#define SEGMENTS_SERVER_DEMO_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/engine/registry.h"

namespace segments {

inline constexpr char kDemoApiKey[] = "sk_demo_local_only";
inline constexpr char kDemoWorkspaceName[] = "demo";
inline constexpr int kDemoContactCount = 2000;

struct DemoInfo {
  WorkspaceId workspace_id = 0;
  bool seeded_now = false;  // false when it existed already
  // The workspace's segments (first page), id and display name.
  std::vector<std::pair<SegmentId, std::string>> segments;
};

// Finds the demo workspace by its key, or creates it (plan GROWTH) and seeds
// it with kDemoContactCount deterministic contacts and a handful of segments.
// An existing demo workspace is left as it is (no reseeding on restart).
absl::StatusOr<DemoInfo> EnsureDemoWorkspace(Registry* registry);

// The deterministic synthetic contacts (exposed for tests). `now` anchors
// their dates.
std::vector<ContactDraft> DemoContacts(int count, UnixSeconds now);

// Ready-to-paste grpcurl commands against `address` ("host:port"). With a TLS
// certificate file the commands use it instead of -plaintext.
std::string DemoExamples(const DemoInfo& info, std::string_view address,
                         const std::optional<std::string>& tls_cert_file);

}  // namespace segments

#endif  // SEGMENTS_SERVER_DEMO_H_
