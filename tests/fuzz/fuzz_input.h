// The byte format the structured fuzz targets read their input in, and the
// writer the seed generator (make_seeds.cc) produces it with. Reads never
// fail: past the end every number is 0 and every string empty, so any byte
// string is an input. Numbers are LEB128 varints (signed ones zigzag), as in
// the project's own codecs, so a mutation of one byte changes one value.
#ifndef SEGMENTS_TESTS_FUZZ_FUZZ_INPUT_H_
#define SEGMENTS_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// A failed property: prints where and aborts, so libFuzzer saves the input.
// (assert() is compiled out in the RelWithDebInfo fuzz build.)
#define FUZZ_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                   \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

namespace segments::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return data_.empty(); }

  uint8_t Byte() {
    if (data_.empty()) return 0;
    const auto b = static_cast<uint8_t>(data_.front());
    data_.remove_prefix(1);
    return b;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !data_.empty(); shift += 7) {
      const uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  }
  int64_t Signed() {
    const uint64_t v = Varint();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  // A varint length (cut to what is left), then that many bytes.
  std::string Bytes() {
    uint64_t n = Varint();
    if (n > data_.size()) n = data_.size();
    std::string s(data_.substr(0, static_cast<size_t>(n)));
    data_.remove_prefix(static_cast<size_t>(n));
    return s;
  }
  std::string Rest() {
    std::string s(data_);
    data_ = {};
    return s;
  }

 private:
  std::string_view data_;
};

class FuzzOutput {
 public:
  FuzzOutput& Byte(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  FuzzOutput& Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  FuzzOutput& Signed(int64_t v) {
    return Varint((static_cast<uint64_t>(v) << 1) ^
                  static_cast<uint64_t>(v >> 63));
  }
  FuzzOutput& Bytes(std::string_view s) {
    Varint(s.size());
    out_.append(s);
    return *this;
  }
  FuzzOutput& Rest(std::string_view s) {
    out_.append(s);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

}  // namespace segments::fuzz

#endif  // SEGMENTS_TESTS_FUZZ_FUZZ_INPUT_H_
