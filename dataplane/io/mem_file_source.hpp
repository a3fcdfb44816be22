// An in-memory FileSource for the simulator and tests.
#pragma once

#include <vector>

#include "dataplane/proto/file_source.hpp"

namespace volley::io {

class MemFileSource final : public proto::FileSource {
 public:
  // Adds a regular file with `bytes`; other entry types carry no content.
  void add(proto::SendEntry e, std::vector<std::uint8_t> bytes = {});
  [[nodiscard]] const std::vector<proto::SendEntry>& entries() const noexcept override {
    return entries_;
  }
  [[nodiscard]] Result<std::size_t> read(std::size_t index, std::uint64_t offset,
                                         std::span<std::uint8_t> out) noexcept override;
  [[nodiscard]] const std::vector<std::uint8_t>& content(std::size_t index) const {
    return data_[index];
  }

 private:
  std::vector<proto::SendEntry> entries_;
  std::vector<std::vector<std::uint8_t>> data_;
};

}  // namespace volley::io
