// FileLayout (block/section arithmetic) and the header quantisers.
// Expected values are worked out by hand from the formulas in the reference (§3.2, §3.4, §3.5),
// not taken from the implementation under test.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/wire/blocks.hpp"
#include "dataplane/wire/quant.hpp"

namespace volley::wire {
namespace {

// ---------------------------------------------------------------------------------------------
// FileLayout
// ---------------------------------------------------------------------------------------------

FileLayout must_make(std::uint64_t size, std::uint32_t blocksize) {
  auto r = FileLayout::make(size, blocksize);
  EXPECT_TRUE(r.ok()) << "size " << size << " blocksize " << blocksize;
  return r.ok() ? *r : FileLayout{};
}

struct LayoutCase {
  std::uint64_t size;
  std::uint32_t blocksize;
  std::uint64_t blocks;
  std::uint32_t maxsec;
  std::uint32_t sections;
  std::uint32_t first_section_blocks;  // blocks in section 0
  std::uint32_t last_section_blocks;   // blocks in the last section
};

TEST(FileLayoutTest, TableOfLayouts) {
  const std::uint64_t mb13 = 10400ull * 1300;  // exactly one full section at 1300
  const LayoutCase cases[] = {
      // size, blocksize, blocks, maxsec, sections, first, last
      {0, 1300, 0, 10400, 0, 0, 0},
      {1, 1300, 1, 10400, 1, 1, 1},
      {1299, 1300, 1, 10400, 1, 1, 1},
      {1300, 1300, 1, 10400, 1, 1, 1},
      {1301, 1300, 2, 10400, 1, 2, 2},
      {mb13 - 1, 1300, 10400, 10400, 1, 10400, 10400},
      {mb13, 1300, 10400, 10400, 1, 10400, 10400},
      {mb13 + 1, 1300, 10401, 10400, 2, 5201, 5200},
      {2 * mb13, 1300, 20800, 10400, 2, 10400, 10400},
      {2 * mb13 + 1300, 1300, 20801, 10400, 3, 6934, 6933},  // 20801 = 3*6933 + 2
      {31205ull * 1300, 1300, 31205, 10400, 4, 7802, 7801},  // 31205 = 4*7801 + 1
      {1, 512, 1, 4096, 1, 1, 1},
      {4097ull * 512, 512, 4097, 4096, 2, 2049, 2048},
      {65536ull * 8192, 8192, 65536, 65536, 1, 65536, 65536},  // 8*8192 == 65536
      {65537ull * 8192, 8192, 65537, 65536, 2, 32769, 32768},
      {65536ull * 8800, 8800, 65536, 65536, 1, 65536, 65536},  // 8*8800 = 70400, capped
      {65537ull * 8800 - 1, 8800, 65537, 65536, 2, 32769, 32768},
      {100, 1, 100, 8, 13, 8, 7},  // 100 = 13*7 + 9: nine sections of 8, four of 7
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "size=" << c.size << " blocksize=" << c.blocksize);
    const FileLayout l = must_make(c.size, c.blocksize);
    EXPECT_EQ(l.size(), c.size);
    EXPECT_EQ(l.blocksize(), c.blocksize);
    EXPECT_EQ(l.blocks(), c.blocks);
    EXPECT_EQ(l.max_section_blocks(), c.maxsec);
    EXPECT_EQ(l.sections(), c.sections);
    EXPECT_EQ(l.section_blocks(0), c.first_section_blocks);
    if (c.sections > 0) {
      EXPECT_EQ(l.section_blocks(c.sections - 1), c.last_section_blocks);
    }
    EXPECT_EQ(l.section_blocks(c.sections), 0u);  // one past the end
  }
}

TEST(FileLayoutTest, MaxSectionBlocksIsEightTimesBlocksizeCappedAt65536) {
  EXPECT_EQ(must_make(1, 512).max_section_blocks(), 4096u);
  EXPECT_EQ(must_make(1, 1300).max_section_blocks(), 10400u);
  EXPECT_EQ(must_make(1, 8191).max_section_blocks(), 65528u);
  EXPECT_EQ(must_make(1, 8192).max_section_blocks(), 65536u);
  EXPECT_EQ(must_make(1, 8193).max_section_blocks(), 65536u);
  EXPECT_EQ(must_make(1, 8800).max_section_blocks(), 65536u);
  EXPECT_EQ(must_make(1, 65535).max_section_blocks(), 65536u);
}

TEST(FileLayoutTest, SpreadsBlocksEvenlyBigSectionsFirst) {
  // 3 sections at 1300 hold 20801 blocks: 6934, 6934, 6933 (two big sections).
  const FileLayout l = must_make(20801ull * 1300, 1300);
  ASSERT_EQ(l.sections(), 3u);
  EXPECT_EQ(l.section_blocks(0), 6934u);
  EXPECT_EQ(l.section_blocks(1), 6934u);
  EXPECT_EQ(l.section_blocks(2), 6933u);
  EXPECT_EQ(l.section_first_block(0), 0u);
  EXPECT_EQ(l.section_first_block(1), 6934u);
  EXPECT_EQ(l.section_first_block(2), 13868u);
}

TEST(FileLayoutTest, EmptyFile) {
  const FileLayout l = must_make(0, 1300);
  EXPECT_EQ(l.blocks(), 0u);
  EXPECT_EQ(l.sections(), 0u);
  EXPECT_EQ(l.section_blocks(0), 0u);
  EXPECT_EQ(l.block_len(0), 0u);
  EXPECT_FALSE(l.block_index(0, 0).ok());
  // No block exists; locate must not divide by zero and must name no valid section.
  EXPECT_GE(l.locate(0).section, l.sections());
}

TEST(FileLayoutTest, OneByteFile) {
  const FileLayout l = must_make(1, 1300);
  EXPECT_EQ(l.blocks(), 1u);
  EXPECT_EQ(l.sections(), 1u);
  EXPECT_EQ(l.block_len(0), 1u);
  EXPECT_EQ(l.block_len(1), 0u);
  EXPECT_EQ(l.locate(0), (BlockPos{0, 0}));
  ASSERT_TRUE(l.block_index(0, 0).ok());
  EXPECT_EQ(*l.block_index(0, 0), 0u);
  EXPECT_FALSE(l.block_index(0, 1).ok());
  EXPECT_EQ(l.nak_bitmap_len(0), 1u);
}

TEST(FileLayoutTest, ShortLastBlock) {
  const FileLayout l = must_make(2 * 1300 + 17, 1300);
  ASSERT_EQ(l.blocks(), 3u);
  EXPECT_EQ(l.block_len(0), 1300u);
  EXPECT_EQ(l.block_len(1), 1300u);
  EXPECT_EQ(l.block_len(2), 17u);
  EXPECT_EQ(l.block_len(3), 0u);
  EXPECT_EQ(l.block_offset(2), 2600u);
  // A file that ends on a block boundary has a full last block.
  const FileLayout full = must_make(3 * 1300, 1300);
  EXPECT_EQ(full.block_len(2), 1300u);
}

TEST(FileLayoutTest, RejectsBadBlocksize) {
  EXPECT_EQ(FileLayout::make(100, 0).error(), Errc::bad_value);
  EXPECT_EQ(FileLayout::make(100, 65536).error(), Errc::bad_value);
  EXPECT_TRUE(FileLayout::make(100, 65535).ok());
}

TEST(FileLayoutTest, RejectsMoreThan65535Sections) {
  // 65535 full sections at 1300 (about 886 GB) is the largest file that fits the u16 field.
  const std::uint64_t max_ok = 65535ull * 10400 * 1300;
  auto ok = FileLayout::make(max_ok, 1300);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->sections(), 65535u);
  EXPECT_EQ(ok->section_blocks(65534), 10400u);
  EXPECT_EQ(FileLayout::make(max_ok + 1, 1300).error(), Errc::bad_value);
  // Sizes near 2^64 must not wrap into a small (accepted) layout.
  EXPECT_EQ(FileLayout::make(std::numeric_limits<std::uint64_t>::max(), 1300).error(),
            Errc::bad_value);
  EXPECT_EQ(FileLayout::make(std::numeric_limits<std::uint64_t>::max(), 1).error(),
            Errc::bad_value);
  EXPECT_EQ(FileLayout::make(std::numeric_limits<std::uint64_t>::max() - 5, 2).error(),
            Errc::bad_value);
}

