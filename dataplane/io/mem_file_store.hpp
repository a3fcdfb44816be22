// MemFileStore: the FileStore of the simulator. Everything lives in memory: committed entries
// keyed by their (validated) wire name, temporaries in a separate table that only commit()
// makes visible, suspended temporaries kept per name for a later resume.
//
// Semantics mirror PosixFileStore: begin() creates missing parent directories (mtime 0) and
// fails with io_error when a parent is a file, bad_path when it is a symlink (never followed);
// commit() replaces a file or link and removes a directory tree at the name; make_dir replaces a
// non-directory; make_symlink replaces a non-directory (exists when a directory is there);
// remove() deletes a file, a link, or a directory with every name under "name/".
//
// Capacity (for disk-full tests): by default unlimited. Committed files count their size and
// each temporary counts its high-water mark (highest byte written + 1, as if not sparse); a
// write() that would push the total past the capacity fails with Errc::no_space and stores
// nothing. The bytes of a temporary are allocated by begin() (sized to the file), so write()
// never allocates.
//
// Threading: none; one instance per simulated receiver. An empty instance is ~150 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/proto/file_store.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::io {

class MemFileStore final : public proto::FileStore {
 public:
  struct Entry {
    proto::EntryInfo::Kind kind = proto::EntryInfo::Kind::file;
    std::vector<std::uint8_t> bytes;  // files only
    std::int64_t mtime_s = 0;         // files and directories
    std::string link_target;          // links only
  };

  MemFileStore() = default;

  // proto::FileStore (errors as in PosixFileStore).
  [[nodiscard]] Result<std::optional<proto::EntryInfo>> stat(std::string_view name) override;
  [[nodiscard]] Result<proto::BeginResult> begin(const proto::ReceiveSpec& spec) override;
  [[nodiscard]] Status write(proto::FileHandle h, std::uint64_t offset,
                             std::span<const std::uint8_t> data) noexcept override;
  // The handle is released whether or not it succeeds.
  [[nodiscard]] Status commit(proto::FileHandle h) override;
  void discard(proto::FileHandle h) override;
  // `received_bits` is cut or zero-padded to ceil(ceil(size / blocksize) / 8) bytes.
  void suspend(proto::FileHandle h, std::span<const std::uint8_t> received_bits) override;
  [[nodiscard]] Status make_dir(std::string_view name, std::int64_t mtime_s) override;
  [[nodiscard]] Status make_symlink(std::string_view name, std::string_view target) override;
  [[nodiscard]] Status remove(std::string_view name) override;
  // capacity - used (saturating); the capacity is UINT64_MAX until set_capacity().
  [[nodiscard]] std::uint64_t free_bytes() override;

  // Inspection for tests.
  [[nodiscard]] const Entry* find(std::string_view name) const;  // nullptr when absent
  [[nodiscard]] std::vector<std::string> names() const;          // sorted
  // Temporaries in existence: open (begun, not yet committed/discarded/suspended) + suspended.
  [[nodiscard]] std::size_t temp_count() const noexcept;
  void set_capacity(std::uint64_t bytes) noexcept { capacity_ = bytes; }
  [[nodiscard]] std::uint64_t used_bytes() const noexcept { return used_; }

 private:
  struct Temp {
    std::string name;  // empty: free slot
    std::uint64_t size = 0;
    std::int64_t mtime_s = 0;
    std::uint32_t blocksize = 0;
    std::uint64_t charged = 0;  // high-water mark counted against the capacity
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> bits;  // suspended only
  };
  using EntryMap = std::map<std::string, Entry, std::less<>>;

  [[nodiscard]] Temp* slot(proto::FileHandle h) noexcept;
  void free_slot(Temp& t) noexcept;
  [[nodiscard]] Status make_parents(std::string_view name);
  void erase_entry(EntryMap::iterator it) noexcept;  // a directory takes its subtree along

  EntryMap entries_;
  std::vector<Temp> open_;  // indexed by handle
  std::map<std::string, Temp, std::less<>> suspended_;
  std::uint64_t capacity_ = UINT64_MAX;
  std::uint64_t used_ = 0;
};

}  // namespace volley::io
