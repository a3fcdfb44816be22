// Byte-span vocabulary shared by the crypto headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/wire/byte_io.hpp"

namespace volley::crypto {

using Bytes = wire::Bytes;        // read-only input
using MutBytes = wire::MutBytes;  // output / in-place buffer

// The bytes of a text label ("UFTP5 ", "UFTP 5, KEYINFO"), without a terminating NUL.
[[nodiscard]] inline Bytes text_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Overwrite secret material in a way the compiler may not elide.
void secure_zero(MutBytes b) noexcept;

}  // namespace volley::crypto