TEST(FileLayoutTest, NakBitmapLenIsBlocksOver8Plus1) {
  // As UFTP sends it: blocks_in_section/8 + 1, even when the count is a multiple of 8.
  EXPECT_EQ(must_make(7, 1).nak_bitmap_len(0), 1u);  // 7 blocks
  EXPECT_EQ(must_make(8, 1).nak_bitmap_len(0), 2u);  // 8 blocks
  EXPECT_EQ(must_make(8, 1).nak_bitmap_len(1), 1u);  // no such section: 0/8 + 1
  const FileLayout full = must_make(10400ull * 1300, 1300);
  EXPECT_EQ(full.nak_bitmap_len(0), 1301u);
  const FileLayout two = must_make(10401ull * 1300, 1300);
  EXPECT_EQ(two.nak_bitmap_len(0), 651u);  // 5201/8 + 1
  EXPECT_EQ(two.nak_bitmap_len(1), 651u);  // 5200/8 + 1
  const FileLayout big = must_make(65536ull * 8800, 8800);
  EXPECT_EQ(big.nak_bitmap_len(0), 8193u);
}

// UFTP's receiver formulation (client_fileinfo.c / client_transfer.c), written independently of
// FileLayout: secsize_big = small + (blocks % sections ? 1 : 0), and block number of
// (section, sec_block) = big_sections*big + (section-big_sections)*small + sec_block for
// section >= big_sections, else section*big + sec_block.
struct UftpModel {
  std::uint64_t blocks, sections, small, big, big_sections;
  UftpModel(std::uint64_t size, std::uint64_t blocksize) {
    const std::uint64_t maxsec = blocksize * 8 > 65536 ? 65536 : blocksize * 8;
    blocks = size / blocksize + (size % blocksize ? 1 : 0);
    sections = blocks / maxsec + (blocks % maxsec ? 1 : 0);
    small = sections ? blocks / sections : 0;
    big = sections ? small + (blocks % sections ? 1 : 0) : 0;
    big_sections = blocks - small * sections;
  }
  [[nodiscard]] std::uint64_t seq(std::uint64_t section, std::uint64_t sec_block) const {
    if (section >= big_sections) {
      return big_sections * big + (section - big_sections) * small + sec_block;
    }
    return section * big + sec_block;
  }
  [[nodiscard]] std::uint64_t blocks_this_sec(std::uint64_t section) const {
    return section >= big_sections ? small : big;
  }
};

