#include "crypto/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "crypto/detail/openssl_algs.hpp"
#include "crypto/detail/openssl_raii.hpp"

namespace volley::crypto {
namespace {

using detail::BioPtr;
using detail::BnPtr;
using detail::EcdsaSigPtr;
using detail::MdCtxPtr;
using detail::PkeyCtxPtr;
using detail::PkeyRef;

constexpr std::size_t kMaxPemFile = 64 * 1024;

// Store `msg` (and OpenSSL's queued reasons, which are always drained) into *why.
void fail_note(std::string* why, std::string_view msg) {
  std::string ossl = detail::take_openssl_errors();
  if (why == nullptr) return;
  *why = msg;
  if (!ossl.empty()) *why += " (" + ossl + ")";
}

// The curve of an EC EVP_PKEY, if it is one of ours.
std::optional<Curve> pkey_curve(const EVP_PKEY* k) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
    return std::nullopt;
  return curve_from_name(std::string_view(name, len));
}

BnPtr get_bn(const EVP_PKEY* k, const char* param) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) return nullptr;
  return BnPtr(bn);
}

std::size_t bn_bytes(const BIGNUM* bn) noexcept {
  return static_cast<std::size_t>(BN_num_bytes(bn));
}

// UFTP blob for an EVP_PKEY of a kind/curve already checked.
Result<std::vector<std::uint8_t>> encode_blob(const EVP_PKEY* k, KeyKind kind,
                                              std::optional<Curve> curve) {
  std::vector<std::uint8_t> out;
  if (kind == KeyKind::rsa) {
    BnPtr n = get_bn(k, OSSL_PKEY_PARAM_RSA_N);
    BnPtr e = get_bn(k, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e || bn_bytes(e.get()) > 4 || bn_bytes(n.get()) > 0xffff) return Errc::bad_value;
    const std::size_t modlen = bn_bytes(n.get());
    out.resize(8 + modlen);
    out[0] = static_cast<std::uint8_t>(KeyKind::rsa);
    out[1] = 0;
    wire::store_be16(&out[2], static_cast<std::uint16_t>(modlen));
    if (BN_bn2binpad(e.get(), &out[4], 4) != 4) return Errc::bad_value;
    if (BN_bn2bin(n.get(), &out[8]) != static_cast<int>(modlen)) return Errc::bad_value;
    return out;
  }
  if (!curve) return Errc::bad_value;
  const std::size_t fl = curve_field_len(*curve);
  BnPtr x = get_bn(k, OSSL_PKEY_PARAM_EC_PUB_X);
  BnPtr y = get_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!x || !y) return Errc::bad_value;
  out.resize(4 + 2 * fl);
  out[0] = static_cast<std::uint8_t>(KeyKind::ec);
  out[1] = static_cast<std::uint8_t>(*curve);
  wire::store_be16(&out[2], static_cast<std::uint16_t>(2 * fl));
  const int ifl = static_cast<int>(fl);
  if (BN_bn2binpad(x.get(), &out[4], ifl) != ifl || BN_bn2binpad(y.get(), &out[4 + fl], ifl) != ifl)
    return Errc::bad_value;
  return out;
}

PkeyRef rsa_from_parts(Bytes modulus, std::uint32_t exponent) {
  BnPtr n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  BnPtr e(BN_new());
  if (!n || !e || BN_set_word(e.get(), exponent) != 1) return {};
  detail::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
    return {};
  detail::ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* k = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return {};
  return PkeyRef(k);
}

PkeyRef ec_from_point(Curve c, Bytes xy) {
  std::array<std::uint8_t, 1 + 2 * 66> point{};
  point[0] = 0x04;  // uncompressed
  std::memcpy(&point[1], xy.data(), xy.size());
  const std::string_view name = curve_name(c);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name.data()),
                                       name.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), 1 + xy.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* k = nullptr;
  // fromdata decodes the point with EC_POINT_oct2point, which rejects points off the curve.
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return {};
  PkeyRef ref(k);
  // And a full public-key check (on the curve, not the point at infinity, right order).
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return {};
  return ref;
}

// ---- ECDSA signature layout ----

