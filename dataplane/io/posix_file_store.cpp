#include "dataplane/io/posix_file_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>
#include <system_error>
#include <utility>

#include "dataplane/wire/byte_io.hpp"

namespace volley::io {

// Owns one file descriptor.
class PosixFileStore::Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

namespace {

using proto::EntryInfo;

constexpr std::uint32_t kSidecarMagic = 0x564C5953;  // "VLYS"
constexpr std::uint16_t kSidecarVersion = 1;
constexpr std::size_t kSidecarHeader = 4 + 2 + 2 + 8 + 8 + 4 + 8;
constexpr std::size_t kSidecarTrailer = 8;
constexpr int kMaxTreeDepth = 256;
constexpr std::size_t kMaxLinkTarget = 4095;

[[nodiscard]] std::uint64_t fnv1a64(std::span<const std::uint8_t> bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

[[nodiscard]] std::uint64_t fnv1a64(std::string_view s) noexcept {
  return fnv1a64(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

[[nodiscard]] std::array<char, 17> hex_of(std::string_view name) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 17> out{};
  std::uint64_t h = fnv1a64(name);
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[h & 0xF];
    h >>= 4;
  }
  out[16] = '\0';
  return out;
}

// "<hex><suffix>" as a NUL-terminated buffer.
struct TempName {
  std::array<char, 32> s{};
  TempName(const std::array<char, 17>& hex, const char* suffix) noexcept {
    std::memcpy(s.data(), hex.data(), 16);
    std::size_t n = std::strlen(suffix);
    if (n > s.size() - 17) n = s.size() - 17;
    std::memcpy(s.data() + 16, suffix, n);
    s[16 + n] = '\0';
  }
  [[nodiscard]] const char* c_str() const noexcept { return s.data(); }
};

[[nodiscard]] Errc errno_to_errc(int e) noexcept {
  switch (e) {
    case EXDEV:
    case ELOOP:
      return Errc::bad_path;
    case ENOENT:
      return Errc::not_found;
    case ENOSPC:
    case EDQUOT:
      return Errc::no_space;
    default:
      return Errc::io_error;
  }
}

[[nodiscard]] std::uint64_t bitmap_bytes(std::uint64_t size, std::uint32_t blocksize) noexcept {
  if (size == 0 || blocksize == 0) return 0;
  const std::uint64_t blocks = (size - 1) / blocksize + 1;
  return (blocks + 7) / 8;
}

[[nodiscard]] EntryInfo::Kind kind_of(mode_t mode) noexcept {
  if (S_ISREG(mode)) return EntryInfo::Kind::file;
  if (S_ISDIR(mode)) return EntryInfo::Kind::dir;
  if (S_ISLNK(mode)) return EntryInfo::Kind::link;
  return EntryInfo::Kind::other;
}

[[nodiscard]] bool write_all(int fd, const std::uint8_t* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (w == 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

[[nodiscard]] bool read_all(int fd, std::uint8_t* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void set_why(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

[[nodiscard]] int sys_openat2(int dirfd, const char* path, std::uint64_t flags) noexcept {
#ifdef SYS_openat2
  open_how how{};
  how.flags = flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  while (true) {
    const long r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
#else
  (void)dirfd, (void)path, (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening

Result<std::unique_ptr<PosixFileStore>> PosixFileStore::open(std::string root, std::string temp_dir,
                                                             std::string* why) {
  Options options;
  options.temp_dir = std::move(temp_dir);
  return open_with(std::move(root), std::move(options), why);
}

Result<std::unique_ptr<PosixFileStore>> PosixFileStore::open_with(std::string root, Options options,
                                                                  std::string* why) try {
  if (root.empty()) {
    set_why(why, "destination root is empty");
    return Errc::bad_path;
  }
  if (root.find('\0') != std::string::npos || options.temp_dir.find('\0') != std::string::npos) {
    set_why(why, "path holds a NUL byte");
    return Errc::bad_path;
  }
  std::unique_ptr<PosixFileStore> store(new PosixFileStore());
  store->root_fd_ = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (store->root_fd_ < 0) {
    const int e = errno;
    if (e == ENOENT) {
      set_why(why, "destination root " + root + " does not exist");
      return Errc::not_found;
    }
    if (e == ENOTDIR) {
      set_why(why, "destination root " + root + " is not a directory");
      return Errc::bad_path;
    }
    set_why(why, "cannot open destination root " + root + ": " + std::strerror(e));
    return Errc::io_error;
  }
  if (::faccessat(AT_FDCWD, root.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    set_why(why, "destination root " + root + " is not writable: " + std::strerror(errno));
    return Errc::io_error;
  }

  std::string temp_dir = options.temp_dir;
  if (temp_dir.empty()) {
    const std::string leaf(kDefaultTempName);
    if (::mkdirat(store->root_fd_, leaf.c_str(), 0700) != 0 && errno != EEXIST) {
      set_why(why, "cannot create temp dir in " + root + ": " + std::strerror(errno));
      return Errc::io_error;
    }
    store->temp_fd_ =
        ::openat(store->root_fd_, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    temp_dir = root + (root.back() == '/' ? "" : "/") + leaf;
  } else {
    if (::mkdir(temp_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      set_why(why, "cannot create temp dir " + temp_dir + ": " + std::strerror(errno));
      return Errc::io_error;
    }
    store->temp_fd_ = ::open(temp_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (store->temp_fd_ < 0) {
    set_why(why, "cannot open temp dir " + temp_dir + ": " + std::strerror(errno));
    return Errc::io_error;
  }
  if (::faccessat(AT_FDCWD, temp_dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    set_why(why, "temp dir " + temp_dir + " is not writable: " + std::strerror(errno));
    return Errc::io_error;
  }

  struct stat root_st {};
  struct stat temp_st {};
  if (::fstat(store->root_fd_, &root_st) != 0 || ::fstat(store->temp_fd_, &temp_st) != 0) {
    set_why(why, std::string("fstat failed: ") + std::strerror(errno));
    return Errc::io_error;
  }
  if (root_st.st_dev != temp_st.st_dev) {
    set_why(why, "temp dir " + temp_dir + " is on a different file system than " + root +
                     " (rename into place would not be atomic)");
    return Errc::io_error;
  }
  if (root_st.st_ino == temp_st.st_ino) {
    set_why(why, "temp dir must not be the destination root itself");
    return Errc::bad_path;
  }
  store->temp_id_ = Identity{temp_st.st_dev, temp_st.st_ino};

  // Names inside the temp dir (when it lives under the root) are refused.
  if (options.temp_dir.empty()) {
    store->reserved_ = std::string(kDefaultTempName);
  } else {
    std::error_code ec1;
    std::error_code ec2;
    const std::string root_real = std::filesystem::canonical(root, ec1).string();
    const std::string temp_real = std::filesystem::canonical(temp_dir, ec2).string();
    if (!ec1 && !ec2 && temp_real.size() > root_real.size() + 1 &&
        temp_real.compare(0, root_real.size(), root_real) == 0 &&
        (root_real == "/" || temp_real[root_real.size()] == '/')) {
      store->reserved_ = temp_real.substr(root_real.size() + (root_real == "/" ? 0 : 1));
    }
  }

  if (options.resolver == Resolver::automatic) {
    const int probe = sys_openat2(store->root_fd_, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (probe >= 0) {
      ::close(probe);
      store->use_openat2_ = true;
    }
  }

  store->root_ = std::move(root);
  store->temp_dir_ = std::move(temp_dir);
  store->slots_.resize(kMaxOpenFiles);
  return store;
} catch (const std::exception&) {
  set_why(why, "out of memory");
  return Errc::io_error;
}

PosixFileStore::~PosixFileStore() {
  for (Slot& s : slots_) {
    if (s.fd >= 0) release(s, true, true);
  }
  if (temp_fd_ >= 0) ::close(temp_fd_);
  if (root_fd_ >= 0) ::close(root_fd_);
}

std::string PosixFileStore::temp_file_name(std::string_view name) {
  return std::string(hex_of(name).data()) + ".part";
}

// ---------------------------------------------------------------------------------------------
// Name resolution

Status PosixFileStore::check_name(std::string_view name) const noexcept {
  if (Status st = proto::validate_wire_name(name); !st) return st;
  if (!reserved_.empty()) {
    const std::string_view r = reserved_;
    // The temp dir, anything inside it, and any directory holding it.
    if (name.starts_with(r) && (name.size() == r.size() || name[r.size()] == '/')) {
      return Errc::bad_path;
    }
    if (r.starts_with(name) && r.size() > name.size() && r[name.size()] == '/') {
      return Errc::bad_path;
    }
  }
  return {};
}

bool PosixFileStore::is_temp(int dirfd, const char* leaf) const noexcept {
  struct stat st {};
  const int r =
      leaf == nullptr ? ::fstat(dirfd, &st) : ::fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW);
  return r == 0 && st.st_dev == temp_id_.dev && st.st_ino == temp_id_.ino;
}

int PosixFileStore::resolve_dir(const char* path) const noexcept {
  if (use_openat2_) {
    const int fd = sys_openat2(root_fd_, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
  }
  // Component walk: no symlink is followed.
  Fd cur(::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return -errno;
  std::array<char, 304> comp{};
  const char* p = path;
  while (*p != '\0') {
    const char* slash = std::strchr(p, '/');
    const std::size_t n = slash == nullptr ? std::strlen(p) : static_cast<std::size_t>(slash - p);
    if (n == 0 || n >= comp.size()) return -EINVAL;
    std::memcpy(comp.data(), p, n);
    comp[n] = '\0';
    Fd next(::openat(cur.get(), comp.data(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return -errno;
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return -errno;
    if (S_ISLNK(st.st_mode)) return -ELOOP;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    cur.reset(next.release());
    p = slash == nullptr ? p + n : slash + 1;
  }
  return cur.release();
}

Status PosixFileStore::open_parent(std::string_view name, bool create, Fd* fd,
                                   std::array<char, 304>* buf, const char** leaf) const {
  if (name.size() >= buf->size()) return Errc::bad_path;
  std::memcpy(buf->data(), name.data(), name.size());
  (*buf)[name.size()] = '\0';
  const std::size_t last = name.rfind('/');
  int r = 0;
  if (last == std::string_view::npos) {
    *leaf = buf->data();
    r = ::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0);
    if (r < 0) r = -errno;
  } else {
    (*buf)[last] = '\0';
    *leaf = buf->data() + last + 1;
    r = resolve_dir(buf->data());
    if (r == -ENOENT && create) {
      // Create the missing directories one at a time, resolving each prefix from the root.
      Fd prev(::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
      if (!prev.valid()) return Errc::io_error;
      std::size_t start = 0;
      while (true) {
        const std::size_t slash = name.find('/', start);
        const bool final_dir = slash == last;
        (*buf)[slash] = '\0';
        r = resolve_dir(buf->data());
        if (r == -ENOENT) {
          if (::mkdirat(prev.get(), buf->data() + start, 0755) != 0 && errno != EEXIST) {
            r = -errno;
          } else {
            r = resolve_dir(buf->data());
          }
        }
        if (r < 0 || final_dir) break;
        prev.reset(r);
        if (is_temp(prev.get(), nullptr)) return Errc::bad_path;  // never mkdir in the temp area
        (*buf)[slash] = '/';
        start = slash + 1;
      }
    }
  }
  // A file where a directory should be: when only looking, nothing can exist below it.
  if (r < 0) return (!create && r == -ENOTDIR) ? Errc::not_found : errno_to_errc(-r);
  fd->reset(r);
  // Never let a name reach the temp area through a symlink inside the root.
  if (is_temp(fd->get(), nullptr) || is_temp(fd->get(), *leaf)) return Errc::bad_path;
  return {};
}

Status PosixFileStore::remove_at(int dirfd, const char* leaf) const {
  struct stat st {};
  if (::fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status{} : Status{errno_to_errc(errno)};
  }
  if (S_ISDIR(st.st_mode)) return remove_tree(dirfd, leaf, 0);
  if (::unlinkat(dirfd, leaf, 0) != 0 && errno != ENOENT) return errno_to_errc(errno);
  return {};
}

Status PosixFileStore::remove_tree(int dirfd, const char* leaf, int depth) const {
  if (depth > kMaxTreeDepth) return Errc::io_error;
  const int fd = ::openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status{} : Status{errno_to_errc(errno)};
  if (is_temp(fd, nullptr)) {
    ::close(fd);
    return Errc::bad_path;
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return Errc::io_error;
  }
  Status result;
  const int dfd = ::dirfd(dir);
  while (true) {
    errno = 0;
    const dirent* ent = ::readdir(dir);
    if (ent == nullptr) {
      if (errno != 0) result = Errc::io_error;
      break;
    }
    const char* n = ent->d_name;
    if (std::strcmp(n, ".") == 0 || std::strcmp(n, "..") == 0) continue;
    bool is_dir = ent->d_type == DT_DIR;
    if (ent->d_type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      result = remove_tree(dfd, n, depth + 1);
    } else if (::unlinkat(dfd, n, 0) != 0 && errno != ENOENT) {
      result = errno_to_errc(errno);
    }
    if (!result) break;
  }
  ::closedir(dir);
  if (!result) return result;
  if (::unlinkat(dirfd, leaf, AT_REMOVEDIR) != 0 && errno != ENOENT) return errno_to_errc(errno);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Receiving files

PosixFileStore::Slot* PosixFileStore::slot(proto::FileHandle h) noexcept {
  if (h >= slots_.size() || slots_[h].fd < 0) return nullptr;
  return &slots_[h];
}

void PosixFileStore::release(Slot& s, bool delete_part, bool delete_state) noexcept {
  // Unlink while the .part is still open and locked, so no other store can pick it up between.
  if (delete_state) ::unlinkat(temp_fd_, TempName(s.hex, ".state").c_str(), 0);
  if (delete_part) ::unlinkat(temp_fd_, TempName(s.hex, ".part").c_str(), 0);
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.name.clear();
}

Result<std::optional<EntryInfo>> PosixFileStore::stat(std::string_view name) try {
  if (Status st = check_name(name); !st) return st.error();
  Fd parent;
  std::array<char, 304> buf{};
  const char* leaf = nullptr;
  if (Status st = open_parent(name, false, &parent, &buf, &leaf); !st) {
    if (st.error() == Errc::not_found) return std::optional<EntryInfo>{};
    return st.error();
  }
  struct stat sb {};
  if (::fstatat(parent.get(), leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<EntryInfo>{};
    return errno_to_errc(errno);
  }
  EntryInfo info;
  info.kind = kind_of(sb.st_mode);
  info.size = static_cast<std::uint64_t>(sb.st_size);
  info.mtime_s = static_cast<std::int64_t>(sb.st_mtim.tv_sec);
  return std::optional<EntryInfo>{info};
} catch (const std::exception&) {
  return Errc::io_error;
}

std::optional<std::vector<std::uint8_t>> PosixFileStore::load_sidecar(
    const Slot& s, const char* state_name) const {
  Fd fd(::openat(temp_fd_, state_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  const std::uint64_t nbits = bitmap_bytes(s.size, s.blocksize);
  const std::uint64_t expect = kSidecarHeader + s.name.size() + nbits + kSidecarTrailer;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) != expect ||
      expect > std::numeric_limits<std::size_t>::max()) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(expect));
  if (!read_all(fd.get(), raw.data(), raw.size())) return std::nullopt;
  const std::span<const std::uint8_t> body(raw.data(), raw.size() - kSidecarTrailer);
  if (wire::load_be64(raw.data() + body.size()) != fnv1a64(body)) return std::nullopt;
  wire::Reader r(body);
  const std::uint32_t magic = r.u32();
  const std::uint16_t version = r.u16();
  const std::uint16_t name_len = r.u16();
  const std::uint64_t size = r.u64();
  const std::uint64_t mtime = r.u64();
  const std::uint32_t blocksize = r.u32();
  const std::uint64_t bits_len = r.u64();
  const wire::Bytes name = r.bytes(name_len);
  const wire::Bytes bits = r.rest();
  if (!r.ok() || magic != kSidecarMagic || version != kSidecarVersion || size != s.size ||
      static_cast<std::int64_t>(mtime) != s.mtime_s || blocksize != s.blocksize ||
      bits_len != nbits || bits.size() != nbits ||
      std::string_view(reinterpret_cast<const char*>(name.data()), name.size()) != s.name) {
    return std::nullopt;
  }
  return std::vector<std::uint8_t>(bits.begin(), bits.end());
}

bool PosixFileStore::store_sidecar(const Slot& s, std::span<const std::uint8_t> bits) const {
  const std::uint64_t nbits = bitmap_bytes(s.size, s.blocksize);
  if (nbits > std::numeric_limits<std::size_t>::max() - 1024) return false;
  std::vector<std::uint8_t> raw(kSidecarHeader + s.name.size() + static_cast<std::size_t>(nbits) +
                                kSidecarTrailer);
  wire::Writer w(raw);
  w.u32(kSidecarMagic);
  w.u16(kSidecarVersion);
  w.u16(static_cast<std::uint16_t>(s.name.size()));
  w.u64(s.size);
  w.u64(static_cast<std::uint64_t>(s.mtime_s));
  w.u32(s.blocksize);
  w.u64(nbits);
  w.bytes(wire::Bytes(reinterpret_cast<const std::uint8_t*>(s.name.data()), s.name.size()));
  const std::size_t copy = std::min(bits.size(), static_cast<std::size_t>(nbits));
  std::uint8_t* out = w.claim(static_cast<std::size_t>(nbits));
  if (out == nullptr) return false;
  if (copy > 0) std::memcpy(out, bits.data(), copy);
  if (nbits > 0) {
    const std::uint64_t blocks = (s.size - 1) / s.blocksize + 1;
    if (blocks % 8 != 0) {
      out[nbits - 1] &= static_cast<std::uint8_t>((1U << (blocks % 8)) - 1);
    }
  }
  const std::size_t body = w.pos();
  w.u64(fnv1a64(std::span<const std::uint8_t>(raw.data(), body)));
  if (!w.ok()) return false;

  const TempName tmp(s.hex, ".state.tmp");
  Fd fd(
      ::openat(temp_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return false;
  const bool ok =
      write_all(fd.get(), raw.data(), raw.size()) && ::fsync(fd.get()) == 0 &&
      ::close(fd.release()) == 0 &&
      ::renameat(temp_fd_, tmp.c_str(), temp_fd_, TempName(s.hex, ".state").c_str()) == 0;
  if (!ok) ::unlinkat(temp_fd_, tmp.c_str(), 0);
  return ok;
}

Result<proto::BeginResult> PosixFileStore::begin(const proto::ReceiveSpec& spec) try {
  if (Status st = check_name(spec.name); !st) return st.error();
  if ((spec.blocksize == 0 && spec.size > 0) ||
      spec.size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    return Errc::bad_value;
  }
  proto::FileHandle h = 0;
  while (h < slots_.size() && slots_[h].fd >= 0) ++h;
  if (h == slots_.size()) return Errc::io_error;  // too many files open at once
  Slot& s = slots_[h];

  {  // Create the parent directories now, so a bad destination fails before any data moves.
    Fd parent;
    std::array<char, 304> buf{};
    const char* leaf = nullptr;
    if (Status st = open_parent(spec.name, true, &parent, &buf, &leaf); !st) return st.error();
  }

  s.hex = hex_of(spec.name);
  const TempName part(s.hex, ".part");
  const TempName state(s.hex, ".state");
  Fd fd(::openat(temp_fd_, part.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_to_errc(errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK ? Errc::exists : Errc::io_error;
  }
  // The holder before us may have committed (renamed) this inode while we opened it.
  struct stat by_fd {};
  struct stat by_name {};
  if (::fstat(fd.get(), &by_fd) != 0 || !S_ISREG(by_fd.st_mode)) return Errc::io_error;
  if (::fstatat(temp_fd_, part.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) != 0 ||
      by_name.st_ino != by_fd.st_ino || by_name.st_dev != by_fd.st_dev) {
    return Errc::exists;
  }

  s.name.assign(spec.name);
  s.size = spec.size;
  s.mtime_s = spec.mtime_s;
  s.blocksize = spec.blocksize;

  proto::BeginResult result;
  if (static_cast<std::uint64_t>(by_fd.st_size) == spec.size) {
    result.resumed = load_sidecar(s, state.c_str());
  }
  if (!result.resumed) {
    // Drop the old map before the data it describes.
    if (::unlinkat(temp_fd_, state.c_str(), 0) != 0 && errno != ENOENT) {
      s.name.clear();
      return Errc::io_error;
    }
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::ftruncate(fd.get(), static_cast<off_t>(spec.size)) != 0 ||
        ::fchmod(fd.get(), 0644) != 0) {
      const Errc e = errno_to_errc(errno);
      s.name.clear();
      ::unlinkat(temp_fd_, part.c_str(), 0);
      return e;
    }
  }
  s.fd = fd.release();
  result.handle = h;
  return result;
} catch (const std::exception&) {
  return Errc::io_error;
}

Status PosixFileStore::write(proto::FileHandle h, std::uint64_t offset,
                             std::span<const std::uint8_t> data) noexcept {
  const Slot* s = slot(h);
  if (s == nullptr || offset > s->size || data.size() > s->size - offset) return Errc::bad_value;
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::pwrite(s->fd, p, left, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return (errno == ENOSPC || errno == EDQUOT) ? Errc::no_space : Errc::io_error;
    }
    if (n == 0) return Errc::io_error;
    p += n;
    left -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status PosixFileStore::write_gather(proto::FileHandle h, std::uint64_t offset,
                                    std::span<const std::span<const std::uint8_t>> parts) noexcept {
  const Slot* s = slot(h);
  if (s == nullptr) return Errc::bad_value;
  constexpr std::size_t kMaxIov = 64;
  std::uint64_t total = 0;
  for (const auto& p : parts) total += p.size();
  if (offset > s->size || total > s->size - offset) return Errc::bad_value;
  std::array<iovec, kMaxIov> iov{};
  std::size_t next = 0;  // first part not yet fully written
  std::size_t skip = 0;  // bytes of parts[next] already written
  while (next < parts.size()) {
    std::size_t n = 0;
    for (std::size_t i = next; i < parts.size() && n < kMaxIov; ++i, ++n) {
      const std::size_t from = i == next ? skip : 0;
      iov[n].iov_base = const_cast<std::uint8_t*>(parts[i].data() + from);
      iov[n].iov_len = parts[i].size() - from;
    }
    const ssize_t w = ::pwritev(s->fd, iov.data(), static_cast<int>(n), static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return (errno == ENOSPC || errno == EDQUOT) ? Errc::no_space : Errc::io_error;
    }
    if (w == 0) return Errc::io_error;
    offset += static_cast<std::uint64_t>(w);
    auto left = static_cast<std::size_t>(w);
    while (left > 0 && next < parts.size()) {  // advance past what was written
      const std::size_t avail = parts[next].size() - skip;
      if (left >= avail) {
        left -= avail;
        ++next;
        skip = 0;
      } else {
        skip += left;
        left = 0;
      }
    }
    while (next < parts.size() && parts[next].size() == skip) {  // empty parts
      ++next;
      skip = 0;
    }
  }
  return {};
}

Status PosixFileStore::commit(proto::FileHandle h) try {
  Slot* s = slot(h);
  if (s == nullptr) return Errc::bad_value;
  // The .part stays open (and flock()ed) until it has been renamed away and its sidecar deleted.
  const timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(s->mtime_s), 0}};
  Status result;
  if (::futimens(s->fd, times) != 0) result = errno_to_errc(errno);
  Fd parent;
  std::array<char, 304> buf{};
  const char* leaf = nullptr;
  if (result) result = open_parent(s->name, true, &parent, &buf, &leaf);
  if (result) {
    struct stat st {};
    if (::fstatat(parent.get(), leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      result = remove_tree(parent.get(), leaf, 0);
    }
  }
  if (result && ::renameat(temp_fd_, TempName(s->hex, ".part").c_str(), parent.get(), leaf) != 0) {
    result = errno_to_errc(errno);
  }
  if (!result) {
    release(*s, true, true);
    return result;
  }
  ::unlinkat(temp_fd_, TempName(s->hex, ".state").c_str(), 0);
  // close() reports delayed write errors on some file systems.
  const int fd = std::exchange(s->fd, -1);
  release(*s, false, false);
  if (::close(fd) != 0 && errno != EINTR) return Errc::io_error;
  return {};
} catch (const std::exception&) {
  if (Slot* s = slot(h)) release(*s, true, true);
  return Errc::io_error;
}

void PosixFileStore::discard(proto::FileHandle h) {
  if (Slot* s = slot(h)) release(*s, true, true);
}

void PosixFileStore::suspend(proto::FileHandle h, std::span<const std::uint8_t> received_bits) {
  Slot* s = slot(h);
  if (s == nullptr) return;
  try {
    // Data first: a map must never claim blocks that a crash could lose.
    if (::fdatasync(s->fd) == 0) (void)store_sidecar(*s, received_bits);
  } catch (const std::exception&) {
    // No sidecar: the next begin() starts afresh (an older one only under-reports).
  }
  release(*s, false, false);
}

// ---------------------------------------------------------------------------------------------
// Directories, links, deletes

Status PosixFileStore::make_dir(std::string_view name, std::int64_t mtime_s) try {
  if (Status st = check_name(name); !st) return st;
  Fd parent;
  std::array<char, 304> buf{};
  const char* leaf = nullptr;
  if (Status st = open_parent(name, true, &parent, &buf, &leaf); !st) return st;
  struct stat st {};
  const bool present = ::fstatat(parent.get(), leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!present || !S_ISDIR(st.st_mode)) {
    if (present && ::unlinkat(parent.get(), leaf, 0) != 0 && errno != ENOENT) {
      return errno_to_errc(errno);
    }
    if (::mkdirat(parent.get(), leaf, 0755) != 0 && errno != EEXIST) return errno_to_errc(errno);
  }
  const timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(mtime_s), 0}};
  if (::utimensat(parent.get(), leaf, times, AT_SYMLINK_NOFOLLOW) != 0) return errno_to_errc(errno);
  return {};
} catch (const std::exception&) {
  return Errc::io_error;
}

Status PosixFileStore::make_symlink(std::string_view name, std::string_view target) try {
  if (Status st = check_name(name); !st) return st;
  if (target.empty() || target.size() > kMaxLinkTarget ||
      target.find('\0') != std::string_view::npos) {
    return Errc::bad_path;
  }
  Fd parent;
  std::array<char, 304> buf{};
  const char* leaf = nullptr;
  if (Status st = open_parent(name, true, &parent, &buf, &leaf); !st) return st;
  struct stat st {};
  if (::fstatat(parent.get(), leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    return Errc::exists;
  }
  // Build the link in the temp area, then rename it over whatever is there (atomic).
  const TempName tmp(hex_of(name), ".link");
  ::unlinkat(temp_fd_, tmp.c_str(), 0);
  const std::string target_z(target);
  if (::symlinkat(target_z.c_str(), temp_fd_, tmp.c_str()) != 0) return errno_to_errc(errno);
  if (::renameat(temp_fd_, tmp.c_str(), parent.get(), leaf) != 0) {
    const Errc e = errno_to_errc(errno);
    ::unlinkat(temp_fd_, tmp.c_str(), 0);
    return e;
  }
  return {};
} catch (const std::exception&) {
  return Errc::io_error;
}

Status PosixFileStore::remove(std::string_view name) try {
  if (Status st = check_name(name); !st) return st;
  Fd parent;
  std::array<char, 304> buf{};
  const char* leaf = nullptr;
  if (Status st = open_parent(name, false, &parent, &buf, &leaf); !st) {
    return st.error() == Errc::not_found ? Status{} : st;
  }
  return remove_at(parent.get(), leaf);
} catch (const std::exception&) {
  return Errc::io_error;
}

std::uint64_t PosixFileStore::free_bytes() {
  struct statvfs sv {};
  if (::fstatvfs(temp_fd_, &sv) != 0) return 0;
  return static_cast<std::uint64_t>(sv.f_bavail) * static_cast<std::uint64_t>(sv.f_frsize);
}

}  // namespace volley::io