TEST(FileLayoutTest, LocateAndBlockIndexRoundTripOverEveryBlock) {
  const std::pair<std::uint64_t, std::uint32_t> layouts[] = {
      {10401ull * 1300, 1300},          // 2 sections, one big
      {20801ull * 1300 - 5, 1300},      // 3 sections, short last block
      {31205ull * 1300, 1300},          // 4 sections, one big
      {4096ull * 3 * 512 + 1, 512},     // 4 sections, 12289 blocks
      {100, 1},                         // 13 tiny sections
      {65536ull * 8800 * 2 + 9, 8800},  // 3 sections of up to 65536
      {10400ull * 1300 * 5, 1300},      // 5 full sections, no big ones
  };
  for (const auto& [size, bs] : layouts) {
    SCOPED_TRACE(testing::Message() << "size=" << size << " blocksize=" << bs);
    const FileLayout l = must_make(size, bs);
    const UftpModel m(size, bs);
    ASSERT_EQ(l.blocks(), m.blocks);
    ASSERT_EQ(l.sections(), m.sections);
    std::uint64_t block = 0;
    std::uint64_t total = 0;
    for (std::uint32_t s = 0; s < l.sections(); ++s) {
      const std::uint32_t n = l.section_blocks(s);
      ASSERT_EQ(n, m.blocks_this_sec(s)) << "section " << s;
      ASSERT_LE(n, l.max_section_blocks());
      ASSERT_LE(l.section_blocks(0) - n, 1u);  // sizes differ by at most one
      ASSERT_EQ(l.section_first_block(s), block);
      total += n;
      for (std::uint32_t k = 0; k < n; ++k, ++block) {
        const BlockPos pos = l.locate(block);
        ASSERT_EQ(pos, (BlockPos{s, k})) << "block " << block;
        const auto idx = l.block_index(s, k);
        ASSERT_TRUE(idx.ok());
        ASSERT_EQ(*idx, block);
        ASSERT_EQ(*idx, m.seq(s, k));
      }
      EXPECT_FALSE(l.block_index(s, n).ok());
    }
    EXPECT_EQ(total, l.blocks());
    EXPECT_FALSE(l.block_index(l.sections(), 0).ok());
    // One past the last block locates to no valid section.
    EXPECT_GE(l.locate(l.blocks()).section, l.sections());
    // Bytes add up: every block full except possibly the last.
    const std::uint64_t last = l.blocks() - 1;
    EXPECT_EQ(l.block_offset(last) + l.block_len(last), size);
  }
}

