#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <cstdlib>

namespace volley::crypto {

void random_bytes(MutBytes out) noexcept {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

}  // namespace volley::crypto
