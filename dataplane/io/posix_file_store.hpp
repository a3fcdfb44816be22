// PosixFileStore: the receiver's FileStore over a real destination directory.
//
// Every name is resolved relative to an O_PATH descriptor of the root and never escapes it:
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) when the kernel has it (≥ 5.6; symlinks that
// stay inside the root are followed), otherwise a component-by-component walk with O_NOFOLLOW
// (no symlink in a parent component is followed at all). Missing parent directories are created
// with mkdirat (0755 before umask). Leaf operations (rename, unlink, mkdir, utimens, lstat) never
// follow a final symlink.
//
// Files are received into "<temp>/<16 hex FNV-1a-64 of the name>.part" and renamed into place by
// commit(). The temp directory must be on the root's file system (checked at open) and private to
// this root: defaults to "<root>/.volley-tmp" (mode 0700), and names inside it are refused.
// suspend() writes "<same>.state" (magic, version, name, size, mtime, blocksize, block bitmap,
// FNV-1a-64 checksum; big-endian) atomically after flushing the data; begin() resumes only
// when name, size, mtime and blocksize all match and the .part still has the right size.
// A .part is held under flock(LOCK_EX) while open, so two stores (or two begin() calls) on the
// same name cannot interleave: the second begin() fails with Errc::exists.
//
// Threading: not thread-safe, except that write() on one handle may run on a dataplane thread
// while the control thread calls begin()/commit()/... on other handles (the handle table never
// reallocates). The caller must order the hand-off of a handle (e.g. through its SPSC ring).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/proto/file_store.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::io {

class PosixFileStore final : public proto::FileStore {
 public:
  // How names are resolved under the root. `automatic` uses openat2 when the kernel allows it.
  enum class Resolver : std::uint8_t { automatic, component_walk };

  struct Options {
    std::string temp_dir;  // empty: "<root>/.volley-tmp"
    Resolver resolver = Resolver::automatic;
  };

  static constexpr std::string_view kDefaultTempName = ".volley-tmp";
  static constexpr std::size_t kMaxOpenFiles = 256;  // concurrent begin()s without commit/...

  // Opens a store on an existing, writable directory `root`. Errors (with a sentence in *why when
  // given): Errc::not_found (root missing), bad_path (root not a directory, temp dir equal to the
  // root), io_error (not writable, temp dir unusable or on another file system, ...).
  [[nodiscard]] static Result<std::unique_ptr<PosixFileStore>> open(std::string root,
                                                                    std::string temp_dir = {},
                                                                    std::string* why = nullptr);
  [[nodiscard]] static Result<std::unique_ptr<PosixFileStore>> open_with(
      std::string root, Options options, std::string* why = nullptr);

  // Discards every file still open (neither committed, discarded nor suspended).
  ~PosixFileStore() override;
  PosixFileStore(const PosixFileStore&) = delete;
  PosixFileStore& operator=(const PosixFileStore&) = delete;

  // proto::FileStore. Errors: bad_path (invalid or reserved name, escape attempt, symlink in a
  // parent under component_walk), bad_value (unknown handle, write out of range, blocksize 0
  // with size > 0), exists (the name is already being received; make_symlink over a
  // directory), no_space (ENOSPC/EDQUOT), not_found, io_error (anything else).
  [[nodiscard]] Result<std::optional<proto::EntryInfo>> stat(std::string_view name) override;
  [[nodiscard]] Result<proto::BeginResult> begin(const proto::ReceiveSpec& spec) override;
  // Allocation-free; retries EINTR and short writes.
  [[nodiscard]] Status write(proto::FileHandle h, std::uint64_t offset,
                             std::span<const std::uint8_t> data) noexcept override;
  // One pwritev per call (IOV_MAX parts at most per syscall); allocation-free.
  [[nodiscard]] Status write_gather(
      proto::FileHandle h, std::uint64_t offset,
      std::span<const std::span<const std::uint8_t>> parts) noexcept override;
  // Sets the mtime, renames into place (a directory there is removed first, recursively), drops
  // the sidecar. The handle is released whether or not it succeeds; on failure the temporary is
  // removed (a later discard(h) is a no-op).
  [[nodiscard]] Status commit(proto::FileHandle h) override;
  void discard(proto::FileHandle h) override;
  // fdatasync()s the temporary, then writes the sidecar atomically (write .tmp, fsync, rename).
  // `received_bits` is cut or zero-padded to ceil(ceil(size / blocksize) / 8) bytes.
  void suspend(proto::FileHandle h, std::span<const std::uint8_t> received_bits) override;
  // mkdir -p; a non-directory at the name is replaced. Sets the directory's mtime.
  [[nodiscard]] Status make_dir(std::string_view name, std::int64_t mtime_s) override;
  // Atomically replaces a non-directory at the name (exists when a directory is there). The
  // target is stored verbatim (bad_path when empty, over 4095 bytes or holding NUL).
  [[nodiscard]] Status make_symlink(std::string_view name, std::string_view target) override;
  [[nodiscard]] Status remove(std::string_view name) override;
  // Bytes available to an unprivileged writer on the temp dir's file system (0 on error).
  [[nodiscard]] std::uint64_t free_bytes() override;

  [[nodiscard]] const std::string& root() const noexcept { return root_; }
  [[nodiscard]] const std::string& temp_dir() const noexcept { return temp_dir_; }
  [[nodiscard]] bool uses_openat2() const noexcept { return use_openat2_; }
  // "<16 lowercase hex digits of FNV-1a-64(name)>.part": the temporary's name inside temp_dir().
  [[nodiscard]] static std::string temp_file_name(std::string_view name);

 private:
  using HexName = std::array<char, 17>;  // 16 hex digits + NUL
  struct Slot {
    int fd = -1;  // -1: free
    std::uint64_t size = 0;
    std::int64_t mtime_s = 0;
    std::uint32_t blocksize = 0;
    HexName hex{};
    std::string name;
  };
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
  };
  class Fd;

  PosixFileStore() = default;
  [[nodiscard]] Status check_name(std::string_view name) const noexcept;
  [[nodiscard]] bool is_temp(int dirfd, const char* leaf) const noexcept;
  // Opens (O_PATH) the directory holding `name`, creating missing ones when `create`. On success
  // *fd owns it and *leaf is the last component (NUL-terminated, in *buf).
  [[nodiscard]] Status open_parent(std::string_view name, bool create, Fd* fd,
                                   std::array<char, 304>* buf, const char** leaf) const;
  [[nodiscard]] int resolve_dir(const char* path) const noexcept;  // fd or -errno
  [[nodiscard]] Status remove_tree(int dirfd, const char* leaf, int depth) const;
  [[nodiscard]] Status remove_at(int dirfd, const char* leaf) const;  // ok when absent
  [[nodiscard]] Slot* slot(proto::FileHandle h) noexcept;
  void release(Slot& s, bool delete_part, bool delete_state) noexcept;
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> load_sidecar(const Slot& s,
                                                                      const char* state_name) const;
  [[nodiscard]] bool store_sidecar(const Slot& s, std::span<const std::uint8_t> bits) const;

  std::string root_;
  std::string temp_dir_;
  std::string reserved_;  // temp dir relative to the root when it lives inside it, else empty
  int root_fd_ = -1;      // O_PATH | O_DIRECTORY
  int temp_fd_ = -1;      // O_RDONLY | O_DIRECTORY
  Identity temp_id_;
  bool use_openat2_ = false;
  std::vector<Slot> slots_;  // kMaxOpenFiles entries, never resized after open
};

}  // namespace volley::io