TEST(FileLayoutTest, LocateNearTheLimit) {
  const std::uint64_t size = 65535ull * 10400 * 1300 - 1;  // last block short by one byte
  const FileLayout l = must_make(size, 1300);
  ASSERT_EQ(l.sections(), 65535u);
  const std::uint64_t last = l.blocks() - 1;
  EXPECT_EQ(l.locate(last), (BlockPos{65534, 10399}));
  EXPECT_EQ(l.block_len(last), 1299u);
  ASSERT_TRUE(l.block_index(65534, 10399).ok());
  EXPECT_EQ(*l.block_index(65534, 10399), last);
  EXPECT_EQ(l.block_offset(last), last * 1300);
}

// ---------------------------------------------------------------------------------------------
// GRTT: RFC 5401 §3.7.4, RTT_MIN = 1e-6 s, RTT_MAX = 1000 s.
//   q <= 31: rtt = (q+1) * 1e-6;  else rtt = 1000 / exp((255-q)/13).
//   rtt < 33e-6: q = floor(rtt/1e-6) - 1;  else q = ceil(255 - 13*ln(1000/rtt)).
// ---------------------------------------------------------------------------------------------

TEST(GrttQuantTest, KnownValues) {
  // 1 ms: 255 - 13*ln(1e6) = 255 - 179.60 = 75.40 -> 76.
  EXPECT_EQ(quantize_grtt(1e-3), 76);
  // 0.5 s (UFTP's default GRTT): 255 - 13*ln(2000) = 255 - 98.81 = 156.19 -> 157.
  EXPECT_EQ(quantize_grtt(0.5), 157);
  // 1 s: 255 - 13*ln(1000) = 255 - 89.80 = 165.20 -> 166.
  EXPECT_EQ(quantize_grtt(1.0), 166);
  // 10 ms: 255 - 13*ln(1e5) = 255 - 149.67 = 105.33 -> 106.
  EXPECT_EQ(quantize_grtt(0.01), 106);
  EXPECT_EQ(quantize_grtt(1000.0), 255);
  // Linear part.
  EXPECT_EQ(quantize_grtt(1e-6), 0);
  EXPECT_EQ(quantize_grtt(5e-6), 4);
  EXPECT_EQ(quantize_grtt(5.5e-6), 4);
  EXPECT_EQ(quantize_grtt(32e-6), 31);
  // 33 us: 255 - 13*ln(1000/33e-6) = 255 - 223.95 = 31.05 -> 32 (first logarithmic code).
  EXPECT_EQ(quantize_grtt(33e-6), 32);
}

