// The three quantisers stock UFTP puts on the wire; they must match it bit for bit.
// - GRTT (header byte 13): RFC 5401 §3.7.4 with RTT_MIN = 1 µs and RTT_MAX = 1000 s.
// - Group size (header byte 14): 5-bit mantissa / 3-bit decimal exponent.
// - Rates (EXT_TFMCC_DATA_INFO, CONG_CTRL, TFMCC_ACK_INFO): RFC 5740, 12-bit mantissa /
//   4-bit decimal exponent, in bytes per second.
#pragma once

#include <cstdint>

namespace volley::wire {

[[nodiscard]] std::uint8_t quantize_grtt(double rtt_s) noexcept;
[[nodiscard]] double unquantize_grtt(std::uint8_t q) noexcept;

[[nodiscard]] std::uint8_t quantize_gsize(double size) noexcept;
[[nodiscard]] double unquantize_gsize(std::uint8_t q) noexcept;

[[nodiscard]] std::uint16_t quantize_rate(double bytes_per_s) noexcept;
[[nodiscard]] double unquantize_rate(std::uint16_t q) noexcept;

}  // namespace volley::wire
