// Per-core nonces: workers sealing under one group key draw IV counters from disjoint slices,
// so no (key, nonce) pair repeats across workers, passes, or control and data packets.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "crypto/aead.hpp"
#include "dataplane/io/mem_file_source.hpp"
#include "dataplane/proto/block_bitmap.hpp"
#include "dataplane/proto/block_sender.hpp"

namespace volley::proto {
namespace {

// An AEAD that records every counter it seals with (the nonce is base IV XOR counter, the base
// being the same for every worker of one sender, so distinct counters mean distinct nonces).
class RecordingAead final : public crypto::Aead {
 public:
  explicit RecordingAead(std::vector<std::uint64_t>& log) : log_(log) {}
  [[nodiscard]] std::size_t tag_len() const noexcept override { return 16; }
  [[nodiscard]] bool seal(std::uint64_t counter, std::span<const std::uint8_t>,
                          std::span<std::uint8_t>, std::span<std::uint8_t> tag) noexcept override {
    log_.push_back(counter);
    std::fill(tag.begin(), tag.end(), 0);
    return true;
  }
  [[nodiscard]] bool open(std::uint64_t, std::span<const std::uint8_t>, std::span<std::uint8_t>,
                          std::span<const std::uint8_t>) noexcept override {
    return false;
  }

 private:
  std::vector<std::uint64_t>& log_;
};

TEST(NonceRanges, WorkersNeverShareACounter) {
  io::MemFileSource src;
  src.add({.name = "f"}, std::vector<std::uint8_t>(300 * 1000, 0x5a));
  const auto layout = *wire::FileLayout::make(300 * 1000, 1000);
  std::vector<std::uint64_t> used[2];
  std::vector<std::uint8_t> buf(9216);
  for (unsigned w = 0; w < 2; ++w) {
    RecordingAead aead(used[w]);
    BlockSender bs({.server_id = 1, .group_id = 2, .aead = &aead, .iv_base = iv_base_for_worker(w)},
                   src);
    // Three passes over the file (the later ones over every other block), with a control packet
    // sealed between them, as the engine's worker does.
    BlockBitmap half(layout.blocks());
    for (std::uint64_t b = 0; b < layout.blocks(); b += 2) half.set(b);
    for (std::uint32_t pass = 1; pass <= 3; ++pass) {
      bs.start({.job_id = pass,
                .file_id = 1,
                .layout = layout,
                .blocks = pass == 1 ? nullptr : &half,
                .pass = pass},
               0);
      while (bs.busy()) ASSERT_GT(bs.poll_transmit(buf, 0, 0), 0u);
      ASSERT_TRUE(bs.poll_completion());
      std::vector<std::uint8_t> ctl(9216);
      wire::Header h;
      h.version = wire::Version::v5;
      auto n = wire::encode_packet(h, wire::Done{.file_id = 1}, ctl);
      ASSERT_TRUE(n);
      ASSERT_TRUE(bs.seal_control(ctl, *n));
    }
    EXPECT_EQ(used[w].size(), 300u + 150u + 150u + 3u);
  }
  std::set<std::uint64_t> all;
  for (unsigned w = 0; w < 2; ++w) {
    for (std::uint64_t c : used[w]) {
      EXPECT_GE(c, iv_base_for_worker(w));
      EXPECT_LT(c, iv_base_for_worker(w + 1));
      EXPECT_TRUE(all.insert(c).second) << "counter " << c << " used twice";
    }
  }
  EXPECT_EQ(all.size(), used[0].size() + used[1].size());
}

}  // namespace
}  // namespace volley::proto
