// INTERNAL to crypto/: include only from crypto/*.cpp. RAII owners for the OpenSSL objects the
// crypto module uses, and the error-queue helper. This is the only header that includes OpenSSL.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

namespace volley::crypto::detail {

template <auto Free>
struct OsslFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<EVP_CIPHER_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OsslFree<EVP_MAC_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OsslFree<BN_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free_all>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM_free>>;
using EncoderCtxPtr = std::unique_ptr<OSSL_ENCODER_CTX, OsslFree<OSSL_ENCODER_CTX_free>>;

// Drain this thread's OpenSSL error queue into one line ("" when empty).
std::string take_openssl_errors();

}  // namespace volley::crypto::detail