TEST(GrttQuantTest, ClampsOutOfRange) {
  EXPECT_EQ(quantize_grtt(0.0), 0);
  EXPECT_EQ(quantize_grtt(-1.0), 0);
  EXPECT_EQ(quantize_grtt(1e-9), 0);
  EXPECT_EQ(quantize_grtt(1e6), 255);
  EXPECT_EQ(quantize_grtt(std::numeric_limits<double>::infinity()), 255);
  EXPECT_EQ(quantize_grtt(std::numeric_limits<double>::quiet_NaN()), 255);
}

TEST(GrttQuantTest, UnquantizeBoundaries) {
  EXPECT_DOUBLE_EQ(unquantize_grtt(0), 1e-6);
  EXPECT_DOUBLE_EQ(unquantize_grtt(1), 2e-6);
  EXPECT_DOUBLE_EQ(unquantize_grtt(31), 32e-6);
  // q = 32: 1000 / exp(223/13) = 1000 / 2.8172e7 = 35.496e-6.
  EXPECT_NEAR(unquantize_grtt(32), 35.496e-6, 0.001e-6);
  // q = 157: 1000 / exp(98/13) = 0.53222 s.
  EXPECT_NEAR(unquantize_grtt(157), 0.53222, 0.00001);
  EXPECT_DOUBLE_EQ(unquantize_grtt(255), 1000.0);
  // q = 254: 1000 / exp(1/13) = 925.96 s.
  EXPECT_NEAR(unquantize_grtt(254), 925.96, 0.01);
}

TEST(GrttQuantTest, UnquantizeIsStrictlyIncreasingAndCodesRoundTrip) {
  for (int q = 0; q < 255; ++q) {
    const auto a = static_cast<std::uint8_t>(q);
    const auto b = static_cast<std::uint8_t>(q + 1);
    EXPECT_LT(unquantize_grtt(a), unquantize_grtt(b)) << q;
  }
  // The linear part returns exact code boundaries, so every code round-trips there.
  for (int q = 0; q <= 31; ++q) {
    const auto c = static_cast<std::uint8_t>(q);
    EXPECT_EQ(quantize_grtt(unquantize_grtt(c)), c) << q;
  }
  // In the log part ceil() can land one code high on a boundary; never further.
  for (int q = 32; q <= 255; ++q) {
    const auto c = static_cast<std::uint8_t>(q);
    const int back = quantize_grtt(unquantize_grtt(c));
    EXPECT_GE(back, q) << q;
    EXPECT_LE(back, q + 1) << q;
  }
}

TEST(GrttQuantTest, MonotoneAndWithinQuantisationError) {
  int prev = -1;
  for (double lg = -6.0; lg <= 3.0; lg += 0.001) {
    const double rtt = std::pow(10.0, lg);
    const std::uint8_t q = quantize_grtt(rtt);
    EXPECT_GE(q, prev) << rtt;
    prev = q;
    const double back = unquantize_grtt(q);
    if (rtt < 33e-6) {
      // floor: back <= rtt < back + 1us
      EXPECT_LE(back, rtt * (1 + 1e-12)) << rtt;
      EXPECT_GT(back + 1e-6, rtt) << rtt;
    } else {
      // ceil in the log domain: rtt <= back < rtt * exp(1/13)
      EXPECT_GE(back, rtt * (1 - 1e-12)) << rtt;
      EXPECT_LT(back, rtt * std::exp(1.0 / 13.0) * (1 + 1e-12)) << rtt;
    }
  }
  EXPECT_EQ(prev, 255);
}

// ---------------------------------------------------------------------------------------------
// Group size: mantissa m in [0,10) scaled to round(m*3.2) in the high 5 bits, decimal exponent
// in the low 3 bits; decoded value rounded to an integer.
// ---------------------------------------------------------------------------------------------

