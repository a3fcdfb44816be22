#include "dataplane/io/mem_file_store.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

namespace volley::io {

namespace {

using proto::EntryInfo;
using Kind = EntryInfo::Kind;

constexpr std::size_t kMaxLinkTarget = 4095;

[[nodiscard]] std::uint64_t bitmap_bytes(std::uint64_t size, std::uint32_t blocksize) noexcept {
  if (size == 0 || blocksize == 0) return 0;
  const std::uint64_t blocks = (size - 1) / blocksize + 1;
  return (blocks + 7) / 8;
}

}  // namespace

MemFileStore::Temp* MemFileStore::slot(proto::FileHandle h) noexcept {
  if (h >= open_.size() || open_[h].name.empty()) return nullptr;
  return &open_[h];
}

void MemFileStore::free_slot(Temp& t) noexcept {
  used_ -= t.charged;
  t = Temp{};  // releases the bytes
  while (!open_.empty() && open_.back().name.empty()) open_.pop_back();
}

void MemFileStore::erase_entry(EntryMap::iterator it) noexcept {
  if (it->second.kind == Kind::dir) {
    // Children ("dir/...") are contiguous, but names like "dir-x" ('-' < '/') sort between.
    const std::string_view dir = it->first;
    const auto has_dir_prefix = [dir](const std::string& n) {
      return n.size() > dir.size() && n.compare(0, dir.size(), dir) == 0;
    };
    auto child = std::next(it);
    while (child != entries_.end() && has_dir_prefix(child->first) &&
           static_cast<unsigned char>(child->first[dir.size()]) < '/') {
      ++child;
    }
    while (child != entries_.end() && has_dir_prefix(child->first) &&
           child->first[dir.size()] == '/') {
      used_ -= child->second.bytes.size();
      child = entries_.erase(child);
    }
  }
  used_ -= it->second.bytes.size();
  entries_.erase(it);
}

Status MemFileStore::make_parents(std::string_view name) {
  std::size_t slash = name.find('/');
  while (slash != std::string_view::npos) {
    const std::string_view dir = name.substr(0, slash);
    auto it = entries_.find(dir);
    if (it == entries_.end()) {
      Entry e;
      e.kind = Kind::dir;
      entries_.emplace(std::string(dir), std::move(e));
    } else if (it->second.kind == Kind::link) {
      return Errc::bad_path;  // symlinks are never followed
    } else if (it->second.kind != Kind::dir) {
      return Errc::io_error;  // ENOTDIR
    }
    slash = name.find('/', slash + 1);
  }
  return {};
}

Result<std::optional<EntryInfo>> MemFileStore::stat(std::string_view name) {
  if (Status st = proto::validate_wire_name(name); !st) return st.error();
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::optional<EntryInfo>{};
  EntryInfo info;
  info.kind = it->second.kind;
  info.size =
      it->second.kind == Kind::link ? it->second.link_target.size() : it->second.bytes.size();
  info.mtime_s = it->second.mtime_s;
  return std::optional<EntryInfo>{info};
}

Result<proto::BeginResult> MemFileStore::begin(const proto::ReceiveSpec& spec) try {
  if (Status st = proto::validate_wire_name(spec.name); !st) return st.error();
  if (spec.blocksize == 0 && spec.size > 0) return Errc::bad_value;
  for (const Temp& t : open_) {
    if (t.name == spec.name) return Errc::exists;
  }
  if (Status st = make_parents(spec.name); !st) return st.error();

  proto::FileHandle h = 0;
  while (h < open_.size() && !open_[h].name.empty()) ++h;
  if (h == open_.size()) open_.emplace_back();
  Temp& t = open_[h];

  proto::BeginResult result;
  result.handle = h;
  auto old = suspended_.find(spec.name);
  if (old != suspended_.end()) {
    const Temp& s = old->second;
    if (s.size == spec.size && s.mtime_s == spec.mtime_s && s.blocksize == spec.blocksize) {
      t = std::move(old->second);
      result.resumed = std::move(t.bits);
      t.bits = {};
      suspended_.erase(old);
      return result;
    }
    used_ -= s.charged;
    suspended_.erase(old);
  }
  try {
    t.bytes.assign(spec.size, 0);
  } catch (const std::exception&) {
    while (!open_.empty() && open_.back().name.empty()) open_.pop_back();
    return Errc::no_space;
  }
  t.size = spec.size;
  t.mtime_s = spec.mtime_s;
  t.blocksize = spec.blocksize;
  t.charged = 0;
  t.name = spec.name;  // last: a named slot is a live one
  return result;
} catch (const std::exception&) {
  return Errc::io_error;
}

Status MemFileStore::write(proto::FileHandle h, std::uint64_t offset,
                           std::span<const std::uint8_t> data) noexcept {
  Temp* t = slot(h);
  if (t == nullptr || offset > t->size || data.size() > t->size - offset) return Errc::bad_value;
  const std::uint64_t end = offset + data.size();
  if (end > t->charged) {
    const std::uint64_t extra = end - t->charged;
    if (used_ > capacity_ || extra > capacity_ - used_) return Errc::no_space;
    used_ += extra;
    t->charged = end;
  }
  if (!data.empty()) std::memcpy(t->bytes.data() + offset, data.data(), data.size());
  return {};
}

Status MemFileStore::commit(proto::FileHandle h) try {
  Temp* t = slot(h);
  if (t == nullptr) return Errc::bad_value;
  if (Status st = make_parents(t->name); !st) {
    free_slot(*t);
    return st;
  }
  auto it = entries_.find(t->name);
  if (it != entries_.end()) {
    erase_entry(it);
  }
  Entry e;
  e.kind = Kind::file;
  e.mtime_s = t->mtime_s;
  e.bytes = std::move(t->bytes);
  used_ += e.bytes.size();
  entries_.insert_or_assign(t->name, std::move(e));
  free_slot(*t);
  return {};
} catch (const std::exception&) {
  if (Temp* t = slot(h)) free_slot(*t);
  return Errc::io_error;
}

void MemFileStore::discard(proto::FileHandle h) {
  if (Temp* t = slot(h)) free_slot(*t);
}

void MemFileStore::suspend(proto::FileHandle h, std::span<const std::uint8_t> received_bits) {
  Temp* t = slot(h);
  if (t == nullptr) return;
  try {
    const auto n = static_cast<std::size_t>(bitmap_bytes(t->size, t->blocksize));
    t->bits.assign(n, 0);
    std::copy_n(received_bits.begin(), std::min(n, received_bits.size()), t->bits.begin());
    const std::uint64_t blocks = n == 0 ? 0 : (t->size - 1) / t->blocksize + 1;
    if (n > 0 && blocks % 8 != 0) {
      t->bits[n - 1] &= static_cast<std::uint8_t>((1U << (blocks % 8)) - 1);
    }
    std::string key = t->name;
    auto [it, inserted] = suspended_.try_emplace(std::move(key));
    if (!inserted) used_ -= it->second.charged;
    it->second = std::move(*t);
    *t = Temp{};
    while (!open_.empty() && open_.back().name.empty()) open_.pop_back();
  } catch (const std::exception&) {
    free_slot(*t);
  }
}

Status MemFileStore::make_dir(std::string_view name, std::int64_t mtime_s) try {
  if (Status st = proto::validate_wire_name(name); !st) return st;
  if (Status st = make_parents(name); !st) return st;
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second.kind != Kind::dir) {
    erase_entry(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    Entry e;
    e.kind = Kind::dir;
    it = entries_.emplace(std::string(name), std::move(e)).first;
  }
  it->second.mtime_s = mtime_s;
  return {};
} catch (const std::exception&) {
  return Errc::io_error;
}

Status MemFileStore::make_symlink(std::string_view name, std::string_view target) try {
  if (Status st = proto::validate_wire_name(name); !st) return st;
  if (target.empty() || target.size() > kMaxLinkTarget ||
      target.find('\0') != std::string_view::npos) {
    return Errc::bad_path;
  }
  if (Status st = make_parents(name); !st) return st;
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    if (it->second.kind == Kind::dir) return Errc::exists;
    erase_entry(it);
  }
  Entry e;
  e.kind = Kind::link;
  e.link_target.assign(target);
  entries_.emplace(std::string(name), std::move(e));
  return {};
} catch (const std::exception&) {
  return Errc::io_error;
}

Status MemFileStore::remove(std::string_view name) try {
  if (Status st = proto::validate_wire_name(name); !st) return st;
  auto it = entries_.find(name);
  if (it != entries_.end()) erase_entry(it);
  return {};
} catch (const std::exception&) {
  return Errc::io_error;
}

std::uint64_t MemFileStore::free_bytes() {
  return used_ >= capacity_ ? 0 : capacity_ - used_;
}

const MemFileStore::Entry* MemFileStore::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> MemFileStore::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

std::size_t MemFileStore::temp_count() const noexcept {
  std::size_t n = suspended_.size();
  for (const Temp& t : open_) {
    if (!t.name.empty()) ++n;
  }
  return n;
}

}  // namespace volley::io
