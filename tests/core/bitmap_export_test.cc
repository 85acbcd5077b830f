// The export's bytes read by a reader written here from the portable
// format's specification (github.com/RoaringBitmap/RoaringFormatSpec), not
// by CRoaring: cookies with and without run containers, the offset header,
// array, bitset and run containers. Python's pyroaring would be a third
// reader, but Debian 12 does not package it. Then the chunks a stream cuts
// the bytes into.
#include "core/analytics/bitmap_export.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "roaring/roaring.hh"

namespace segments::analytics {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// A reader of the portable format, from the specification alone. Returns
// nullopt on any inconsistency, including bytes left over.
class SpecReader {
 public:
  explicit SpecReader(const std::string& bytes) : bytes_(bytes) {}

  std::optional<std::vector<uint32_t>> Read() {
    constexpr uint32_t kNoRuns = 12346;
    constexpr uint32_t kRuns = 12347;
    if (bytes_.empty()) return std::vector<uint32_t>{};
    uint32_t cookie;
    if (!U32(&cookie)) return std::nullopt;
    uint32_t count;
    std::vector<uint8_t> run_flags;
    bool has_runs;
    if ((cookie & 0xFFFF) == kRuns) {
      has_runs = true;
      count = (cookie >> 16) + 1;
      run_flags.resize((count + 7) / 8);
      for (uint8_t& b : run_flags) {
        if (!U8(&b)) return std::nullopt;
      }
    } else if (cookie == kNoRuns) {
      has_runs = false;
      if (!U32(&count)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    std::vector<uint16_t> keys(count), cards(count);
    for (uint32_t i = 0; i < count; ++i) {
      if (!U16(&keys[i]) || !U16(&cards[i])) return std::nullopt;
    }
    // Offsets: always without runs, with runs only from 4 containers on.
    if (!has_runs || count >= 4) pos_ += 4 * size_t{count};
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t high = uint32_t{keys[i]} << 16;
      const uint32_t card = uint32_t{cards[i]} + 1;
      const bool run = has_runs && (run_flags[i / 8] >> (i % 8)) & 1;
      if (run) {
        uint16_t runs;
        if (!U16(&runs)) return std::nullopt;
        for (uint16_t r = 0; r < runs; ++r) {
          uint16_t start, length;
          if (!U16(&start) || !U16(&length)) return std::nullopt;
          for (uint32_t v = start; v <= uint32_t{start} + length; ++v) {
            out.push_back(high | v);
          }
        }
      } else if (card <= 4096) {
        for (uint32_t k = 0; k < card; ++k) {
          uint16_t low;
          if (!U16(&low)) return std::nullopt;
          out.push_back(high | low);
        }
      } else {
        for (uint32_t w = 0; w < 1024; ++w) {
          uint64_t word;
          if (!U64(&word)) return std::nullopt;
          for (uint32_t b = 0; b < 64; ++b) {
            if ((word >> b) & 1) out.push_back(high | (w * 64 + b));
          }
        }
      }
    }
    if (pos_ != bytes_.size()) return std::nullopt;
    return out;
  }

 private:
  // Little-endian, as the specification says.
  bool Bytes(void* out, size_t n) {
    if (pos_ + n > bytes_.size()) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= uint64_t{static_cast<uint8_t>(bytes_[pos_ + i])} << (8 * i);
    }
    std::memcpy(out, &v, n);  // the host is little-endian too (x86, arm)
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) { return Bytes(v, 1); }
  bool U16(uint16_t* v) { return Bytes(v, 2); }
  bool U32(uint32_t* v) { return Bytes(v, 4); }
  bool U64(uint64_t* v) { return Bytes(v, 8); }

  const std::string& bytes_;
  size_t pos_ = 0;
};

std::vector<uint32_t> IdsOf(const Roaring& r) {
  std::vector<uint32_t> ids(r.cardinality());
  r.toUint32Array(ids.data());
  return ids;
}

void ExpectSpecReaderAgrees(const Roaring& r) {
  const BitmapExport e = ExportBitmap(r, 42);
  EXPECT_EQ(e.as_of_sequence, 42);
  EXPECT_EQ(e.member_count, r.cardinality());
  const std::optional<std::vector<uint32_t>> read = SpecReader(e.bytes).Read();
  ASSERT_TRUE(read.has_value());
  EXPECT_THAT(*read, ElementsAreArray(IdsOf(r)));
}

TEST(BitmapExport, ArraysBitsetsAndRunsReadByTheSpecification) {
  Roaring sparse;  // array containers in several chunks of 2^16
  for (uint32_t i = 0; i < 5000; ++i) sparse.add(i * 97 + 1);
  ExpectSpecReaderAgrees(sparse);

  Roaring dense;  // bitset containers
  for (uint32_t i = 1; i < 300000; i += 3) dense.add(i);
  ExpectSpecReaderAgrees(dense);

  Roaring runs;  // run containers once optimized, with few and many chunks
  runs.addRange(1, 1000001);
  runs.runOptimize();
  ExpectSpecReaderAgrees(runs);
  Roaring few_runs;
  few_runs.addRange(10, 500);
  few_runs.add(70000);
  few_runs.runOptimize();
  ExpectSpecReaderAgrees(few_runs);

  Roaring mixed = sparse | dense | runs;
  mixed.add(4'000'000'000u);
  mixed.runOptimize();
  ExpectSpecReaderAgrees(mixed);
  ExpectSpecReaderAgrees(Roaring());
}

TEST(BitmapExport, ChunksCoverTheBytesInOrder) {
  const std::string bytes = "abcdefghij";
  EXPECT_THAT(Chunks(bytes, 4), ElementsAre("abcd", "efgh", "ij"));
  EXPECT_THAT(Chunks(bytes, 5), ElementsAre("abcde", "fghij"));
  EXPECT_THAT(Chunks(bytes, 100), ElementsAre("abcdefghij"));
  EXPECT_THAT(Chunks("", 4), ElementsAre(""));
}

}  // namespace
}  // namespace segments::analytics
