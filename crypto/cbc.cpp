#include "crypto/cbc.hpp"

#include <openssl/evp.h>

#include "crypto/detail/openssl_raii.hpp"

namespace volley::crypto {
namespace {

Result<std::vector<std::uint8_t>> run(Bytes key, const CbcIv& iv, Bytes in, bool encrypt) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_cbc()
                             : key.size() == 32 ? EVP_aes_256_cbc()
                                                : nullptr;
  if (cipher == nullptr) return Errc::bad_length;
  if (!encrypt && (in.empty() || in.size() % 16 != 0)) return Errc::bad_value;
  detail::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) != 1) {
    return Errc::bad_value;
  }
  std::vector<std::uint8_t> out(in.size() + 16);
  int n1 = 0, n2 = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &n1, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + n1, &n2) != 1) {
    secure_zero(out);
    return Errc::bad_value;  // on decrypt: bad padding, i.e. the wrong key
  }
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> cbc_encrypt(Bytes key, const CbcIv& iv, Bytes plain) {
  return run(key, iv, plain, true);
}

Result<std::vector<std::uint8_t>> cbc_decrypt(Bytes key, const CbcIv& iv, Bytes cipher) {
  return run(key, iv, cipher, false);
}

}  // namespace volley::crypto
