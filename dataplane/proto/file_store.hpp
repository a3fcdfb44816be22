// Where a receiver puts what it is sent. The session code (sans-I/O) talks only to this
// interface; dataplane/io has PosixFileStore (real directories) and MemFileStore (the simulator).
//
// Contract every implementation keeps:
// - Names come off the network. They are validated by validate_wire_name() before any use and
//   are always resolved *inside* the destination root: no absolute paths, no "..", no NUL, no
//   empty components, at most kMaxPathLen bytes. Symlinks already in the tree are never followed
//   out of the root.
// - A regular file is received into a temporary file in the temp area and appears at its final
//   name only through commit(), which renames it into place atomically. Until then nothing is
//   visible at the final name; discard() removes the temporary.
// - suspend() keeps the temporary plus the received-block map so that a later session sending the
//   same file (same name, size, mtime, blocksize) resumes it: begin() then reports `resumed`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/wire/result.hpp"

namespace volley::proto {

// Checks a name received in FILEINFO. Errc::bad_path when it is empty, absolute, longer than
// 300 bytes, contains NUL, a "." or ".." component, or an empty component ("a//b").
[[nodiscard]] Status validate_wire_name(std::string_view name) noexcept;

struct EntryInfo {
  enum class Kind : std::uint8_t { file, dir, link, other } kind = Kind::file;
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;
};

struct ReceiveSpec {
  std::uint32_t group_id = 0;
  std::uint16_t file_id = 0;
  std::string name;  // validated wire name, relative to the destination
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;
  std::uint32_t blocksize = 0;
};

using FileHandle = std::uint32_t;

struct BeginResult {
  FileHandle handle = 0;
  // Set when an earlier partial receive of the same file was found: bit i = block i held.
  std::optional<std::vector<std::uint8_t>> resumed;  // LSB-first block bitmap
};

class FileStore {
 public:
  virtual ~FileStore() = default;

  // What exists at the final name now (without following a final symlink), or nullopt.
  [[nodiscard]] virtual Result<std::optional<EntryInfo>> stat(std::string_view name) = 0;
  // Start receiving a regular file into a temporary (sized to spec.size). Creates parent
  // directories inside the root as needed.
  [[nodiscard]] virtual Result<BeginResult> begin(const ReceiveSpec& spec) = 0;
  // Store `data` at byte `offset` of the temporary. Called per block by the dataplane.
  [[nodiscard]] virtual Status write(FileHandle h, std::uint64_t offset,
                                     std::span<const std::uint8_t> data) noexcept = 0;
  // Store `parts`, back to back, from byte `offset`: one gathered write where the store can.
  [[nodiscard]] virtual Status write_gather(
      FileHandle h, std::uint64_t offset,
      std::span<const std::span<const std::uint8_t>> parts) noexcept {
    for (const auto& p : parts) {
      if (auto st = write(h, offset, p); !st) return st;
      offset += p.size();
    }
    return {};
  }
  // Set the mtime and atomically rename the temporary to its final name, replacing a file there.
  [[nodiscard]] virtual Status commit(FileHandle h) = 0;
  // Remove the temporary; nothing appears at the final name.
  virtual void discard(FileHandle h) = 0;
  // Keep the temporary and the received-block map (LSB-first bits) for a later resume.
  virtual void suspend(FileHandle h, std::span<const std::uint8_t> received_bits) = 0;

  [[nodiscard]] virtual Status make_dir(std::string_view name, std::int64_t mtime_s) = 0;
  [[nodiscard]] virtual Status make_symlink(std::string_view name, std::string_view target) = 0;
  // Delete request: remove a file, link or whole directory tree at name (ok if absent).
  [[nodiscard]] virtual Status remove(std::string_view name) = 0;
  [[nodiscard]] virtual std::uint64_t free_bytes() = 0;
};

}  // namespace volley::proto
