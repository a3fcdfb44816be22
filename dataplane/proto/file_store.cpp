// validate_wire_name(): the one gate every name from the network passes before any file system use.
#include "dataplane/proto/file_store.hpp"

#include <cstddef>

namespace volley::proto {

namespace {

constexpr std::size_t kMaxPathLen = 300;  // bytes, as in FILEINFO

}  // namespace

Status validate_wire_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxPathLen) return Errc::bad_path;
  if (name.front() == '/') return Errc::bad_path;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? name.size() : slash;
    const std::string_view component = name.substr(start, end - start);
    // Empty covers "a//b" and a trailing "/".
    if (component.empty() || component == "." || component == "..") return Errc::bad_path;
    if (component.find('\0') != std::string_view::npos) return Errc::bad_path;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

}  // namespace volley::proto