// DER ECDSA-Sig-Value -> u16 rlen, u16 slen, r, s with r and s left-padded to the field size.
Result<std::vector<std::uint8_t>> ecdsa_der_to_uftp(Bytes der, std::size_t fl) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return Errc::bad_value;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::vector<std::uint8_t> out(4 + 2 * fl);
  wire::store_be16(&out[0], static_cast<std::uint16_t>(fl));
  wire::store_be16(&out[2], static_cast<std::uint16_t>(fl));
  const int ifl = static_cast<int>(fl);
  if (BN_bn2binpad(r, &out[4], ifl) != ifl || BN_bn2binpad(s, &out[4 + fl], ifl) != ifl)
    return Errc::bad_value;
  return out;
}

// UFTP layout (4.x minimal or 5.x padded) -> DER, for EVP verification.
Result<std::vector<std::uint8_t>> ecdsa_uftp_to_der(Bytes sig, std::size_t fl) {
  if (sig.size() != 4 + 2 * fl) return Errc::bad_length;
  const std::size_t rlen = wire::load_be16(&sig[0]);
  const std::size_t slen = wire::load_be16(&sig[2]);
  if (rlen == 0 || slen == 0 || rlen + slen > 2 * fl) return Errc::bad_length;
  for (std::size_t i = 4 + rlen + slen; i < sig.size(); ++i)
    if (sig[i] != 0) return Errc::bad_value;  // 4.x pads with zeros
  BnPtr r(BN_bin2bn(&sig[4], static_cast<int>(rlen), nullptr));
  BnPtr s(BN_bin2bn(&sig[4 + rlen], static_cast<int>(slen), nullptr));
  EcdsaSigPtr es(ECDSA_SIG_new());
  if (!r || !s || !es || ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) return Errc::bad_value;
  (void)r.release();  // owned by es now
  (void)s.release();
  const int len = i2d_ECDSA_SIG(es.get(), nullptr);
  if (len <= 0) return Errc::bad_value;
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* q = der.data();
  if (i2d_ECDSA_SIG(es.get(), &q) != len) return Errc::bad_value;
  return der;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a whole (small) file. Errors: not_found, io_error, bad_length.
Result<std::string> read_small_file(const std::filesystem::path& path, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    fail_note(why, "cannot open " + path.string() + ": " + std::strerror(err));
    return err == ENOENT ? Errc::not_found : Errc::io_error;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail_note(why, "cannot read " + path.string() + ": " + std::strerror(err));
      return Errc::io_error;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxPemFile) {
      ::close(fd);
      fail_note(why, path.string() + " is too large to be a key file");
      return Errc::bad_length;
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

// ---- curves ----

namespace {
struct CurveInfo {
  Curve curve;
  std::size_t field_len;
  std::string_view name;   // OpenSSL's, as uftp_keymgt prints it
  std::string_view alias;  // SEC name
  std::string_view nist;
};
constexpr CurveInfo kCurves[] = {
    {Curve::secp256r1, 32, "prime256v1", "secp256r1", "P-256"},
    {Curve::secp384r1, 48, "secp384r1", "secp384r1", "P-384"},
    {Curve::secp521r1, 66, "secp521r1", "secp521r1", "P-521"},
};
constexpr const CurveInfo* info_of(Curve c) noexcept {
  for (const CurveInfo& i : kCurves)
    if (i.curve == c) return &i;
  return nullptr;
}
}  // namespace

std::size_t curve_field_len(Curve c) noexcept {
  const CurveInfo* i = info_of(c);
  return i != nullptr ? i->field_len : 0;
}

std::string_view curve_name(Curve c) noexcept {
  const CurveInfo* i = info_of(c);
  return i != nullptr ? i->name : std::string_view{};
}

std::optional<Curve> curve_from_code(std::uint8_t code) noexcept {
  const auto c = static_cast<Curve>(code);
  if (info_of(c) != nullptr) return c;
  return std::nullopt;
}

std::optional<Curve> curve_from_name(std::string_view n) noexcept {
  for (const CurveInfo& i : kCurves)
    if (n == i.name || n == i.alias || n == i.nist) return i.curve;
  return std::nullopt;
}

// ---- PkeyRef ----

detail::PkeyRef::PkeyRef(const PkeyRef& o) noexcept : p_(o.p_) {
  if (p_ != nullptr) EVP_PKEY_up_ref(p_);
}

detail::PkeyRef::~PkeyRef() {
  EVP_PKEY_free(p_);
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::from_blob(Bytes blob, std::string* why) {
  ERR_clear_error();
  wire::Reader r(blob);
  const std::uint8_t type = r.u8();
  const std::uint8_t b1 = r.u8();
  const std::uint16_t len = r.u16();
  if (!r.ok()) {
    fail_note(why, "key blob truncated");
    return Errc::truncated;
  }
  const bool rsa = type == static_cast<std::uint8_t>(KeyKind::rsa);
  if (!rsa && type != static_cast<std::uint8_t>(KeyKind::ec)) {
    fail_note(why, "unknown key blob type");
    return Errc::bad_value;
  }
  // The body (RSA: u32 exponent + modulus; EC: the point) must fill the blob exactly.
  const std::size_t body = rsa ? 4u + len : len;
  if (r.remaining() != body) {
    fail_note(why, r.remaining() < body ? "key blob truncated" : "key blob longer than its key");
    return r.remaining() < body ? Errc::truncated : Errc::bad_length;
  }
  PublicKey pk;
  if (rsa) {
    const std::uint32_t exponent = r.u32();
    const Bytes modulus = r.bytes(len);
    if (b1 != 0 || modulus.empty() || modulus[0] == 0 || (modulus.back() & 1) == 0 ||
        exponent < 3 || (exponent & 1) == 0) {
      fail_note(why, "malformed RSA key blob");
      return Errc::bad_value;
    }
    const std::size_t bits = modulus.size() * 8;  // top byte non-zero: within 7 bits of this
    if (bits < kRsaMinBits || bits > kRsaMaxBits) {
      fail_note(why, "RSA modulus size outside 512..4096 bits");
      return Errc::bad_value;
    }
    pk.key_ = rsa_from_parts(modulus, exponent);
    pk.kind_ = KeyKind::rsa;
  } else {
    const std::optional<Curve> curve = curve_from_code(b1);
    if (!curve) {
      fail_note(why, "EC key blob names an unsupported curve");
      return Errc::bad_value;
    }
    if (len != 2 * curve_field_len(*curve)) {
      fail_note(why, "EC key blob length does not match its curve");
      return Errc::bad_length;
    }
    pk.key_ = ec_from_point(*curve, r.bytes(len));
    pk.kind_ = KeyKind::ec;
    pk.curve_ = curve;
  }
  if (pk.key_.get() == nullptr) {
    fail_note(why, pk.kind_ == KeyKind::ec ? "EC public key is not a valid point on its curve"
                                           : "RSA public key rejected");
    return Errc::bad_value;
  }
  pk.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(pk.key_.get()));
  pk.blob_.assign(blob.begin(), blob.end());
  return pk;
}

std::string PublicKey::fingerprint() const {
  auto fp = crypto::fingerprint(blob_);
  return fp ? format_fingerprint(fp->view()) : std::string();
}

std::size_t PublicKey::signature_len() const noexcept {
  if (kind_ == KeyKind::rsa) return (bits_ + 7) / 8;
  return curve_ ? 4 + 2 * curve_field_len(*curve_) : 0;
}

Status PublicKey::verify(HashType t, Bytes data, Bytes sig) const {
  const char* md = detail::md_name(t);
  if (md == nullptr || t == HashType::md5 || key_.get() == nullptr) return Errc::bad_value;
  ERR_clear_error();
  std::vector<std::uint8_t> der;
  Bytes raw = sig;
  if (kind_ == KeyKind::ec) {
    auto d = ecdsa_uftp_to_der(sig, curve_field_len(*curve_));
    if (!d) return Errc::auth_failed;
    der = std::move(d).value();
    raw = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, md, nullptr, nullptr, key_.get(), nullptr) != 1) {
    ERR_clear_error();
    return Errc::bad_value;
  }
  const int ok = EVP_DigestVerify(ctx.get(), raw.data(), raw.size(), data.data(), data.size());
  ERR_clear_error();
  return ok == 1 ? Status{} : Status{Errc::auth_failed};
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::adopt(PkeyRef key, std::string* why) {
  EVP_PKEY* k = key.get();
  if (k == nullptr) {
    fail_note(why, "no key");
    return Errc::bad_value;
  }
  PrivateKey pk;
  if (EVP_PKEY_is_a(k, "RSA")) {
    pk.pub_.kind_ = KeyKind::rsa;
    const int bits = EVP_PKEY_get_bits(k);
    if (bits < static_cast<int>(kRsaMinBits) || bits > static_cast<int>(kRsaMaxBits)) {
      fail_note(why, "RSA key size " + std::to_string(bits) + " outside 512..4096 bits");
      return Errc::bad_value;
    }
  } else if (EVP_PKEY_is_a(k, "EC")) {
    pk.pub_.kind_ = KeyKind::ec;
    pk.pub_.curve_ = pkey_curve(k);
    if (!pk.pub_.curve_) {
      fail_note(why, "EC key on a curve other than prime256v1, secp384r1 or secp521r1");
      return Errc::bad_value;
    }
  } else {
    fail_note(why, "not an RSA or EC key");
    return Errc::bad_value;
  }
  auto blob = encode_blob(k, pk.pub_.kind_, pk.pub_.curve_);
  if (!blob) {
    fail_note(why, "cannot encode the public key (RSA exponent wider than 32 bits?)");
    return blob.error();
  }
  pk.pub_.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(k));
  pk.pub_.blob_ = std::move(blob).value();
  pk.pub_.key_ = std::move(key);
  return pk;
}

Result<PrivateKey> PrivateKey::generate_ec(Curve c) {
  ERR_clear_error();
  const std::string name(curve_name(c));
  if (name.empty()) return Errc::bad_value;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* k = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), name.c_str()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &k) != 1) {
    fail_note(nullptr, "");
    return Errc::bad_value;
  }
  return adopt(PkeyRef(k), nullptr);
}

