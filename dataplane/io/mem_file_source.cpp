#include "dataplane/io/mem_file_source.hpp"

#include <algorithm>
#include <cstring>

namespace volley::io {

void MemFileSource::add(proto::SendEntry e, std::vector<std::uint8_t> bytes) {
  if (e.type == wire::FileType::regular) e.size = bytes.size();
  entries_.push_back(std::move(e));
  data_.push_back(std::move(bytes));
}

Result<std::size_t> MemFileSource::read(std::size_t index, std::uint64_t offset,
                                        std::span<std::uint8_t> out) noexcept {
  if (index >= data_.size()) return Errc::not_found;
  const auto& d = data_[index];
  if (offset >= d.size()) return std::size_t{0};
  const std::size_t n = std::min<std::size_t>(out.size(), d.size() - offset);
  std::memcpy(out.data(), d.data() + offset, n);
  return n;
}

}  // namespace volley::io
