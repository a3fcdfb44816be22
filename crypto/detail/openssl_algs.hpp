// INTERNAL to crypto/: include only from crypto/*.cpp. Maps UFTP algorithm codes to OpenSSL.
#pragma once

#include <openssl/evp.h>

#include "crypto/hash.hpp"

namespace volley::crypto::detail {

// Process-wide fetched digest for a hash type (nullptr for none/unknown). Never freed.
[[nodiscard]] const EVP_MD* evp_md(HashType t) noexcept;
// OpenSSL's name for the digest ("SHA256"), or nullptr.
[[nodiscard]] const char* md_name(HashType t) noexcept;

}  // namespace volley::crypto::detail
