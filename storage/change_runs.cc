#include "storage/change_runs.h"

#include <cstdint>
#include <limits>

#include "core/model/contact.h"

namespace segments {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads one varint at `*pos`; false when the blob ends inside it or it does
// not fit 64 bits.
bool GetVarint(std::string_view in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in[(*pos)++]);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint64_t ZigZag(int64_t d) {
  return (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace

void EncodeMoreContactIds(const std::vector<ContactId>& ids, std::string* out) {
  out->clear();
  for (size_t i = 1; i < ids.size(); ++i) {
    PutVarint(
        ZigZag(static_cast<int64_t>(ids[i]) - static_cast<int64_t>(ids[i - 1])),
        out);
  }
}

std::string DecodeMoreContactIds(ContactId first_contact, uint64_t more,
                                 std::string_view blob,
                                 std::vector<ContactId>* out) {
  const size_t start = out->size();
  out->push_back(first_contact);
  size_t pos = 0;
  int64_t contact = first_contact;
  for (uint64_t i = 0; i < more; ++i) {
    uint64_t v = 0;
    if (!GetVarint(blob, &pos, &v)) {
      out->resize(start);
      return "more_contact_ids holds fewer ids than the run's sequences";
    }
    // Checked before adding: a corrupt delta may be as large as +-2^63.
    const int64_t delta = UnZigZag(v);
    constexpr int64_t kMax = std::numeric_limits<ContactId>::max();
    if (delta < 1 - contact || delta > kMax - contact) {
      out->resize(start);
      return "more_contact_ids holds a contact id out of range";
    }
    contact += delta;
    out->push_back(static_cast<ContactId>(contact));
  }
  if (pos != blob.size()) {
    out->resize(start);
    return "more_contact_ids holds more ids than the run's sequences";
  }
  return "";
}

std::string ExpandRun(const MembershipChange& first, uint64_t last_sequence,
                      std::string_view more_contact_ids,
                      std::vector<MembershipChange>* out) {
  if (last_sequence < first.sequence) {
    return "last_sequence is before first_sequence";
  }
  std::vector<ContactId> ids;
  std::string problem = DecodeMoreContactIds(
      first.contact_id, last_sequence - first.sequence, more_contact_ids, &ids);
  if (!problem.empty()) return problem;
  for (size_t i = 0; i < ids.size(); ++i) {
    MembershipChange& c = out->emplace_back(first);
    c.sequence = first.sequence + i;
    c.contact_id = ids[i];
  }
  return "";
}

}  // namespace segments
