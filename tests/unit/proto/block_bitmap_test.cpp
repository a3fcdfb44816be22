// BlockBitmap against a naive std::vector<bool> model, plus golden wire bytes.
#include "dataplane/proto/block_bitmap.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace volley::proto {
namespace {

// The obviously-correct model.
struct Model {
  std::vector<bool> bits;
  explicit Model(std::uint64_t n) : bits(n, false) {}
  [[nodiscard]] std::uint64_t size() const { return bits.size(); }
  [[nodiscard]] std::uint64_t count_range(std::uint64_t first, std::uint64_t n) const {
    std::uint64_t c = 0;
    for (std::uint64_t i = first; i < size() && i - first < n; ++i) c += bits[i] ? 1u : 0u;
    return c;
  }
  [[nodiscard]] std::uint64_t find(std::uint64_t from, bool value) const {
    for (std::uint64_t i = from; i < size(); ++i) {
      if (bits[i] == value) return i;
    }
    return size();
  }
  std::uint64_t merge_wire(std::uint64_t first, std::uint64_t n,
                           const std::vector<std::uint8_t>& wire) {
    std::uint64_t added = 0;
    for (std::uint64_t k = 0; k < n && k < wire.size() * 8 && first + k < size(); ++k) {
      if ((wire[k >> 3] & (1u << (k & 7))) != 0 && !bits[first + k]) {
        bits[first + k] = true;
        ++added;
      }
    }
    return added;
  }
  std::uint64_t write_missing_wire(std::uint64_t first, std::uint64_t n,
                                   std::vector<std::uint8_t>& out) const {
    std::fill(out.begin(), out.end(), std::uint8_t{0});
    std::uint64_t missing = 0;
    for (std::uint64_t k = 0; k < n && k < out.size() * 8 && first + k < size(); ++k) {
      if (!bits[first + k]) {
        out[k >> 3] = static_cast<std::uint8_t>(out[k >> 3] | (1u << (k & 7)));
        ++missing;
      }
    }
    return missing;
  }
};

void expect_same(const BlockBitmap& b, const Model& m) {
  ASSERT_EQ(b.size(), m.size());
  std::uint64_t set = 0;
  for (std::uint64_t i = 0; i < m.size(); ++i) {
    ASSERT_EQ(b.test(i), static_cast<bool>(m.bits[i])) << "bit " << i;
    set += m.bits[i] ? 1u : 0u;
  }
  ASSERT_EQ(b.count(), set);
  ASSERT_EQ(b.all(), set == m.size());
  ASSERT_EQ(b.none(), set == 0);
}

class BlockBitmapSizes : public testing::TestWithParam<std::uint64_t> {};

TEST_P(BlockBitmapSizes, FreshBitmapIsClear) {
  const std::uint64_t n = GetParam();
  BlockBitmap b(n);
  EXPECT_EQ(b.size(), n);
  EXPECT_EQ(b.count(), 0u);
  EXPECT_TRUE(b.none());
  EXPECT_EQ(b.all(), n == 0);
  EXPECT_EQ(b.find_next_set(0), n);
  EXPECT_EQ(b.find_next_clear(0), 0u);
  EXPECT_EQ(b.count_range(0, n), 0u);
}

TEST_P(BlockBitmapSizes, SetAllThenClearAll) {
  const std::uint64_t n = GetParam();
  BlockBitmap b(n);
  b.set_all();
  EXPECT_EQ(b.count(), n);  // padding bits past the end must stay clear
  EXPECT_TRUE(b.all());
  EXPECT_EQ(b.find_next_clear(0), n);
  EXPECT_EQ(b.find_next_set(0), 0u);
  if (n > 0) {
    EXPECT_EQ(b.find_next_set(n - 1), n - 1);
    EXPECT_EQ(b.find_next_clear(n - 1), n);
  }
  EXPECT_EQ(b.count_range(0, n + 100), n);
  b.clear_all();
  EXPECT_EQ(b.count(), 0u);
  EXPECT_EQ(b.find_next_set(0), n);
}

TEST_P(BlockBitmapSizes, LastBitAndOutOfRange) {
  const std::uint64_t n = GetParam();
  BlockBitmap b(n);
  // Out-of-range operations are harmless no-ops.
  b.set(n);
  b.set(n + 64);
  EXPECT_FALSE(b.test_and_set(n));
  EXPECT_FALSE(b.test(n));
  EXPECT_EQ(b.count(), 0u);
  EXPECT_EQ(b.find_next_set(n + 5), n);
  EXPECT_EQ(b.find_next_clear(n + 5), n);
  if (n == 0) return;
  EXPECT_TRUE(b.test_and_set(n - 1));
  EXPECT_FALSE(b.test_and_set(n - 1));
  EXPECT_TRUE(b.test(n - 1));
  EXPECT_EQ(b.find_next_set(0), n - 1);
  EXPECT_EQ(b.count(), 1u);
  EXPECT_EQ(b.count_range(n - 1, 1), 1u);
  b.reset(n - 1);
  EXPECT_FALSE(b.test(n - 1));
  EXPECT_EQ(b.count(), 0u);
}

TEST_P(BlockBitmapSizes, RandomOperationsMatchModel) {
  const std::uint64_t n = GetParam();
  BlockBitmap b(n);
  Model m(n);
  std::mt19937_64 rng(0x5eed0000 + n);
  auto pick = [&](std::uint64_t hi) {  // uniform in [0, hi]
    return std::uniform_int_distribution<std::uint64_t>(0, hi)(rng);
  };
  const int ops = n > 20000 ? 600 : 3000;
  for (int op = 0; op < ops; ++op) {
    SCOPED_TRACE(testing::Message() << "op " << op);
    const std::uint64_t kind = pick(11);
    const std::uint64_t i = pick(n + 2);  // sometimes out of range
    switch (kind) {
      case 0:
      case 1:
        b.set(i);
        if (i < n) m.bits[i] = true;
        break;
      case 2:
        b.reset(i);
        if (i < n) m.bits[i] = false;
        break;
      case 3: {
        const bool was = i < n && m.bits[i];
        ASSERT_EQ(b.test_and_set(i), i < n && !was);
        if (i < n) m.bits[i] = true;
        break;
      }
      case 4:
        ASSERT_EQ(b.find_next_set(i), m.find(i, true));
        ASSERT_EQ(b.find_next_clear(i), m.find(i, false));
        break;
      case 5: {
        const std::uint64_t len = pick(n + 200);
        ASSERT_EQ(b.count_range(i, len), m.count_range(i, len));
        break;
      }
      case 6:
      case 7: {
        // merge_wire with random first, n and a wire buffer that may be shorter or longer.
        const std::uint64_t len = pick(std::min<std::uint64_t>(n + 130, 70000));
        std::vector<std::uint8_t> wire(static_cast<std::size_t>(pick(len / 8 + 3)));
        const std::uint64_t density = pick(3);  // 0: sparse .. 3: dense
        for (auto& byte : wire) {
          std::uint8_t v = static_cast<std::uint8_t>(rng());
          for (std::uint64_t d = 0; d < 3 - density; ++d) v &= static_cast<std::uint8_t>(rng());
          byte = v;
        }
        const std::uint64_t got = b.merge_wire(i, len, wire);
        ASSERT_EQ(got, m.merge_wire(i, len, wire));
        break;
      }
      case 8:
      case 9: {
        const std::uint64_t len = pick(std::min<std::uint64_t>(n + 130, 70000));
        const std::size_t out_len = static_cast<std::size_t>(pick(len / 8 + 3));
        std::vector<std::uint8_t> out(out_len, 0xA5);  // garbage: must be zeroed
        std::vector<std::uint8_t> want(out_len, 0x5A);
        const std::uint64_t got = b.write_missing_wire(i, len, out);
        ASSERT_EQ(got, m.write_missing_wire(i, len, want));
        ASSERT_EQ(out, want);
        break;
      }
      case 10:
        if (pick(40) == 0) {
          b.set_all();
          std::fill(m.bits.begin(), m.bits.end(), true);
        }
        break;
      case 11:
        if (pick(40) == 0) {
          b.clear_all();
          std::fill(m.bits.begin(), m.bits.end(), false);
        }
        break;
      default:
        break;
    }
    if (op % 500 == 0) expect_same(b, m);
  }
  expect_same(b, m);
  // Every find from every position (bounded for the big sizes).
  const std::uint64_t step = n > 20000 ? 7 : 1;
  for (std::uint64_t from = 0; from <= n; from += step) {
    ASSERT_EQ(b.find_next_set(from), m.find(from, true)) << from;
    ASSERT_EQ(b.find_next_clear(from), m.find(from, false)) << from;
  }
}

INSTANTIATE_TEST_SUITE_P(EdgeSizes, BlockBitmapSizes,
                         testing::Values(0, 1, 2, 7, 8, 63, 64, 65, 127, 128, 129, 1000, 10400,
                                         65536 + 3));

// Wire format: bit i of a section = byte i>>3, mask 1<<(i&7); a set bit means missing.
TEST(BlockBitmapWire, GoldenMissingBytesForElevenBlockSection) {
  BlockBitmap held(11);
  held.set_all();
  held.reset(0);
  held.reset(1);
  held.reset(9);
  std::vector<std::uint8_t> out(11 / 8 + 1, 0xFF);
  EXPECT_EQ(held.write_missing_wire(0, 11, out), 3u);
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0x03, 0x02}));
}

