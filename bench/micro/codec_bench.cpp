// Micro-benchmarks for the UFTP message codecs (dataplane/wire/messages.hpp).
//   encode_fileseg/N      FILESEG body with TFMCC info and an N-byte block (1300, 8800)
//   decode_fileseg/N      the fast-path FILESEG decoder on the same bodies
//   decode_status_1301    STATUS with TFMCC ack info and a 1301-byte NAK bitmap (10400 blocks)
//   encode/decode_fileinfo FILEINFO with a 60-byte path and 10 IDs
//   encode/decode_announce ANNOUNCE (IPv4, no encryption) listing 100 client IDs
// Bytes processed count the encoded body; items are messages.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "dataplane/wire/messages.hpp"

namespace {

using namespace volley::wire;

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return v;
}

template <typename M>
std::vector<std::uint8_t> encoded(Version v, const M& m) {
  std::vector<std::uint8_t> out(10000);
  auto n = encode_body(v, m, out);
  if (!n) std::abort();
  out.resize(*n);
  return out;
}

FileSeg make_fileseg(const std::vector<std::uint8_t>& data) {
  return FileSeg{.file_id = 1,
                 .section = 3,
                 .sec_block = 1234,
                 .tfmcc = TfmccDataInfo{0x1234, 7, 0x4321},
                 .data = data};
}

// Reference for the ratio: copying the same payload into a packet buffer, which is the floor
// any FILESEG encoder pays. encode_fileseg / memcpy_reference is the figure to report.
void BM_MemcpyReference(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<std::uint8_t> src(n, 0x5a), dst(n + 64);
  for (auto _ : state) {
    std::memcpy(dst.data() + 24, src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemcpyReference)->Name("memcpy_reference")->Arg(1300)->Arg(8800);

void BM_EncodeFileSeg(benchmark::State& state) {
  const auto data = pattern(static_cast<std::size_t>(state.range(0)));
  const FileSeg m = make_fileseg(data);
  std::vector<std::uint8_t> out(10000);
  for (auto _ : state) {
    auto n = encode_body(Version::v5, m, out);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeFileSeg)->Name("encode_fileseg")->Arg(1300)->Arg(8800);

void BM_DecodeFileSeg(benchmark::State& state) {
  const auto data = pattern(static_cast<std::size_t>(state.range(0)));
  const auto body = encoded(Version::v5, make_fileseg(data));
  for (auto _ : state) {
    benchmark::DoNotOptimize(body.data());
    auto r = decode_fileseg(Version::v5, body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeFileSeg)->Name("decode_fileseg")->Arg(1300)->Arg(8800);

void BM_DecodeStatus(benchmark::State& state) {
  const auto naks = pattern(1301);
  const auto body = encoded(
      Version::v5, StatusMsg{.file_id = 1,
                             .section = 9,
                             .tfmcc = TfmccAckInfo{kCcRtt, 3, 0x4321, 0x01020304, 1600000000000000},
                             .naks = naks});
  for (auto _ : state) {
    benchmark::DoNotOptimize(body.data());
    auto r = decode_body(Version::v5, MsgType::status, body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeStatus)->Name("decode_status_1301");

FileInfo make_fileinfo(const std::vector<std::uint32_t>& ids) {
  FileInfo m;
  m.file_id = 42;
  m.ftype = FileType::regular;
  m.size = 123456789012;
  m.mtime_s = 1600000000;
  m.timestamp_us = 1600000000123456;
  m.name = "projects/volley/data/2024/run-0042/segment-000017.bin.partial";
  m.ids = IdList::from_native(ids);
  return m;
}

// Encodes `m` repeatedly; bytes are counted per encoded body.
template <typename M>
void run_encode(benchmark::State& state, const M& m) {
  std::vector<std::uint8_t> out(2048);
  std::size_t len = 0;
  for (auto _ : state) {
    auto n = encode_body(Version::v5, m, out);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
    len = *n;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(len));
  state.SetItemsProcessed(state.iterations());
}

void BM_EncodeFileInfo(benchmark::State& state) {
  const std::vector<std::uint32_t> ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const FileInfo m = make_fileinfo(ids);
  run_encode(state, m);
}
BENCHMARK(BM_EncodeFileInfo)->Name("encode_fileinfo");

void BM_DecodeFileInfo(benchmark::State& state) {
  const std::vector<std::uint32_t> ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const auto body = encoded(Version::v5, make_fileinfo(ids));
  for (auto _ : state) {
    benchmark::DoNotOptimize(body.data());
    auto r = decode_body(Version::v5, MsgType::fileinfo, body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeFileInfo)->Name("decode_fileinfo");

Announce make_announce(const std::vector<std::uint32_t>& ids) {
  Announce m;
  m.flags = kAnnounceSync;
  m.cc_type = CcType::tfmcc;
  m.timestamp_us = 1600000000123456;
  m.pub_addr.bytes = {230, 1, 2, 3};
  m.priv_addr.bytes = {230, 4, 5, 6};
  m.ids = IdList::from_native(ids);
  return m;
}
std::vector<std::uint32_t> hundred_ids() {
  std::vector<std::uint32_t> ids(100);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 0x0a000000u + static_cast<std::uint32_t>(i);
  return ids;
}

void BM_EncodeAnnounce(benchmark::State& state) {
  const auto ids = hundred_ids();
  const Announce m = make_announce(ids);
  run_encode(state, m);
}
BENCHMARK(BM_EncodeAnnounce)->Name("encode_announce_100_ids");

void BM_DecodeAnnounce(benchmark::State& state) {
  const auto ids = hundred_ids();
  const auto body = encoded(Version::v5, make_announce(ids));
  std::uint32_t sum = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(body.data());
    auto r = decode_body(Version::v5, MsgType::announce, body);
    // Touch every ID, as a receiver looking for its own ID would.
    const auto& a = std::get<Announce>(*r);
    for (std::size_t i = 0; i < a.ids.size(); ++i) sum += a.ids[i];
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeAnnounce)->Name("decode_announce_100_ids");

}  // namespace
