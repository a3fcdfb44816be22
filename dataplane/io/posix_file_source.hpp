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
  // Builds the entry list. A path that does not exist is an error (Errc::not_found, *why set);
  // unreadable or special files inside directories are skipped and listed in skipped().
  [[nodiscard]] static Result<std::unique_ptr<PosixFileSource>> scan(
      const std::vector<std::string>& paths, std::string* why = nullptr);

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

  std::vector<proto::SendEntry> entries_;
  std::vector<std::string> paths_;  // local path per entry
  std::vector<Skipped> skipped_;
  std::size_t open_index_ = SIZE_MAX;
  int fd_ = -1;
};

}  // namespace volley::io
