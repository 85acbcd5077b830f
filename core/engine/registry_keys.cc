// The registry's keys: which workspace a key hash belongs to, answered from
// memory when it can be (AuthenticateIfOpen, for threads that must not
// block), else by opening the workspace or, over a shared catalog, reading
// the catalog; and the bounded memory of keys no workspace has. The rest of
// the registry is registry.cc (and registry_shared.cc).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/engine/registry.h"

namespace segments {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool Registry::KnownUnknownKey(std::string_view key_hash) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = unknown_key_hashes_.find(
      absl::string_view(key_hash.data(), key_hash.size()));
  return it != unknown_key_hashes_.end() &&
         absl::Now() - it->second < kUnknownKeyMemory;
}

void Registry::RememberUnknownKey(std::string_view key_hash) {
  // A bound on what unauthenticated callers can make this node keep; when
  // it is reached the set starts again (each key then costs one more
  // query).
  if (unknown_key_hashes_.size() >= kMaxUnknownKeys) {
    unknown_key_hashes_.clear();
  }
  unknown_key_hashes_.insert_or_assign(std::string(key_hash), absl::Now());
}

Registry::KeyLookup Registry::LookUpKey(std::string_view key_hash) const {
  absl::ReaderMutexLock l(&mu_);
  auto it =
      id_by_key_hash_.find(absl::string_view(key_hash.data(), key_hash.size()));
  // The lookup is keyed by a hash of a 256-bit random key, so its timing
  // reveals nothing usable; the final comparison is constant-time anyway.
  if (it == id_by_key_hash_.end()) return {};
  const Entry& e = entries_.at(it->second);
  if (!ConstantTimeEquals(e.record.key_hash, key_hash)) return {};
  if (e.state == State::kFailed) return {NotServing(e)};
  if (e.state == State::kOpen && !e.leaving) {
    Touch(e);
    return {e.workspace};
  }
  return {std::nullopt, it->second};
}

std::optional<absl::StatusOr<std::shared_ptr<Workspace>>>
Registry::AuthenticateIfOpen(std::string_view key_hash) {
  KeyLookup found = LookUpKey(key_hash);
  if (found.answer.has_value()) return found.answer;
  if (found.id != 0) return std::nullopt;  // to be opened, or waited for
  if (shared_ && !KnownUnknownKey(key_hash)) return std::nullopt;
  return absl::UnauthenticatedError("invalid API key");
}

std::optional<absl::Status> Registry::CheckKeyIfKnown(
    std::string_view key_hash) {
  KeyLookup found = LookUpKey(key_hash);
  if (found.answer.has_value()) return found.answer->status();
  if (found.id != 0) return absl::OkStatus();  // closed: not opened for this
  if (shared_ && !KnownUnknownKey(key_hash)) return std::nullopt;
  return absl::UnauthenticatedError("invalid API key");
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Authenticate(
    std::string_view key_hash) {
  KeyLookup known = LookUpKey(key_hash);
  if (known.answer.has_value()) return *std::move(known.answer);
  WorkspaceId id = known.id;
  if (id == 0 && shared_ && !KnownUnknownKey(key_hash)) {
    // A key this node has not seen: a workspace another node created or
    // re-keyed since this node read the catalog.
    ASSIGN_OR_RETURN(std::optional<LoadedWorkspaceRecord> found,
                     catalog_->FindWorkspaceByKeyHash(key_hash));
    absl::MutexLock l(&mu_);
    if (found.has_value() &&
        ConstantTimeEquals(found->record.key_hash, key_hash)) {
      id = found->record.id;
      Adopt(*std::move(found));
    } else {
      RememberUnknownKey(key_hash);
    }
  }
  if (id == 0) return absl::UnauthenticatedError("invalid API key");
  absl::StatusOr<std::shared_ptr<Workspace>> ws = Acquire(id);
  // Deleted meanwhile: as if it had been a moment earlier.
  if (absl::IsNotFound(ws.status())) {
    return absl::UnauthenticatedError("invalid API key");
  }
  if (ws.ok() && shared_) {
    // The open read the record again: the key may have changed elsewhere.
    absl::ReaderMutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() ||
        !ConstantTimeEquals(it->second.record.key_hash, key_hash)) {
      return absl::UnauthenticatedError("invalid API key");
    }
  }
  return ws;
}

}  // namespace segments