Result<PrivateKey> PrivateKey::generate_rsa(unsigned bits, std::uint32_t exponent) {
  ERR_clear_error();
  if (bits < kRsaMinGenBits || bits > kRsaMaxGenBits || exponent < 3 || (exponent & 1) == 0)
    return Errc::bad_value;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  BnPtr e(BN_new());
  EVP_PKEY* k = nullptr;
  if (!ctx || !e || BN_set_word(e.get(), exponent) != 1 || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &k) != 1) {
    fail_note(nullptr, "");
    return Errc::bad_value;
  }
  return adopt(PkeyRef(k), nullptr);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem, std::string* why) {
  ERR_clear_error();
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    fail_note(why, "encrypted private keys are not supported");
    return Errc::bad_value;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Errc::bad_value;
  // No passphrase callback answer: an encrypted key fails instead of prompting on a terminal.
  pem_password_cb* no_pass = [](char*, int, int, void*) -> int { return -1; };
  EVP_PKEY* k = PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, no_pass, nullptr, nullptr, nullptr);
  if (k == nullptr) {
    fail_note(why, "no PEM private key found");
    return Errc::bad_value;
  }
  return adopt(PkeyRef(k), why);
}

Result<PrivateKey> PrivateKey::load_pem(const std::filesystem::path& path, std::string* why) {
  auto text = read_small_file(path, why);
  if (!text) return text.error();
  auto key = from_pem(*text, why);
  secure_zero({reinterpret_cast<std::uint8_t*>(text->data()), text->size()});
  if (!key && why != nullptr) *why = path.string() + ": " + *why;
  return key;
}

