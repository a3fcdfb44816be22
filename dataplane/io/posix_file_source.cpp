#include "dataplane/io/posix_file_source.hpp"

#include "dataplane/proto/file_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace volley::io {
namespace {

std::string last_component(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

Result<std::unique_ptr<PosixFileSource>> PosixFileSource::scan(
    const std::vector<std::string>& paths, std::string* why) {
  return scan(paths, Naming{}, why);
}

Result<std::unique_ptr<PosixFileSource>> PosixFileSource::scan(
    const std::vector<std::string>& paths, const Naming& naming, std::string* why) {
  std::unique_ptr<PosixFileSource> src(new PosixFileSource());
  src->exclude_ = naming.exclude;
  src->window_.resize(kWindow);
  for (const auto& p : paths) {
    std::string name = last_component(p);
    if (!naming.base_dirs.empty()) {
      name.clear();
      for (auto base : naming.base_dirs) {
        while (base.size() > 1 && base.back() == '/') base.pop_back();
        if (p.size() > base.size() + 1 && p.compare(0, base.size(), base) == 0 &&
            (p[base.size()] == '/' || base == "/")) {
          name = p.substr(base == "/" ? 1 : base.size() + 1);
          while (!name.empty() && name.back() == '/') name.pop_back();
          break;
        }
      }
      if (name.empty()) {
        src->skipped_.push_back({p, "not under any base directory"});
        continue;
      }
    }
    if (name.empty() || name == "/" || name == "." || name == "..") {
      if (why) *why = "cannot send '" + p + "': name it by a path that ends in a file or directory";
      return Errc::bad_path;
    }
    if (auto st = src->add(p, name, true, why); !st) return st.error();
  }
  if (!naming.dest_name.empty()) {
    // A single top-level path is renamed; several go into the named directory.
    const bool rename = paths.size() == 1;
    const std::string first = src->entries_.empty() ? "" : src->entries_.front().name;
    for (auto& e : src->entries_) {
      if (rename) {
        e.name = naming.dest_name + e.name.substr(first.size());
      } else {
        e.name = naming.dest_name + "/" + e.name;
      }
    }
  }
  if (auto bad = std::find_if(
          src->entries_.begin(), src->entries_.end(),
          [](const proto::SendEntry& e) { return !proto::validate_wire_name(e.name); });
      bad != src->entries_.end()) {
    if (why) *why = "'" + bad->name + "' cannot go on the wire (absolute, '..', or too long)";
    return Errc::bad_path;
  }
  return src;
}

Status PosixFileSource::add(const std::string& path, const std::string& name, bool top,
                            std::string* why) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const std::string msg = path + ": " + std::strerror(errno);
    if (top) {
      if (why) *why = msg;
      return Errc::not_found;
    }
    skipped_.push_back({path, std::strerror(errno)});
    return Status{};
  }
  for (const auto& x : exclude_) {
    if (name == x ||
        (name.size() > x.size() && name.compare(0, x.size(), x) == 0 && name[x.size()] == '/')) {
      skipped_.push_back({path, "excluded"});
      return Status{};
    }
  }
  proto::SendEntry e;
  e.name = name;
  e.mtime_s = st.st_mtim.tv_sec;
  if (S_ISREG(st.st_mode)) {
    if (::access(path.c_str(), R_OK) != 0) {
      if (top) {
        if (why) *why = path + ": not readable";
        return Errc::io_error;
      }
      skipped_.push_back({path, "not readable"});
      return Status{};
    }
    e.type = wire::FileType::regular;
    e.size = static_cast<std::uint64_t>(st.st_size);
    entries_.push_back(std::move(e));
    paths_.push_back(path);
    return Status{};
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(PATH_MAX, '\0');
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) {
      skipped_.push_back({path, std::strerror(errno)});
      return Status{};
    }
    target.resize(static_cast<std::size_t>(n));
    e.type = wire::FileType::link;
    e.link_target = std::move(target);
    entries_.push_back(std::move(e));
    paths_.push_back(path);
    return Status{};
  }
  if (S_ISDIR(st.st_mode)) {
    e.type = wire::FileType::dir;
    entries_.push_back(std::move(e));
    paths_.push_back(path);
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) {
      skipped_.push_back({path, std::string("cannot list: ") + std::strerror(errno)});
      return Status{};
    }
    std::vector<std::string> children;
    while (auto* de = ::readdir(d.get())) {
      const std::string c = de->d_name;
      if (c != "." && c != "..") children.push_back(c);
    }
    std::sort(children.begin(), children.end());
    for (const auto& c : children) {
      std::string child = path.back() == '/' ? path + c : path + "/" + c;
      if (auto s = add(child, name + "/" + c, false, why); !s) return s;
    }
    return Status{};
  }
  if (top) {
    if (why) *why = path + ": not a regular file, directory or symlink";
    return Errc::bad_value;
  }
  skipped_.push_back({path, "not a regular file, directory or symlink"});
  return Status{};
}

PosixFileSource::~PosixFileSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t PosixFileSource::total_bytes() const noexcept {
  std::uint64_t t = 0;
  for (const auto& e : entries_) t += e.size;
  return t;
}

namespace {

// pread until `n` bytes or end of file; -1 on error.
ssize_t pread_full(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off) noexcept {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;  // the file shrank: the caller sees a short read
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

Result<std::size_t> PosixFileSource::read(std::size_t index, std::uint64_t offset,
                                          std::span<std::uint8_t> out) noexcept {
  if (index >= entries_.size()) return Errc::not_found;
  if (index != open_index_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(paths_[index].c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    open_index_ = fd_ >= 0 ? index : SIZE_MAX;
    win_len_ = 0;
    last_end_ = UINT64_MAX;
    if (fd_ < 0) return Errc::io_error;
  }
  const bool sequential = offset == last_end_;
  last_end_ = offset + out.size();
  const bool in_window = offset >= win_start_ && offset + out.size() <= win_start_ + win_len_;
  if (!in_window && sequential && out.size() < kWindow && window_.size() == kWindow) {
    const ssize_t n = pread_full(fd_, window_.data(), kWindow, offset);
    if (n < 0) return Errc::io_error;
    win_start_ = offset;
    win_len_ = static_cast<std::size_t>(n);
  }
  // Served from the window when it holds the whole request, or all that is left of the file.
  const bool window_hit = offset >= win_start_ && offset < win_start_ + win_len_ &&
                          (offset + out.size() <= win_start_ + win_len_ || win_len_ < kWindow);
  if (window_hit) {
    const std::size_t n = std::min<std::size_t>(out.size(), win_start_ + win_len_ - offset);
    std::memcpy(out.data(), window_.data() + (offset - win_start_), n);
    return n;
  }
  const ssize_t n = pread_full(fd_, out.data(), out.size(), offset);
  if (n < 0) return Errc::io_error;
  return static_cast<std::size_t>(n);
}

}  // namespace volley::io
