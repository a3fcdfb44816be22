// Result<T>: a small in-house expected<T, Error> (GCC 12 has std::expected only under C++23).
// Libraries return it; per-packet code never throws.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace volley {

// Error codes shared by every layer. Each has a stable, human-readable name (error_name()).
enum class Errc : std::uint8_t {
  ok = 0,
  truncated,    // input ended before the structure did
  bad_version,  // protocol version byte is not 0x40 or 0x50
  bad_type,     // unknown or unexpected message type
  bad_length,   // a length field disagrees with the packet
  bad_value,    // a field holds a value outside its domain
  no_space,     // output buffer too small
  auth_failed,  // AEAD open / signature check failed
  bad_path,     // file name outside the destination, or malformed
  io_error,     // file system or socket error
  exists,       // refusing to overwrite
  not_found,
};

[[nodiscard]] constexpr std::string_view error_name(Errc e) noexcept {
  switch (e) {
    case Errc::ok:
      return "ok";
    case Errc::truncated:
      return "truncated";
    case Errc::bad_version:
      return "bad version";
    case Errc::bad_type:
      return "bad message type";
    case Errc::bad_length:
      return "bad length";
    case Errc::bad_value:
      return "bad value";
    case Errc::no_space:
      return "no space";
    case Errc::auth_failed:
      return "authentication failed";
    case Errc::bad_path:
      return "bad path";
    case Errc::io_error:
      return "I/O error";
    case Errc::exists:
      return "already exists";
    case Errc::not_found:
      return "not found";
  }
  return "unknown";
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Errc e) : v_(e) {}                  // NOLINT
  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] Errc error() const noexcept { return ok() ? Errc::ok : std::get<1>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Errc> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errc e) : e_(e) {}  // NOLINT
  [[nodiscard]] bool ok() const noexcept { return e_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] Errc error() const noexcept { return e_; }

 private:
  Errc e_ = Errc::ok;
};

using Status = Result<void>;

}  // namespace volley