Result<std::string> PrivateKey::to_pem() const {
  ERR_clear_error();
  detail::EncoderCtxPtr enc(OSSL_ENCODER_CTX_new_for_pkey(pub_.key_.get(), EVP_PKEY_KEYPAIR, "PEM",
                                                          "type-specific", nullptr));
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!enc || !bio || OSSL_ENCODER_CTX_get_num_encoders(enc.get()) == 0 ||
      OSSL_ENCODER_to_bio(enc.get(), bio.get()) != 1) {
    fail_note(nullptr, "");
    return Errc::bad_value;
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0 || data == nullptr) return Errc::bad_value;
  return std::string(data, static_cast<std::size_t>(n));
}

Status PrivateKey::save_pem(const std::filesystem::path& path, std::string* why) const {
  auto pem = to_pem();
  if (!pem) {
    fail_note(why, "cannot encode the private key");
    return pem.error();
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      fail_note(why, path.string() + " already exists; refusing to overwrite a key file");
      return Errc::exists;
    }
    fail_note(why, "cannot create " + path.string() + ": " + std::strerror(err));
    return Errc::io_error;
  }
  const std::string& text = *pem;
  std::size_t off = 0;
  int err = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  secure_zero({reinterpret_cast<std::uint8_t*>(pem->data()), pem->size()});
  if (err != 0) {
    ::unlink(path.c_str());
    fail_note(why, "cannot write " + path.string() + ": " + std::strerror(err));
    return Errc::io_error;
  }
  return {};
}