TEST(GsizeQuantTest, KnownValues) {
  EXPECT_EQ(quantize_gsize(0), 0x00);
  EXPECT_EQ(quantize_gsize(1), 0x18);   // round(3.2) = 3 -> 3<<3 | 0
  EXPECT_EQ(quantize_gsize(2), 0x30);   // round(6.4) = 6
  EXPECT_EQ(quantize_gsize(9), 0xE8);   // round(28.8) = 29
  EXPECT_EQ(quantize_gsize(10), 0x19);  // 1.0e1: 3<<3 | 1
  EXPECT_EQ(quantize_gsize(50), 0x81);  // 5.0e1: 16<<3 | 1
  // 99 = 9.9e1: round(31.68) = 32 does not fit 5 bits -> 0.99e2: round(3.168) = 3 -> 3<<3 | 2.
  EXPECT_EQ(quantize_gsize(99), 0x1A);
  EXPECT_EQ(quantize_gsize(100), 0x1A);
  EXPECT_EQ(quantize_gsize(1000), 0x1B);
  EXPECT_EQ(quantize_gsize(100000), 0x1D);            // UFTP's MAXDEST
  EXPECT_EQ(quantize_gsize(2.9), quantize_gsize(2));  // integer input, as in UFTP
}

TEST(GsizeQuantTest, UnquantizeBoundaries) {
  EXPECT_EQ(unquantize_gsize(0x00), 0.0);
  EXPECT_EQ(unquantize_gsize(0x18), 1.0);         // 0.9375 -> 1
  EXPECT_EQ(unquantize_gsize(0x19), 9.0);         // 9.375 -> 9
  EXPECT_EQ(unquantize_gsize(0x81), 50.0);        // 16*0.3125*10
  EXPECT_EQ(unquantize_gsize(0x1D), 93750.0);     // 3*0.3125*1e5
  EXPECT_EQ(unquantize_gsize(0xF8), 10.0);        // 31*0.3125 = 9.6875 -> 10
  EXPECT_EQ(unquantize_gsize(0xFF), 96875000.0);  // largest code
  EXPECT_EQ(unquantize_gsize(0x07), 0.0);         // zero mantissa, any exponent
}

TEST(GsizeQuantTest, SaturatesPastTheExponentField) {
  EXPECT_EQ(quantize_gsize(98437499), 0xFF);  // 9.84e7: rounds to 31<<3 | 7
  EXPECT_EQ(quantize_gsize(98437500), 0xFF);  // would need exponent 8
  EXPECT_EQ(quantize_gsize(1e12), 0xFF);
  EXPECT_EQ(quantize_gsize(-5), 0x00);
  EXPECT_EQ(quantize_gsize(std::numeric_limits<double>::quiet_NaN()), 0x00);
}

TEST(GsizeQuantTest, TopOfDecadeRoundsDownToNextDecade) {
  // 5 bits cannot hold 1.0 (= 3.2): sizes whose mantissa rounds to 32 (m >= 9.84375) are
  // re-encoded as 0.98.. x 10^(e+1) -> mantissa 3 -> 0.9375 x 10^(e+1). Decoded, that is below
  // the decoding of slightly smaller sizes (mantissa 31 = 9.6875). This dip is UFTP's.
  EXPECT_EQ(quantize_gsize(984), 0xF8 | 2);  // 9.84e2 -> round(31.49) = 31
  EXPECT_EQ(unquantize_gsize(0xF8 | 2), 969.0);
  EXPECT_EQ(quantize_gsize(985), 0x18 | 3);      // 9.85e2 -> round(31.52) = 32 -> 3<<3 | 3
  EXPECT_EQ(unquantize_gsize(0x18 | 3), 938.0);  // 937.5 rounded half up
}