TEST(BlockBitmapWire, GoldenMissingBytesAtUnalignedSectionStart) {
  // Two sections of 5201 / 5200 blocks; the second starts at block 5201 (5201 % 64 = 17).
  BlockBitmap held(10401);
  held.set_all();
  held.reset(5201);      // section bit 0
  held.reset(5201 + 1);  // bit 1
  held.reset(5201 + 9);  // bit 9
  held.reset(5201 + 63);
  held.reset(5201 + 64);
  held.reset(10400);  // last block of the file = section bit 5199
  std::vector<std::uint8_t> out(5200 / 8 + 1, 0xEE);
  EXPECT_EQ(held.write_missing_wire(5201, 5200, out), 6u);
  std::vector<std::uint8_t> want(out.size(), 0);
  want[0] = 0x03;
  want[1] = 0x02;
  want[7] = 0x80;    // bit 63
  want[8] = 0x01;    // bit 64
  want[649] = 0x80;  // bit 5199 = byte 649, mask 1<<7
  EXPECT_EQ(out, want);
  // The first section (blocks 0..5200) is complete.
  std::vector<std::uint8_t> first(5201 / 8 + 1, 0xEE);
  EXPECT_EQ(held.write_missing_wire(0, 5201, first), 0u);
  EXPECT_EQ(std::count(first.begin(), first.end(), std::uint8_t{0}),
            static_cast<std::ptrdiff_t>(first.size()));
}