std::string PrivateKey::description() const {
  if (kind() == KeyKind::rsa) return "RSA, " + std::to_string(bits()) + " bits";
  return "ECDSA, curve " + std::string(curve_name(*curve()));
}

Result<std::vector<std::uint8_t>> PrivateKey::sign(HashType t, Bytes data) const {
  const char* md = detail::md_name(t);
  if (md == nullptr || t == HashType::md5) return Errc::bad_value;
  ERR_clear_error();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, md, nullptr, nullptr, pub_.key_.get(), nullptr) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    fail_note(nullptr, "");
    return Errc::bad_value;
  }
  std::vector<std::uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
    fail_note(nullptr, "");
    return Errc::bad_value;
  }
  sig.resize(len);
  if (kind() == KeyKind::rsa) return sig;
  return ecdsa_der_to_uftp(sig, curve_field_len(*curve()));
}

Result<std::vector<std::uint8_t>> PrivateKey::ecdh(const PublicKey& peer, std::string* why) const {
  ERR_clear_error();
  if (kind() != KeyKind::ec || peer.kind() != KeyKind::ec) {
    fail_note(why, "ECDH needs two EC keys");
    return Errc::bad_value;
  }
  if (curve() != peer.curve()) {
    fail_note(why, "ECDH peer key is on a different curve");
    return Errc::bad_value;
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub_.key_.get(), nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.key_.get(), 1) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    fail_note(why, "ECDH failed");
    return Errc::bad_value;
  }
  std::vector<std::uint8_t> secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != curve_field_len(*curve())) {
    secure_zero(secret);
    fail_note(why, "ECDH failed");
    return Errc::bad_value;
  }
  return secret;
}

// ---- free functions ----

Result<Digest> ecdh_premaster_v4(Bytes shared_secret) {
  return hash(HashType::sha1, shared_secret);
}

Result<Digest> ecdh_premaster_v5(Bytes shared_secret) {
  return hash(HashType::sha256, shared_secret);
}

Result<Digest> fingerprint(Bytes blob, HashType t) {
  if (t != HashType::sha1 && t != HashType::sha256) return Errc::bad_value;
  return hash(t, blob);
}

std::string format_fingerprint(Bytes fp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  s.reserve(fp.size() * 3);
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i != 0) s += ':';
    s += kHex[fp[i] >> 4];
    s += kHex[fp[i] & 0xf];
  }
  return s;
}

Result<std::vector<std::uint8_t>> parse_fingerprint(std::string_view text) {
  std::vector<std::uint8_t> out;
  if (text.empty()) return Errc::bad_value;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = std::min(text.find(':', pos), text.size());
    const std::string_view part = text.substr(pos, end - pos);
    if (part.empty() || part.size() > 2 || out.size() >= kMaxHashLen) return Errc::bad_value;
    int v = 0;
    for (char c : part) {
      const int d = hex_digit(c);
      if (d < 0) return Errc::bad_value;
      v = v * 16 + d;
    }
    out.push_back(static_cast<std::uint8_t>(v));
    if (end == text.size()) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace volley::crypto
