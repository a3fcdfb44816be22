// Micro-benchmarks for the per-section NAK bitmap paths and the SPSC ring.
//   merge_wire         sender ORs one STATUS bitmap (10400-block section) into its NAK list
//   write_missing_wire receiver builds one STATUS bitmap for a 10400-block section
//   find_next_set      sender's repair pass scans a 1M-block NAK list with 1% of bits set
//   spsc burst         push_burst + pop_burst of 32 items, one thread (no contention)
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/engine/spsc_ring.hpp"
#include "dataplane/proto/block_bitmap.hpp"

namespace {

using volley::proto::BlockBitmap;

constexpr std::uint64_t kSectionBlocks = 10400;  // a full section at blocksize 1300

std::vector<std::uint8_t> random_wire(std::uint64_t nbits, std::uint32_t loss_per_mille,
                                      std::uint64_t seed) {
  std::vector<std::uint8_t> wire(static_cast<std::size_t>(nbits / 8 + 1), 0);
  std::mt19937_64 rng(seed);
  for (std::uint64_t i = 0; i < nbits; ++i) {
    if (rng() % 1000 < loss_per_mille) {
      wire[static_cast<std::size_t>(i >> 3)] |= static_cast<std::uint8_t>(1u << (i & 7));
    }
  }
  return wire;
}

// Arg(0): section starts on a word boundary; otherwise at an unaligned block (first = 10401,
// the second section of a 2-section layout, 10401 % 64 = 33).
void BM_MergeWire(benchmark::State& state) {
  const std::uint64_t first = state.range(0) == 0 ? 0 : 10401;
  BlockBitmap naks(first + kSectionBlocks);
  const auto wire = random_wire(kSectionBlocks, 50, 1);
  for (auto _ : state) {
    naks.clear_all();
    benchmark::DoNotOptimize(naks.merge_wire(first, kSectionBlocks, wire));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSectionBlocks));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  state.SetLabel(first == 0 ? "aligned" : "unaligned");
}
BENCHMARK(BM_MergeWire)->Arg(0)->Arg(1);

void BM_WriteMissingWire(benchmark::State& state) {
  const std::uint64_t first = state.range(0) == 0 ? 0 : 10401;
  BlockBitmap held(first + kSectionBlocks);
  held.set_all();
  std::mt19937_64 rng(2);
  for (std::uint64_t i = 0; i < held.size(); ++i) {
    if (rng() % 1000 < 50) held.reset(i);
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(kSectionBlocks / 8 + 1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(held.write_missing_wire(first, kSectionBlocks, out));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSectionBlocks));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.SetLabel(first == 0 ? "aligned" : "unaligned");
}
BENCHMARK(BM_WriteMissingWire)->Arg(0)->Arg(1);

// Visit every set bit of a 1M-block bitmap with 1% set (the repair pass's skip loop).
void BM_FindNextSetScan(benchmark::State& state) {
  constexpr std::uint64_t kBlocks = 1 << 20;
  BlockBitmap naks(kBlocks);
  std::mt19937_64 rng(3);
  for (std::uint64_t i = 0; i < kBlocks; ++i) {
    if (rng() % 100 == 0) naks.set(i);
  }
  std::uint64_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (std::uint64_t i = naks.find_next_set(0); i < kBlocks; i = naks.find_next_set(i + 1)) {
      ++found;
    }
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBlocks));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlocks / 8));
  state.counters["set_bits"] = static_cast<double>(found);
}
BENCHMARK(BM_FindNextSetScan);

struct Job {
  std::uint64_t a;
  std::uint64_t b;
  std::uint32_t c;
  std::uint32_t d;
};

void BM_SpscBurst32(benchmark::State& state) {
  auto ring = std::make_unique<volley::engine::SpscRing<Job, 1024>>();
  std::array<Job, 32> in{};
  std::array<Job, 32> out{};
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = Job{k, k * 3, 1, 2};
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring->push_burst(in));
    benchmark::DoNotOptimize(ring->pop_burst(out));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sizeof(in)));
}
BENCHMARK(BM_SpscBurst32);

}  // namespace
