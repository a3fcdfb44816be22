// The header quantisers. Each function reproduces the floating-point steps stock UFTP 5.0.1
// takes, in the same order, so that the bytes on the wire agree exactly (IEEE double arithmetic
// is deterministic; exp/log come from the same libm). Inputs that UFTP's C code turns into
// undefined behaviour (NaN, negative counts, exponents that do not fit their field) are
// saturated here instead; those cases never occur with UFTP's own limits.
#include "dataplane/wire/quant.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace volley::wire {
namespace {

// RFC 5401 §3.7.4 bounds as UFTP sets them.
constexpr double kRttMin = 1.0e-6;
constexpr double kRttMax = 1000.0;

// Group size: 5-bit mantissa (high bits), 3-bit decimal exponent (low bits).
constexpr int kGsizeMaxExp = 7;
// Rate: 12-bit mantissa (high bits), 4-bit decimal exponent (low bits).
constexpr int kRateMaxExp = 15;

// The C conversion UFTP's callers apply implicitly when they hand a computed double to an
// integer parameter (truncation toward zero), with the undefined cases pinned down:
// NaN and negatives become 0, values past `max` become `max`.
[[nodiscard]] double truncate_count(double v, double max) noexcept {
  if (!(v > 0.0)) return 0.0;  // also catches NaN
  if (v >= max) return max;
  return std::trunc(v);
}

}  // namespace

std::uint8_t quantize_grtt(double rtt_s) noexcept {
  double rtt = rtt_s;
  if (std::isnan(rtt)) rtt = kRttMax;  // unknown: the conservative (largest) timer
  if (rtt > kRttMax) {
    rtt = kRttMax;
  } else if (rtt < kRttMin) {
    rtt = kRttMin;
  }
  if (rtt < 33.0 * kRttMin) {
    // Linear part: q = floor(rtt / RTT_MIN) - 1, in [0, 31] (the quotient is in [1, 33)).
    const int steps = static_cast<int>(rtt / kRttMin);
    return static_cast<std::uint8_t>(steps - 1);
  }
  // Logarithmic part: q = ceil(255 - 13 * ln(RTT_MAX / rtt)), in [32, 255].
  const double q = std::ceil(255.0 - (13.0 * std::log(kRttMax / rtt)));
  return static_cast<std::uint8_t>(static_cast<int>(q));
}

double unquantize_grtt(std::uint8_t q) noexcept {
  if (q <= 31) return static_cast<double>(q + 1) * kRttMin;
  return kRttMax / std::exp(static_cast<double>(255 - q) / 13.0);
}

std::uint8_t quantize_gsize(double size) noexcept {
  // UFTP takes an int; sizes past INT_MAX saturate below anyway.
  double m = truncate_count(size, static_cast<double>(std::numeric_limits<std::int32_t>::max()));
  int e = 0;
  while (m >= 10) {
    m /= 10;
    ++e;
  }
  // Mantissa scaled 0..10 -> 0..32, rounded half up. Rounding can reach 32 (m >= 9.84375);
  // then UFTP moves one more decade into the exponent.
  int mant = static_cast<int>((m * 32.0 / 10.0) + 0.5);
  if ((mant << 3) > 0xFF) {
    m /= 10;
    ++e;
    mant = static_cast<int>((m * 32.0 / 10.0) + 0.5);
  }
  if (e > kGsizeMaxExp) return 0xFF;  // UFTP would corrupt the mantissa; saturate instead
  return static_cast<std::uint8_t>((mant << 3) | e);
}

double unquantize_gsize(std::uint8_t q) noexcept {
  const int e = q & 0x7;
  double v = static_cast<double>(q >> 3) * (10.0 / 32.0);
  for (int i = 0; i < e; ++i) v *= 10;
  // UFTP returns an int rounded half up; keep that value.
  return static_cast<double>(static_cast<int>(v + 0.5));
}

std::uint16_t quantize_rate(double bytes_per_s) noexcept {
  // UFTP takes an int64_t. Anything past ~1e16 B/s saturates below; the clamp only keeps the
  // conversion defined.
  double m = truncate_count(bytes_per_s, 9.0e18);
  int e = 0;
  while (m > 10) {  // note: '>' here, '>=' in quantize_gsize, as in UFTP
    m /= 10;
    ++e;
  }
  // Mantissa scaled 0..10 -> 0..4096, rounded half up; 4096 does not fit in 12 bits, so UFTP
  // moves one more decade into the exponent.
  int mant = static_cast<int>(m * 4096.0 / 10.0 + 0.5);
  if ((mant << 4) > 0xFFFF) {
    m /= 10;
    ++e;
    mant = static_cast<int>(m * 4096.0 / 10.0 + 0.5);
  }
  if (e > kRateMaxExp) return 0xFFFF;  // UFTP would corrupt the mantissa; saturate instead
  return static_cast<std::uint16_t>((mant << 4) | e);
}

double unquantize_rate(std::uint16_t q) noexcept {
  const int e = q & 0xF;
  double v = static_cast<double>(q >> 4) * (10.0 / 4096.0);
  for (int i = 0; i < e; ++i) v *= 10;
  // UFTP returns int64_t (truncated); keep that value.
  return static_cast<double>(static_cast<std::int64_t>(v));
}

}  // namespace volley::wire
