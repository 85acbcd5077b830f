#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "server/log.h"

namespace segments {
namespace {

// Debian's Abseil has its own string_view; convert explicitly.
absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

constexpr int kKeyBytes = 32;
constexpr absl::string_view kKeyPrefix = "sk_";
constexpr absl::string_view kBearer = "bearer";

}  // namespace

absl::StatusOr<std::string> GenerateApiKey() {
  unsigned char bytes[kKeyBytes];
  if (RAND_bytes(bytes, kKeyBytes) != 1) {
    return absl::InternalError("could not generate a key: RAND_bytes failed");
  }
  std::string key =
      absl::StrCat(kKeyPrefix, absl::BytesToHexString(absl::string_view(
                                   reinterpret_cast<char*>(bytes), kKeyBytes)));
  OPENSSL_cleanse(bytes, kKeyBytes);
  return key;
}

std::string WorkspaceRoutingId(WorkspaceId id) {
  static constexpr char kDigits[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  do {
    out.push_back(kDigits[id % 32]);
    id /= 32;
  } while (id != 0);
  return std::string(out.rbegin(), out.rend());
}

std::optional<WorkspaceId> ParseWorkspaceRoutingId(std::string_view s) {
  // 13 digits hold 65 bits: more would overflow.
  if (s.empty() || s.size() > 13 || (s.size() > 1 && s[0] == 'a')) {
    return std::nullopt;
  }
  unsigned __int128 id = 0;
  for (char c : s) {
    int digit;
    if (c >= 'a' && c <= 'z') {
      digit = c - 'a';
    } else if (c >= '2' && c <= '7') {
      digit = 26 + (c - '2');
    } else {
      return std::nullopt;
    }
    id = id * 32 + static_cast<unsigned>(digit);
  }
  if (id > UINT64_MAX) return std::nullopt;
  return static_cast<WorkspaceId>(id);
}

absl::StatusOr<std::string> GenerateWorkspaceApiKey(WorkspaceId id) {
  ASSIGN_OR_RETURN(std::string secret, GenerateApiKey());
  // "sk_" + routing id + "_" + the 64 hex digits of a fresh key.
  return absl::StrCat(kKeyPrefix, WorkspaceRoutingId(id), "_",
                      AV(secret).substr(kKeyPrefix.size()));
}

std::optional<WorkspaceId> RoutingHintOf(std::string_view key) {
  if (!absl::StartsWith(AV(key), kKeyPrefix)) return std::nullopt;
  key.remove_prefix(kKeyPrefix.size());
  const size_t underscore = key.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  return ParseWorkspaceRoutingId(key.substr(0, underscore));
}

namespace {

// SHA-256 fetched from OpenSSL's default provider once for the process:
// OpenSSL 3's one-shot SHA256() fetches it again on every call (the
// provider store's lock and lookup). Null if the fetch failed; the caller
// then falls back to SHA256().
const EVP_MD* FetchedSha256() {
  static const EVP_MD* const kSha256 =
      EVP_MD_fetch(/*ctx=*/nullptr, "SHA2-256", /*properties=*/nullptr);
  return kSha256;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const EVP_MD* sha256 = FetchedSha256();
  if (sha256 == nullptr ||
      EVP_Digest(bytes.data(), bytes.size(), digest, &size, sha256,
                 /*impl=*/nullptr) != 1 ||
      size != SHA256_DIGEST_LENGTH) {
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
           digest);
  }
  return std::string(reinterpret_cast<char*>(digest), SHA256_DIGEST_LENGTH);
}

}  // namespace

std::string HashApiKey(std::string_view key) {
  // The last key this thread hashed, with its hash. A service calls with
  // one key call after call, and hashing it after the thread slept (its
  // caches cold) took 11 us of an update's 14 us of authentication, 6.6 us
  // with the fetched digest (docs/benchmarks.md, "One update"). The hash is
  // a function of the key alone, so the memo is never stale; it holds one
  // key per thread, which that thread's request metadata held anyway, and
  // the comparison takes the same time wherever the keys differ.
  struct Memo {
    std::string key;
    std::string hash;
  };
  thread_local Memo memo;
  if (!memo.hash.empty() && memo.key.size() == key.size() &&
      CRYPTO_memcmp(memo.key.data(), key.data(), key.size()) == 0) {
    return memo.hash;
  }
  memo.hash = Sha256(key);
  memo.key.assign(key.data(), key.size());
  return memo.hash;
}

absl::StatusOr<std::optional<std::string>> LoadAdminKey(
    const std::string& key_file) {
  std::string key;
  if (!key_file.empty()) {
    std::ifstream in(key_file, std::ios::binary);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the admin key file ", key_file));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    key = std::string(absl::StripAsciiWhitespace(buffer.str()));
    if (key.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the admin key file ", key_file, " is empty"));
    }
    struct stat st;
    if (stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      LogEvent(absl::StrCat("warning: admin key file ", LogEscape(key_file),
                            " is readable by group or others (chmod 600 it)"));
    }
    return std::optional<std::string>(std::move(key));
  }
  const char* env = std::getenv(kAdminKeyEnv);
  if (env == nullptr) return std::optional<std::string>();
  key = std::string(absl::StripAsciiWhitespace(env));
  if (key.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(key));
}

absl::StatusOr<std::string> BearerKey(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    return absl::UnauthenticatedError(
        "missing 'authorization: Bearer <key>' metadata");
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  std::string_view value(range.first->second.data(),
                         range.first->second.size());
  // "Bearer" is case-insensitive (RFC 7235); the key follows one or more
  // spaces and must itself contain no whitespace.
  if (value.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(AV(value.substr(0, kBearer.size())), kBearer) ||
      value[kBearer.size()] != ' ') {
    return absl::UnauthenticatedError("authorization must be 'Bearer <key>'");
  }
  absl::string_view key =
      absl::StripAsciiWhitespace(AV(value.substr(kBearer.size())));
  if (key.empty() || std::any_of(key.begin(), key.end(), [](char c) {
        return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
      })) {
    return absl::UnauthenticatedError("authorization must be 'Bearer <key>'");
  }
  return std::string(key);
}

Authenticator::Authenticator(Registry* registry,
                             std::optional<std::string> admin_key_hash)
    : registry_(registry), admin_key_hash_(std::move(admin_key_hash)) {}

namespace {

// What a caller learns of the registry's answer to its key.
absl::StatusOr<std::shared_ptr<Workspace>> AsSeenByCaller(
    absl::StatusOr<std::shared_ptr<Workspace>> workspace) {
  if (workspace.ok()) return workspace;
  // A workspace that failed to load says so (its key is right: the caller
  // learns nothing about other workspaces); otherwise the caller learns
  // only that the key is bad.
  // UNAVAILABLE too: another node serves the workspace (the client
  // retries, docs/scale-out.md), or its storage failed for a moment.
  if (absl::IsDataLoss(workspace.status()) ||
      absl::IsFailedPrecondition(workspace.status()) ||
      absl::IsUnavailable(workspace.status())) {
    return workspace.status();
  }
  return absl::UnauthenticatedError("invalid API key");
}

}  // namespace

absl::StatusOr<std::shared_ptr<Workspace>> Authenticator::AuthenticateWorkspace(
    const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> key = BearerKey(context);
  if (!key.ok()) return key.status();
  return AsSeenByCaller(registry_->Authenticate(HashApiKey(*key)));
}

std::optional<absl::StatusOr<std::shared_ptr<Workspace>>>
Authenticator::AuthenticateWorkspaceIfOpen(
    const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> key = BearerKey(context);
  if (!key.ok()) return key.status();
  std::optional<absl::StatusOr<std::shared_ptr<Workspace>>> workspace =
      registry_->AuthenticateIfOpen(HashApiKey(*key));
  if (!workspace.has_value()) return std::nullopt;
  return AsSeenByCaller(*std::move(workspace));
}

absl::Status Authenticator::AuthenticateAdmin(
    const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> key = BearerKey(context);
  if (!key.ok()) return key.status();
  if (!admin_key_hash_.has_value()) {
    return absl::UnauthenticatedError(
        "admin calls are disabled: the server has no admin key configured");
  }
  std::string hash = HashApiKey(*key);
  if (hash.size() != admin_key_hash_->size() ||
      CRYPTO_memcmp(hash.data(), admin_key_hash_->data(), hash.size()) != 0) {
    return absl::UnauthenticatedError("invalid admin key");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::AuthenticateMethod(
    const grpc::ServerContextBase& context, std::string_view method) const {
  if (absl::StartsWith(AV(method), "/segments.v1.WorkspaceAdmin/")) {
    return AuthenticateAdmin(context);
  }
  if (absl::StartsWith(AV(method), "/segments.v1.")) {
    return CheckWorkspaceKey(context);
  }
  return absl::OkStatus();
}

absl::Status Authenticator::CheckWorkspaceKey(
    const grpc::ServerContextBase& context) const {
  absl::StatusOr<std::string> key = BearerKey(context);
  if (!key.ok()) return key.status();
  const std::string hash = HashApiKey(*key);
  std::optional<absl::Status> known = registry_->CheckKeyIfKnown(hash);
  if (!known.has_value()) {
    return AsSeenByCaller(registry_->Authenticate(hash)).status();
  }
  if (known->ok()) return absl::OkStatus();
  return AsSeenByCaller(*known).status();
}

}  // namespace segments