TEST(GsizeQuantTest, MonotoneExceptTopOfDecadeAndRoundTripWithinError) {
  double prev = -1;
  for (int s = 0; s <= 2'000'000; s += (s < 2000 ? 1 : 97)) {
    const std::uint8_t q = quantize_gsize(s);
    const double back = unquantize_gsize(q);
    if ((q >> 3) == 3 && (q & 7) > 0 && back < prev) {
      // The documented dip: only right where a decade rolls over.
      const double decade = std::pow(10.0, q & 7);
      EXPECT_GE(s, 0.984375 * decade) << s;
      EXPECT_LT(s, decade) << s;
    } else {
      EXPECT_GE(back, prev) << s;
    }
    prev = back;
    // Half a mantissa step is 0.5/3.2 = 15.6% of the decade; plus 0.5 for integer rounding.
    if (s > 0) {
      EXPECT_NEAR(back, s, s * 0.16 + 0.5) << s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rate (RFC 5740): mantissa m in [0,10] scaled to round(m*409.6) in the high 12 bits, decimal
// exponent in the low 4 bits; decoded value truncated to whole bytes per second.
// ---------------------------------------------------------------------------------------------

TEST(RateQuantTest, KnownValues) {
  EXPECT_EQ(quantize_rate(0), 0x0000);
  EXPECT_EQ(quantize_rate(1), 0x19A0);  // round(409.6) = 410 = 0x19A
  // 10 is not > 10, so m = 10 -> 4096 does not fit 12 bits -> 1.0e1: 410<<4 | 1.
  EXPECT_EQ(quantize_rate(10), 0x19A1);
  EXPECT_EQ(quantize_rate(11), 0x1C31);  // 1.1e1: round(450.56) = 451 = 0x1C3
  EXPECT_EQ(quantize_rate(1000), 0x19A3);
  // 100 Mbit/s = 12.5e6 B/s = 1.25e7: 1.25*409.6 = 512 exactly -> 0x200<<4 | 7.
  EXPECT_EQ(quantize_rate(12.5e6), 0x2007);
  // UFTP's default -R 1000 "Kbps" = 128000 B/s = 1.28e5: round(524.29) = 524 = 0x20C.
  EXPECT_EQ(quantize_rate(128000), 0x20C5);
  EXPECT_EQ(quantize_rate(1.25e9), 0x2009);                   // 10 Gbit/s
  EXPECT_EQ(quantize_rate(128000.9), quantize_rate(128000));  // integer input, as in UFTP
}

TEST(RateQuantTest, UnquantizeBoundaries) {
  EXPECT_EQ(unquantize_rate(0x0000), 0.0);
  EXPECT_EQ(unquantize_rate(0x19A0), 1.0);                 // 410*10/4096 = 1.00098 -> 1
  EXPECT_EQ(unquantize_rate(0x2007), 12.5e6);              // exact
  EXPECT_EQ(unquantize_rate(0x20C5), 127929.0);            // 524*10/4096*1e5 = 127929.69 -> 127929
  EXPECT_EQ(unquantize_rate(0x0010), 0.0);                 // 1*10/4096 = 0.0024 -> 0
  EXPECT_EQ(unquantize_rate(0x001F), 2441406250000.0);     // 1/409.6 * 1e15
  EXPECT_EQ(unquantize_rate(0xFFF0), 9.0);                 // 4095/409.6 = 9.9976 -> 9
  EXPECT_EQ(unquantize_rate(0xFFFF), 9997558593750000.0);  // 4095/409.6 * 1e15
}

TEST(RateQuantTest, Saturates) {
  EXPECT_EQ(quantize_rate(-1), 0x0000);
  EXPECT_EQ(quantize_rate(std::numeric_limits<double>::quiet_NaN()), 0x0000);
  EXPECT_EQ(quantize_rate(1e17), 0xFFFF);
  EXPECT_EQ(quantize_rate(std::numeric_limits<double>::infinity()), 0xFFFF);
}

TEST(RateQuantTest, MonotoneAndRoundTripWithinError) {
  double prev = -1;
  for (double lg = 0; lg <= 13.0; lg += 0.0005) {
    const double rate = std::floor(std::pow(10.0, lg));
    const double back = unquantize_rate(quantize_rate(rate));
    EXPECT_GE(back, prev) << rate;
    prev = back;
    // Half a mantissa step is 0.5/409.6 = 0.122% of the decade (at most 0.123% of the value
    // for m >= 1), plus 1 B/s for the truncation on decode.
    EXPECT_NEAR(back, rate, rate * 0.00123 + 1.0) << rate;
  }
}

}  // namespace
}  // namespace volley::wire
