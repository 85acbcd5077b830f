#include "core/model/filter_codec.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace segments {
namespace {

// Format, version 1 (all integers are base-128 varints, signed ones
// zigzag-encoded):
//   'F' 0x01                          magic and version
//   match                             Filter.match wire number
//   n, then n conditions:
//     len, field name bytes
//     operator wire number
//     m, then m values, each a kind byte and its payload:
//       0 none | 1 string: len, bytes | 2 number: zigzag | 3 timestamp: zigzag
// Version 2 (nested groups and references; a flat filter is still written
// as version 1, so filters of before keep their bytes):
//   'F' 0x02, then a group:
//     match, n, then n conditions, each a shape byte and its payload:
//       0 field rule: as in version 1 | 1 reference: operator, segment id |
//       2 group: a group, recursively
// Only the caller's values (Condition.original) are stored: decoding runs
// them through ValidateFilter again, which rebuilds the normalized members
// and refuses anything a bug or a disk error may have produced.
constexpr char kMagic = 'F';
constexpr uint8_t kVersion = 1;
constexpr uint8_t kVersionNested = 2;
enum ShapeTag : uint8_t {
  kShapeField = 0,
  kShapeReference = 1,
  kShapeGroup = 2
};
// Deeper than any limit allows; bounds the decoder's recursion on corrupt
// bytes.
constexpr int kMaxDecodeDepth = 32;

enum ValueTag : uint8_t {
  kTagNone = 0,
  kTagString = 1,
  kTagNumber = 2,
  kTagTimestamp = 3
};

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s.data(), s.size());
}

// Bounds-checked reads; each returns false at the end of the input.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size(); }

  bool Byte(uint8_t* b) {
    if (data_.empty()) return false;
    *b = static_cast<uint8_t>(data_.front());
    data_.remove_prefix(1);
    return true;
  }

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      // The tenth byte may only carry the top bit.
      if (shift == 63 && b > 1) return false;
      result |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool Int(int* v) {
    uint64_t u;
    if (!Varint(&u) ||
        u > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
      return false;
    }
    *v = static_cast<int>(u);
    return true;
  }

  bool String(std::string* s) {
    uint64_t len;
    if (!Varint(&len) || len > data_.size()) return false;
    s->assign(data_.data(), static_cast<size_t>(len));
    data_.remove_prefix(static_cast<size_t>(len));
    return true;
  }

  // A count of items, each at least one byte long: more than the bytes left
  // is corrupt.
  bool Count(size_t* n) {
    uint64_t v;
    if (!Varint(&v) || v > data_.size()) return false;
    *n = static_cast<size_t>(v);
    return true;
  }

 private:
  std::string_view data_;
};

bool ReadValue(Reader* r, RawValue* value) {
  uint8_t tag;
  if (!r->Byte(&tag)) return false;
  uint64_t u;
  switch (tag) {
    case kTagNone:
      *value = NoValue{};
      return true;
    case kTagString: {
      std::string s;
      if (!r->String(&s)) return false;
      *value = std::move(s);
      return true;
    }
    case kTagNumber:
      if (!r->Varint(&u)) return false;
      *value = UnZigZag(u);
      return true;
    case kTagTimestamp:
      if (!r->Varint(&u)) return false;
      *value = TimestampValue{UnZigZag(u)};
      return true;
    default:
      return false;
  }
}

bool ReadFieldRule(Reader* r, ConditionSpec* c) {
  size_t m;
  if (!r->String(&c->field) || !r->Int(&c->op) || !r->Count(&m)) return false;
  for (size_t j = 0; j < m; ++j) {
    if (!ReadValue(r, &c->values.emplace_back())) return false;
  }
  return true;
}

