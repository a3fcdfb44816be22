// SpscRing: single-threaded semantics (full/empty, wraparound, bursts) and a two-thread stress.
#include "dataplane/engine/spsc_ring.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace volley::engine {
namespace {

struct Item {
  std::uint64_t seq;
  std::uint32_t a;
  std::uint16_t b;
};

static_assert(SpscRing<int, 8>::capacity() == 8);
static_assert(alignof(SpscRing<int, 8>) >= 64);

TEST(SpscRingTest, StartsEmpty) {
  SpscRing<int, 4> r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size(), 0u);
  int v = -1;
  EXPECT_FALSE(r.pop(v));
  EXPECT_EQ(v, -1);
  std::array<int, 3> out{};
  EXPECT_EQ(r.pop_burst(out), 0u);
}

TEST(SpscRingTest, FillsToCapacityThenRefuses) {
  SpscRing<int, 8> r;
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(r.push(i)) << i;
  EXPECT_EQ(r.size(), 8u);
  EXPECT_FALSE(r.push(99));
  const std::array<int, 2> more{1, 2};
  EXPECT_EQ(r.push_burst(more), 0u);
  int v = -1;
  EXPECT_TRUE(r.pop(v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(r.push(8));  // one slot freed
  EXPECT_FALSE(r.push(9));
  for (int want = 1; want <= 8; ++want) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, want);
  }
  EXPECT_FALSE(r.pop(v));
  EXPECT_TRUE(r.empty());
}

TEST(SpscRingTest, WrapsAroundManyTimesInOrder) {
  SpscRing<Item, 8> r;
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  // Push 3, pop 2 ... then drain; the indices wrap the 8-slot array many times.
  for (int round = 0; round < 1000; ++round) {
    for (int k = 0; k < 3; ++k) {
      if (r.push(Item{next_in, static_cast<std::uint32_t>(next_in * 3), 7})) ++next_in;
    }
    for (int k = 0; k < 2; ++k) {
      Item it{};
      if (r.pop(it)) {
        ASSERT_EQ(it.seq, next_out);
        ASSERT_EQ(it.a, static_cast<std::uint32_t>(next_out * 3));
        ++next_out;
      }
    }
    ASSERT_EQ(r.size(), next_in - next_out);
    ASSERT_LE(r.size(), 8u);
  }
  Item it{};
  while (r.pop(it)) ASSERT_EQ(it.seq, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_GT(next_in, 1000u);
}

TEST(SpscRingTest, BurstsArePartialWhenShortOfRoomOrItems) {
  SpscRing<int, 8> r;
  std::vector<int> in(20);
  std::iota(in.begin(), in.end(), 100);
  EXPECT_EQ(r.push_burst(std::span<const int>(in).first(5)), 5u);
  EXPECT_EQ(r.push_burst(std::span<const int>(in).subspan(5)), 3u);  // only 3 slots left
  EXPECT_EQ(r.size(), 8u);
  std::array<int, 3> small{};
  EXPECT_EQ(r.pop_burst(small), 3u);
  EXPECT_EQ(small, (std::array<int, 3>{100, 101, 102}));
  std::array<int, 16> big{};
  EXPECT_EQ(r.pop_burst(big), 5u);  // only 5 queued
  for (int k = 0; k < 5; ++k) EXPECT_EQ(big[static_cast<std::size_t>(k)], 103 + k);
  EXPECT_EQ(r.push_burst(std::span<const int>{}), 0u);
  EXPECT_EQ(r.pop_burst(std::span<int>{}), 0u);
}

TEST(SpscRingTest, BurstsSplitAcrossTheWrapPoint) {
  SpscRing<std::uint32_t, 16> r;
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  // Varying burst sizes put the wrap point at every offset inside the bursts.
  for (std::uint32_t round = 0; round < 2000; ++round) {
    std::array<std::uint32_t, 11> buf{};
    const std::size_t want_in = 1 + round % 11;
    for (std::size_t k = 0; k < want_in; ++k) buf[k] = next_in + static_cast<std::uint32_t>(k);
    const std::size_t pushed = r.push_burst(std::span<const std::uint32_t>(buf).first(want_in));
    next_in += static_cast<std::uint32_t>(pushed);
    const std::size_t want_out = 1 + (round * 7) % 11;
    std::array<std::uint32_t, 11> out{};
    const std::size_t popped = r.pop_burst(std::span<std::uint32_t>(out).first(want_out));
    for (std::size_t k = 0; k < popped; ++k) ASSERT_EQ(out[k], next_out++);
    ASSERT_EQ(r.size(), next_in - next_out);
  }
  EXPECT_GT(next_out, 4000u);
}

// Two threads, 2 million items through a small ring: every item arrives once, in order.
TEST(SpscRingTest, TwoThreadStressKeepsOrderAndSum) {
  constexpr std::uint64_t kItems = 2'000'000;
  auto ring = std::make_unique<SpscRing<Item, 1024>>();
  std::uint64_t sum_out = 0;
  std::uint64_t errors = 0;
  std::uint64_t received = 0;
  std::thread consumer([&] {
    std::array<Item, 32> buf{};
    std::uint64_t expect = 0;
    bool single = false;
    while (expect < kItems) {
      std::size_t n = 0;
      if (single) {  // alternate the single-item and burst paths
        n = ring->pop(buf[0]) ? 1 : 0;
      } else {
        n = ring->pop_burst(buf);
      }
      single = !single;
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      for (std::size_t k = 0; k < n; ++k) {
        const Item& it = buf[k];
        if (it.seq != expect || it.a != static_cast<std::uint32_t>(it.seq * 2654435761u) ||
            it.b != static_cast<std::uint16_t>(it.seq)) {
          ++errors;
        }
        sum_out += it.seq;
        ++expect;
      }
    }
    received = expect;
  });
  std::array<Item, 17> buf{};
  std::uint64_t next = 0;
  std::uint64_t round = 0;
  while (next < kItems) {
    std::size_t pushed = 0;
    if (round++ % 3 == 0) {
      const Item it{next, static_cast<std::uint32_t>(next * 2654435761u),
                    static_cast<std::uint16_t>(next)};
      pushed = ring->push(it) ? 1 : 0;
    } else {
      const std::size_t want = std::min<std::uint64_t>(buf.size(), kItems - next);
      for (std::size_t k = 0; k < want; ++k) {
        const std::uint64_t s = next + k;
        buf[k] =
            Item{s, static_cast<std::uint32_t>(s * 2654435761u), static_cast<std::uint16_t>(s)};
      }
      pushed = ring->push_burst(std::span<const Item>(buf).first(want));
    }
    if (pushed == 0) std::this_thread::yield();
    next += pushed;
  }
  consumer.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(received, kItems);
  EXPECT_EQ(sum_out, kItems * (kItems - 1) / 2);
  EXPECT_TRUE(ring->empty());
}

}  // namespace
}  // namespace volley::engine