TEST(BlockBitmapWire, MergeGoldenBytesAtOffset) {
  BlockBitmap naks(300);
  const std::vector<std::uint8_t> wire{0x03, 0x02};  // bits 0, 1, 9
  EXPECT_EQ(naks.merge_wire(100, 11, wire), 3u);
  EXPECT_TRUE(naks.test(100));
  EXPECT_TRUE(naks.test(101));
  EXPECT_TRUE(naks.test(109));
  EXPECT_EQ(naks.count(), 3u);
  EXPECT_EQ(naks.merge_wire(100, 11, wire), 0u);  // already set: nothing new
  // Bits past n are ignored even if the wire has them.
  const std::vector<std::uint8_t> ones{0xFF, 0xFF};
  EXPECT_EQ(naks.merge_wire(200, 3, ones), 3u);
  EXPECT_EQ(naks.count_range(200, 16), 3u);
  // Bits past the end of the bitmap are ignored.
  EXPECT_EQ(naks.merge_wire(296, 16, ones), 4u);
  EXPECT_EQ(naks.count(), 10u);
}

TEST(BlockBitmapWire, MissingThenMergeRoundTrips) {
  // A receiver's STATUS merged into a sender's NAK list marks exactly the missing blocks.
  std::mt19937_64 rng(7);
  for (const std::uint64_t first : {0ull, 1ull, 63ull, 64ull, 100ull, 5201ull}) {
    const std::uint64_t n = 5200;
    BlockBitmap held(first + n + 50);
    for (std::uint64_t i = 0; i < held.size(); ++i) {
      if (rng() % 10 != 0) held.set(i);
    }
    std::vector<std::uint8_t> wire(n / 8 + 1);
    const std::uint64_t missing = held.write_missing_wire(first, n, wire);
    BlockBitmap naks(held.size());
    EXPECT_EQ(naks.merge_wire(first, n, wire), missing);
    for (std::uint64_t i = 0; i < held.size(); ++i) {
      const bool in_section = i >= first && i < first + n;
      ASSERT_EQ(naks.test(i), in_section && !held.test(i)) << "first " << first << " bit " << i;
    }
  }
}

TEST(BlockBitmapWire, ShortOutputBufferIsNotOverrun) {
  BlockBitmap held(1000);  // all missing
  std::vector<std::uint8_t> buf(8, 0x11);
  // Only 3 bytes offered: 24 bits written, the rest of the buffer untouched.
  EXPECT_EQ(held.write_missing_wire(5, 100, std::span<std::uint8_t>(buf).first(3)), 24u);
  EXPECT_EQ(buf, (std::vector<std::uint8_t>{0xFF, 0xFF, 0xFF, 0x11, 0x11, 0x11, 0x11, 0x11}));
  // n not a multiple of 8: the last byte is partial, and later bytes are zeroed.
  std::fill(buf.begin(), buf.end(), std::uint8_t{0x11});
  EXPECT_EQ(held.write_missing_wire(5, 11, buf), 11u);
  EXPECT_EQ(buf, (std::vector<std::uint8_t>{0xFF, 0x07, 0, 0, 0, 0, 0, 0}));
}

// One writer sets bits while another thread counts: each word only gains bits, so every count a
// reader sees is non-decreasing and the final count is exact.
TEST(BlockBitmapThreads, ReaderSeesMonotoneCountsWhileWriterSets) {
  constexpr std::uint64_t kBits = 10400;
  BlockBitmap b(kBits);
  std::atomic<bool> done{false};
  std::uint64_t violations = 0;
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const std::uint64_t c = b.count();
      if (c < last) ++violations;
      last = c;
    }
  });
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> order(kBits);
  for (std::uint64_t i = 0; i < kBits; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (const std::uint64_t i : order) b.set(i);
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(violations, 0u);
  EXPECT_EQ(b.count(), kBits);
}

TEST(BlockBitmapMove, MoveTransfersContents) {
  BlockBitmap a(100);
  a.set(42);
  BlockBitmap c(std::move(a));
  EXPECT_EQ(c.size(), 100u);
  EXPECT_TRUE(c.test(42));
  BlockBitmap d;
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.count(), 0u);
  EXPECT_EQ(d.find_next_set(0), 0u);
  d = std::move(c);
  EXPECT_TRUE(d.test(42));
}

}  // namespace
}  // namespace volley::proto
