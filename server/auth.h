// API keys and the authentication of calls (SPEC §10).
//
// Keys are 32 random bytes rendered as hex after "sk_<workspace>_" (see
// GenerateWorkspaceApiKey; keys made before that are "sk_" + 64 hex digits
// and keep working); only their SHA-256 is stored. Every call of the segments
// services carries `authorization: Bearer <key>`. A workspace key selects the
// caller's workspace (no request field can choose another); admin calls need
// the admin key, configured from the environment or a key file, never
// defaulted.
//
// Thread-safety: Authenticator is immutable after construction and
// thread-safe; the Registry it points to must outlive it.
#ifndef SEGMENTS_SERVER_AUTH_H_
#define SEGMENTS_SERVER_AUTH_H_

#include <grpcpp/server_context.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/engine/registry.h"
#include "core/engine/workspace.h"

namespace segments {

// Name of the environment variable holding the admin key.
inline constexpr char kAdminKeyEnv[] = "SEGMENTS_ADMIN_KEY";

// A fresh key: "sk_" + hex of 32 bytes from OpenSSL's CSPRNG. INTERNAL if
// the generator fails.
absl::StatusOr<std::string> GenerateApiKey();
// Keys that carry their workspace for routing (docs/scale-out.md):
// "sk_" + WorkspaceRoutingId(id) + "_" + 64 hex digits from the CSPRNG.
// Authentication still hashes the whole key: the prefix is a hint for a
// proxy (nginx maps `^Bearer\s+sk_([a-z2-7]+)_`), never an authority.
absl::StatusOr<std::string> GenerateWorkspaceApiKey(WorkspaceId id);
// Workspace `id` in lowercase base 32 (RFC 4648's alphabet a-z2-7, digit
// values 0-31, most significant first, no padding): 1 is "b", 32 is "ba".
std::string WorkspaceRoutingId(WorkspaceId id);
// The inverse; nullopt for anything WorkspaceRoutingId cannot return.
std::optional<WorkspaceId> ParseWorkspaceRoutingId(std::string_view s);
// The workspace a key's prefix names ("sk_<routing id>_..."), as nginx's
// map reads it; nullopt for old keys ("sk_" + 64 hex digits). A hint only:
// the demo key sk_demo_local_only reads as workspace "demo" = 102798.
std::optional<WorkspaceId> RoutingHintOf(std::string_view key);
// The raw 32-byte SHA-256 of `key`.
std::string HashApiKey(std::string_view key);

// Reads the admin key: from the file `key_file` when it is non-empty, else
// from the environment variable kAdminKeyEnv. Surrounding whitespace is
// trimmed. Returns nullopt when neither is set (admin calls are then
// refused); an unreadable or empty file is an error.
absl::StatusOr<std::optional<std::string>> LoadAdminKey(
    const std::string& key_file);

// The key of an `authorization: Bearer <key>` header. UNAUTHENTICATED when
// the header is missing, repeated or malformed.
absl::StatusOr<std::string> BearerKey(const grpc::ServerContextBase& context);

class Authenticator {
 public:
  // `admin_key_hash`: SHA-256 of the admin key; nullopt disables admin calls.
  Authenticator(Registry* registry, std::optional<std::string> admin_key_hash);

  // The caller's workspace. UNAUTHENTICATED for a missing, malformed or
  // unknown key.
  absl::StatusOr<std::shared_ptr<Workspace>> AuthenticateWorkspace(
      const grpc::ServerContextBase& context) const;
  // AuthenticateWorkspace's answer when it needs no blocking work (see
  // Registry::AuthenticateIfOpen), for gRPC's callback threads, which must
  // not block; nullopt when it does.
  std::optional<absl::StatusOr<std::shared_ptr<Workspace>>>
  AuthenticateWorkspaceIfOpen(const grpc::ServerContextBase& context) const;
  // OK when the call carries the admin key; UNAUTHENTICATED otherwise.
  absl::Status AuthenticateAdmin(const grpc::ServerContextBase& context) const;
  // The check the method `method` ("/package.Service/Method") makes of the
  // call's key: the admin key for segments.v1.WorkspaceAdmin, a workspace
  // key for the other segments.v1 services, none for anything else
  // (reflection, health). For a request that does not parse, which needs
  // only to know whether its key is good, on whichever thread it ends: a
  // workspace key is checked against the keys in memory and its workspace
  // is not opened (Registry::CheckKeyIfKnown), except for a key new to this
  // node over a shared catalog, which is authenticated as
  // AuthenticateWorkspace does (the catalog read, the workspace opened).
  absl::Status AuthenticateMethod(const grpc::ServerContextBase& context,
                                  std::string_view method) const;

  bool admin_enabled() const { return admin_key_hash_.has_value(); }

 private:
  // AuthenticateMethod's check of a workspace key.
  absl::Status CheckWorkspaceKey(const grpc::ServerContextBase& context) const;

  Registry* const registry_;
  const std::optional<std::string> admin_key_hash_;
};

}  // namespace segments

#endif  // SEGMENTS_SERVER_AUTH_H_
