// Cryptographic randomness (OpenSSL's DRBG, seeded from the kernel). The sans-I/O sessions take
// a RandomSource so the simulator and tests can supply their own.
#pragma once

#include "crypto/bytes.hpp"

namespace volley::crypto {

using RandomSource = void (*)(MutBytes out);
// Fills `out`; aborts the process if the DRBG fails (nothing sensible can continue without it).
void random_bytes(MutBytes out) noexcept;

}  // namespace volley::crypto
