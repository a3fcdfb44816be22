// The sender's FileSource over real files: the paths named on the command line, each sent under
// its last component ("dir/sub/" → "sub/..."), directories walked recursively in name order,
// symlinks sent as links (not followed), everything else skipped with a reason.
//
// Thread context: scan() on the control thread before the session starts; read() on the one
// dataplane worker (it keeps the current file's descriptor open between blocks, so per-block
// work is one pread).
#pragma once

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/proto/file_source.hpp"

namespace volley::io {

class PosixFileSource final : public proto::FileSource {
 public:
  struct Skipped {
    std::string path;
    std::string why;
  };
  // How local paths become names on the wire (uftp's -E, -D and -X).
  struct Naming {
    // Send each path relative to the first of these directories it lies under (instead of
    // under its last component); a path under none of them is skipped.
    std::vector<std::string> base_dirs;
    // One path: its name on the wire (a rename). Several: a directory they all go into.
    std::string dest_name;
    // Names (as they would go on the wire, before dest_name) to leave out, with everything
    // under them.
    std::vector<std::string> exclude;
  };
  // Builds the entry list. A path that does not exist is an error (Errc::not_found, *why set);
  // unreadable or special files inside directories are skipped and listed in skipped().
  [[nodiscard]] static Result<std::unique_ptr<PosixFileSource>> scan(
      const std::vector<std::string>& paths, std::string* why = nullptr);
  [[nodiscard]] static Result<std::unique_ptr<PosixFileSource>> scan(
      const std::vector<std::string>& paths, const Naming& naming, std::string* why = nullptr);

  ~PosixFileSource() override;
  PosixFileSource(const PosixFileSource&) = delete;
  PosixFileSource& operator=(const PosixFileSource&) = delete;

  [[nodiscard]] const std::vector<proto::SendEntry>& entries() const noexcept override {
    return entries_;
  }
  [[nodiscard]] Result<std::size_t> read(std::size_t index, std::uint64_t offset,
                                         std::span<std::uint8_t> out) noexcept override;
  [[nodiscard]] const std::vector<Skipped>& skipped() const noexcept { return skipped_; }
  [[nodiscard]] std::uint64_t total_bytes() const noexcept;
  [[nodiscard]] const std::string& local_path(std::size_t index) const { return paths_[index]; }

 private:
  PosixFileSource() = default;
  Status add(const std::string& path, const std::string& name, bool top, std::string* why);
  std::vector<std::string> exclude_;

  std::vector<proto::SendEntry> entries_;
  std::vector<std::string> paths_;  // local path per entry
  std::vector<Skipped> skipped_;
  // Read-ahead: sequential block reads are served from one large pread per window, so the
  // per-block cost is a memcpy, not a syscall. Scattered (repair) reads go straight to pread.
  static constexpr std::size_t kWindow = 1 << 20;
  std::size_t open_index_ = SIZE_MAX;
  int fd_ = -1;
  std::vector<std::uint8_t> window_;
  std::uint64_t win_start_ = 0;
  std::size_t win_len_ = 0;
  std::uint64_t last_end_ = UINT64_MAX;  // where the previous read ended
};

}  // namespace volley::io