// A group of version 2 (`nested`) or the whole of version 1.
bool ReadGroup(Reader* r, bool nested, int depth, FilterSpec* spec) {
  if (depth > kMaxDecodeDepth) return false;
  size_t n;
  if (!r->Int(&spec->match) || !r->Count(&n)) return false;
  // Grown item by item (not resized up front), so memory stays proportional
  // to what was actually read.
  for (size_t i = 0; i < n; ++i) {
    ConditionSpec& c = spec->conditions.emplace_back();
    uint8_t shape = kShapeField;
    if (nested && !r->Byte(&shape)) return false;
    uint64_t id;
    switch (shape) {
      case kShapeField:
        if (!ReadFieldRule(r, &c)) return false;
        break;
      case kShapeReference:
        if (!r->Int(&c.op) || !r->Varint(&id)) return false;
        c.segment_id = id;
        break;
      case kShapeGroup:
        if (!ReadGroup(r, nested, depth + 1, &c.group.emplace())) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool ReadSpec(std::string_view bytes, FilterSpec* spec) {
  Reader r(bytes);
  uint8_t magic, version;
  if (!r.Byte(&magic) || magic != static_cast<uint8_t>(kMagic)) return false;
  if (!r.Byte(&version) || (version != kVersion && version != kVersionNested))
    return false;
  if (!ReadGroup(&r, version == kVersionNested, 1, spec)) return false;
  return r.remaining() == 0;
}

void PutValues(const std::vector<RawValue>& values, std::string* out) {
  PutVarint(values.size(), out);
  for (const RawValue& v : values) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      out->push_back(static_cast<char>(kTagString));
      PutString(*s, out);
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      out->push_back(static_cast<char>(kTagNumber));
      PutVarint(ZigZag(*n), out);
    } else if (const auto* t = std::get_if<TimestampValue>(&v)) {
      out->push_back(static_cast<char>(kTagTimestamp));
      PutVarint(ZigZag(t->seconds), out);
    } else {
      out->push_back(static_cast<char>(kTagNone));
    }
  }
}

void PutFieldRule(const Condition& c, std::string* out) {
  PutString(GetFieldInfo(c.field).name, out);
  PutVarint(static_cast<uint64_t>(c.op), out);
  PutValues(c.original, out);
}

bool IsFlat(const Filter& filter) {
  for (const Condition& c : filter.conditions) {
    if (!c.is_field_rule()) return false;
  }
  return true;
}

void PutGroup(const Filter& filter, std::string* out) {
  PutVarint(static_cast<uint64_t>(filter.match), out);
  PutVarint(filter.conditions.size(), out);
  for (const Condition& c : filter.conditions) {
    if (c.is_group()) {
      out->push_back(static_cast<char>(kShapeGroup));
      PutGroup(*c.group, out);
    } else if (c.is_reference()) {
      out->push_back(static_cast<char>(kShapeReference));
      PutVarint(static_cast<uint64_t>(c.op), out);
      PutVarint(c.segment_id, out);
    } else {
      out->push_back(static_cast<char>(kShapeField));
      PutFieldRule(c, out);
    }
  }
}

}  // namespace

std::string EncodeFilter(const Filter& filter) {
  std::string out;
  out.push_back(kMagic);
  if (!IsFlat(filter)) {
    out.push_back(static_cast<char>(kVersionNested));
    PutGroup(filter, &out);
    return out;
  }
  out.push_back(static_cast<char>(kVersion));
  PutVarint(static_cast<uint64_t>(filter.match), &out);
  PutVarint(filter.conditions.size(), &out);
  for (const Condition& c : filter.conditions) PutFieldRule(c, &out);
  return out;
}

absl::StatusOr<Filter> DecodeFilter(std::string_view bytes) {
  FilterSpec spec;
  if (!ReadSpec(bytes, &spec)) {
    return absl::DataLossError("stored filter is not a valid encoding");
  }
  // No size limits here: the filter was accepted under the limits in force
  // when it was written, and a lowered limit must not lose it.
  Limits unlimited;
  unlimited.max_conditions = std::numeric_limits<size_t>::max();
  unlimited.max_list_values = std::numeric_limits<size_t>::max();
  unlimited.max_group_depth = kMaxDecodeDepth;
  absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter", unlimited);
  if (!filter.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored filter is invalid: ", filter.status().message()));
  }
  return filter;
}

}  // namespace segments
