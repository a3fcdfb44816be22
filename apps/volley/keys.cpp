// volley keys: make and inspect the signing keys sessions identify their ends with.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "apps/volley/commands.hpp"
#include "apps/volley/common.hpp"
#include "crypto/keys.hpp"

namespace volley::app {
namespace {

struct KeysOptions {
  std::string type;
  std::string out;
  std::vector<std::string> files;
};

constexpr const char* kKeysHelp =
    "Examples:\n"
    "  volley keys gen ec:P-256 -o /etc/volley/sender.pem\n"
    "  volley keys gen rsa:3072 -o receiver.pem\n"
    "  volley keys show /etc/volley/sender.pem\n\n"
    "Keys are unencrypted PEM files written with mode 0600; 'gen' never overwrites a file.\n"
    "The fingerprint is the one stock UFTP prints and expects in its server and client lists\n"
    "(SHA-1 of UFTP's key encoding); the SHA-256 line is the same key, for your records.\n"
    "Stock uftp_keymgt reads these files, and volley reads the ones it writes.";

int gen(const KeysOptions& o) {
  std::string why;
  Result<crypto::PrivateKey> key = Errc::bad_value;
  const auto colon = o.type.find(':');
  const std::string kind = o.type.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : o.type.substr(colon + 1);
  if (kind == "ec") {
    auto curve = crypto::curve_from_name(arg.empty() ? "P-256" : arg);
    if (!curve) {
      std::fprintf(stderr, "volley keys gen: unknown curve '%s' (P-256, P-384 or P-521)\n",
                   arg.c_str());
      return kExitUsage;
    }
    key = crypto::PrivateKey::generate_ec(*curve);
  } else if (kind == "rsa") {
    unsigned bits = 0;
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), bits);
    if (ec != std::errc{} || p != arg.data() + arg.size() || bits < crypto::kRsaMinGenBits ||
        bits > crypto::kRsaMaxGenBits) {
      std::fprintf(stderr, "volley keys gen: rsa:BITS takes %u to %u bits\n",
                   crypto::kRsaMinGenBits, crypto::kRsaMaxGenBits);
      return kExitUsage;
    }
    key = crypto::PrivateKey::generate_rsa(bits);
  } else {
    std::fprintf(stderr,
                 "volley keys gen: '%s' is not a key type (ec:P-256, ec:P-384, ec:P-521 or "
                 "rsa:BITS)\n",
                 o.type.c_str());
    return kExitUsage;
  }
  if (!key) {
    std::fprintf(stderr, "volley keys gen: key generation failed (%s)\n",
                 std::string(error_name(key.error())).c_str());
    return kExitSetup;
  }
  if (auto st = key->save_pem(o.out, &why); !st) {
    std::fprintf(stderr, "volley keys gen: %s\n",
                 why.empty() ? std::string(error_name(st.error())).c_str() : why.c_str());
    return kExitSetup;
  }
  std::printf("%s: %s\nfingerprint: %s\n", o.out.c_str(), key->description().c_str(),
              key->public_key().fingerprint().c_str());
  return kExitOk;
}

int show(const KeysOptions& o) {
  int rc = kExitOk;
  for (const auto& f : o.files) {
    std::string why;
    auto key = crypto::PrivateKey::load_pem(f, &why);
    if (!key) {
      std::fprintf(stderr, "volley keys show: %s: %s\n", f.c_str(),
                   why.empty() ? std::string(error_name(key.error())).c_str() : why.c_str());
      rc = kExitSetup;
      continue;
    }
    auto sha256 = crypto::fingerprint(key->public_key().blob(), crypto::HashType::sha256);
    std::printf("%s: %s\n  fingerprint (UFTP, SHA-1): %s\n  SHA-256: %s\n", f.c_str(),
                key->description().c_str(), key->public_key().fingerprint().c_str(),
                sha256 ? crypto::format_fingerprint(sha256->view()).c_str() : "?");
  }
  return rc;
}

}  // namespace

std::function<int()> add_keys(CLI::App& app) {
  auto o = std::make_shared<KeysOptions>();
  auto* c = app.add_subcommand("keys", "make and inspect signing keys");
  c->footer(kKeysHelp);
  c->require_subcommand(1);
  auto* g = c->add_subcommand("gen", "generate a key into a new PEM file");
  g->add_option("type", o->type, "ec:P-256 (default curve), ec:P-384, ec:P-521 or rsa:BITS")
      ->required();
  g->add_option("-o,--out", o->out, "the new key file (mode 0600; never overwritten)")->required();
  auto* s = c->add_subcommand("show", "print each key's type and fingerprints");
  s->add_option("files", o->files, "PEM key files")->required();
  return [o, g] { return g->parsed() ? gen(*o) : show(*o); };
}

}  // namespace volley::app
