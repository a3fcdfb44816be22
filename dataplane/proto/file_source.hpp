// What a sender sends: a list of entries (regular files, directories, symlinks, delete and
// free-space requests) and a way to read file bytes. The session and the block sender see only
// this; dataplane/io has MemFileSource (simulator) and the POSIX source (CLI).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/wire/messages.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::proto {

struct SendEntry {
  std::string name;  // '/'-separated, relative (as it goes on the wire)
  wire::FileType type = wire::FileType::regular;
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;
  std::string link_target;  // symlinks only
};

class FileSource {
 public:
  virtual ~FileSource() = default;
  [[nodiscard]] virtual const std::vector<SendEntry>& entries() const noexcept = 0;
  // Read up to out.size() bytes of entry `index` at `offset`. Called by the dataplane per block.
  [[nodiscard]] virtual Result<std::size_t> read(std::size_t index, std::uint64_t offset,
                                                 std::span<std::uint8_t> out) noexcept = 0;
};

}  // namespace volley::proto
