#include "dataplane/io/posix_file_source.hpp"

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
  std::unique_ptr<PosixFileSource> src(new PosixFileSource());
  for (const auto& p : paths) {
    std::string name = last_component(p);
    if (name.empty() || name == "/" || name == "." || name == "..") {
      if (why) *why = "cannot send '" + p + "': name it by a path that ends in a file or directory";
      return Errc::bad_path;
    }
    if (auto st = src->add(p, name, true, why); !st) return st.error();
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

Result<std::size_t> PosixFileSource::read(std::size_t index, std::uint64_t offset,
                                          std::span<std::uint8_t> out) noexcept {
  if (index >= entries_.size()) return Errc::not_found;
  if (index != open_index_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(paths_[index].c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    open_index_ = fd_ >= 0 ? index : SIZE_MAX;
    if (fd_ < 0) return Errc::io_error;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errc::io_error;
    }
    if (n == 0) break;  // the file shrank: the caller sees a short read
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace volley::io
