// Micro-benchmarks for the packet AEAD (crypto/openssl_aead.hpp) against raw OpenSSL.
//   volley_gcm_seal/<key bits>/<bytes>  AesGcm::seal in place, 28-byte AAD (UFTP + ENCRYPTED
//                                       headers), counter incremented per packet
//   volley_gcm_open/<key bits>/<bytes>  AesGcm::open of a sealed packet (copied back in first)
//   raw_evp_gcm_seal/open/...           the reference: the best a caller of OpenSSL's EVP API can
//                                       do — cipher and key installed once, then per packet only
//                                       set the IV, AAD update, data update, final, get/set tag
//   volley_ccm_seal/<key bits>/<bytes>  AesCcm::seal, for comparison with GCM
// The ratio to report is volley_* / raw_evp_* at the same key size and payload. Both open
// variants pay the same memcpy of the ciphertext back into the work buffer. Bytes processed
// count the payload only. This file includes OpenSSL directly only for the raw reference loop.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "crypto/openssl_aead.hpp"

namespace {

using namespace volley::crypto;

constexpr std::size_t kAadLen = 28;

std::vector<std::uint8_t> filled(std::size_t n, unsigned mul) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * mul + 1);
  return v;
}

void set_rates(benchmark::State& state, std::size_t payload) {
  const auto bytes =
      static_cast<std::int64_t>(payload) * static_cast<std::int64_t>(state.iterations());
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
  state.counters["bits/s"] =
      benchmark::Counter(static_cast<double>(bytes) * 8.0, benchmark::Counter::kIsRate);
}

std::unique_ptr<Aead> volley_aead(KeyType t) {
  const std::size_t kl = key_len(t);
  auto r = make_aead(t, filled(kl, 13), Nonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  if (!r) std::abort();
  return std::move(r).value();
}

KeyType gcm_type(std::int64_t bits) {
  return bits == 128 ? KeyType::aes128_gcm : KeyType::aes256_gcm;
}

void BM_VolleySeal(benchmark::State& state, bool ccm) {
  const auto bits = state.range(0);
  const auto n = static_cast<std::size_t>(state.range(1));
  auto aead =
      volley_aead(ccm ? (bits == 128 ? KeyType::aes128_ccm : KeyType::aes256_ccm) : gcm_type(bits));
  std::vector<std::uint8_t> aad = filled(kAadLen, 3), data = filled(n, 31);
  std::array<std::uint8_t, 16> tag{};
  std::uint64_t ctr = 0;
  for (auto _ : state) {
    if (!aead->seal(ctr++, aad, data, tag)) std::abort();
    benchmark::DoNotOptimize(tag.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, n);
}

void BM_VolleyOpen(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(1));
  auto aead = volley_aead(gcm_type(state.range(0)));
  std::vector<std::uint8_t> aad = filled(kAadLen, 3), sealed = filled(n, 31), work(n);
  std::array<std::uint8_t, 16> tag{};
  if (!aead->seal(7, aad, sealed, tag)) std::abort();
  for (auto _ : state) {
    std::memcpy(work.data(), sealed.data(), n);
    if (!aead->open(7, aad, work, tag)) std::abort();
    benchmark::DoNotOptimize(work.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, n);
}

// ---- the raw OpenSSL reference ----

struct RawGcm {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  RawGcm(std::int64_t bits, bool encrypt) {
    const std::vector<std::uint8_t> key = filled(bits == 128 ? 16 : 32, 13);
    const EVP_CIPHER* c = bits == 128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    const int enc = encrypt ? 1 : 0;
    if (ctx == nullptr || EVP_CipherInit_ex(ctx, c, nullptr, nullptr, nullptr, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
        EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nullptr, enc) != 1)
      std::abort();
  }
  ~RawGcm() { EVP_CIPHER_CTX_free(ctx); }
  RawGcm(const RawGcm&) = delete;
  RawGcm& operator=(const RawGcm&) = delete;
};

// One packet through a prepared encryption context: the reference's per-packet work.
bool raw_seal(EVP_CIPHER_CTX* ctx, const std::uint8_t* iv, const std::vector<std::uint8_t>& aad,
              std::vector<std::uint8_t>& data, std::array<std::uint8_t, 16>& tag) {
  std::uint8_t scratch[16];
  int len = 0;
  return EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1 &&
         EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_EncryptUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) ==
             1 &&
         EVP_EncryptFinal_ex(ctx, scratch, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1;
}

void BM_RawSeal(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(1));
  RawGcm g(state.range(0), true);
  std::vector<std::uint8_t> aad = filled(kAadLen, 3), data = filled(n, 31);
  std::array<std::uint8_t, 16> tag{};
  std::array<std::uint8_t, 12> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::uint64_t ctr = 0;
  for (auto _ : state) {
    std::memcpy(iv.data() + 4, &ctr, 8);  // a fresh IV per packet, as the real thing needs
    ++ctr;
    if (!raw_seal(g.ctx, iv.data(), aad, data, tag)) std::abort();
    benchmark::DoNotOptimize(tag.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, n);
}

void BM_RawOpen(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(1));
  RawGcm enc(state.range(0), true), dec(state.range(0), false);
  std::vector<std::uint8_t> aad = filled(kAadLen, 3), sealed = filled(n, 31), work(n);
  std::array<std::uint8_t, 16> tag{};
  const std::array<std::uint8_t, 12> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::uint8_t scratch[16];
  if (!raw_seal(enc.ctx, iv.data(), aad, sealed, tag)) std::abort();
  int len = 0;
  for (auto _ : state) {
    std::memcpy(work.data(), sealed.data(), n);
    if (EVP_DecryptInit_ex(dec.ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
        EVP_DecryptUpdate(dec.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
        EVP_DecryptUpdate(dec.ctx, work.data(), &len, work.data(), static_cast<int>(n)) != 1 ||
        EVP_CIPHER_CTX_ctrl(dec.ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag.data()) != 1 ||
        EVP_DecryptFinal_ex(dec.ctx, scratch, &len) != 1)
      std::abort();
    benchmark::DoNotOptimize(work.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, n);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"key", "bytes"});
  for (std::int64_t bits : {128, 256})
    for (std::int64_t n : {1300, 8800}) b->Args({bits, n});
}

}  // namespace

BENCHMARK_CAPTURE(BM_VolleySeal, gcm, false)->Name("volley_gcm_seal")->Apply(sizes);
BENCHMARK(BM_RawSeal)->Name("raw_evp_gcm_seal")->Apply(sizes);
BENCHMARK(BM_VolleyOpen)->Name("volley_gcm_open")->Apply(sizes);
BENCHMARK(BM_RawOpen)->Name("raw_evp_gcm_open")->Apply(sizes);
BENCHMARK_CAPTURE(BM_VolleySeal, ccm, true)->Name("volley_ccm_seal")->Apply(sizes);
