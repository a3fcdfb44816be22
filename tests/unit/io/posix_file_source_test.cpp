// PosixFileSource: what scan() lists for a real tree (names, types, sizes, mtimes, link targets,
// name order, trailing slashes, skipped special and unreadable files, top-level errors) and what
// read() returns at offsets, across files, past the end and after the file shrank or vanished.
// Every case touches only a fresh mkdtemp() directory, removed afterwards.
#include "dataplane/io/posix_file_source.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.hpp"

namespace volley::io {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using wire::FileType;

constexpr std::int64_t kMtime = 1'700'000'000;

// Deterministic, position-dependent bytes, so a read at the wrong offset cannot pass.
Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  std::uint32_t x = 0x9e3779b9u ^ seed;
  for (auto& v : b) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<std::uint8_t>(x >> 24);
  }
  return b;
}

// The test tree: a TempDir with helpers to fill it.
class TempTree : public test::TempDir {
 public:
  TempTree() : TempDir("volley-src") {}

  void file(const std::string& rel, const Bytes& bytes) const {
    fs::create_directories(fs::path(path(rel)).parent_path());
    std::ofstream out(path(rel), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  void symlink(const std::string& target, const std::string& rel) const {
    fs::create_symlink(target, path(rel));
  }
  // Sets the mtime of `rel` (not following a symlink).
  void touch(const std::string& rel, std::int64_t mtime_s) const {
    const timespec ts[2] = {{mtime_s, 0}, {mtime_s, 0}};
    if (::utimensat(AT_FDCWD, path(rel).c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) std::abort();
  }
};

std::unique_ptr<PosixFileSource> scan_ok(const std::vector<std::string>& paths) {
  std::string why;
  auto src = PosixFileSource::scan(paths, &why);
  EXPECT_TRUE(src) << why;
  if (!src) return nullptr;
  return std::move(*src);
}

// scan(paths) fails with `want` and a message naming `named`; returns the message.
std::string expect_scan_fails(const std::vector<std::string>& paths, Errc want,
                              const std::string& named) {
  std::string why;
  auto src = PosixFileSource::scan(paths, &why);
  EXPECT_FALSE(src) << named;
  EXPECT_EQ(src.error(), want) << named;
  EXPECT_NE(why.find(named), std::string::npos) << why;
  return why;
}

std::vector<std::string> names(const PosixFileSource& src) {
  std::vector<std::string> out;
  for (const auto& e : src.entries()) out.push_back(e.name);
  return out;
}

Bytes read_bytes(PosixFileSource& src, std::size_t index, std::uint64_t offset, std::size_t n) {
  Bytes out(n, 0xEE);
  auto r = src.read(index, offset, out);
  EXPECT_TRUE(r) << "read(" << index << ", " << offset << ") failed: " << error_name(r.error());
  out.resize(r ? *r : 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// scan()

// top/dir/{Zeta, link -> ../a.txt, sub/x, sub/empty, y.bin}, top/a.txt
class ScanTree : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.file("a.txt", pattern(5, 1));
    t_.file("dir/y.bin", pattern(4097, 2));
    t_.file("dir/sub/x", pattern(1000, 3));
    t_.file("dir/sub/empty", {});
    t_.file("dir/Zeta", pattern(7, 4));
    t_.symlink("../a.txt", "dir/link");
    for (const char* p : {"a.txt", "dir/y.bin", "dir/sub/x", "dir/sub/empty", "dir/Zeta",
                          "dir/link", "dir/sub", "dir"}) {
      t_.touch(p, kMtime);
    }
  }
  TempTree t_;
};

TEST_F(ScanTree, DirectoryWalkedInNameOrderWithTypesAndSizes) {
  auto src = scan_ok({t_.path("dir")});
  ASSERT_TRUE(src);
  // Byte order within each directory ('Z' < 'l' < 's' < 'y'), a directory before its contents.
  EXPECT_EQ(names(*src), (std::vector<std::string>{"dir", "dir/Zeta", "dir/link", "dir/sub",
                                                   "dir/sub/empty", "dir/sub/x", "dir/y.bin"}));
  const auto& e = src->entries();
  ASSERT_EQ(e.size(), 7u);
  const FileType want_type[] = {FileType::dir,    FileType::regular, FileType::link,
                                FileType::dir,    FileType::regular, FileType::regular,
                                FileType::regular};
  const std::uint64_t want_size[] = {0, 7, 0, 0, 0, 1000, 4097};
  for (std::size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i].type, want_type[i]) << e[i].name;
    EXPECT_EQ(e[i].size, want_size[i]) << e[i].name;
    EXPECT_EQ(e[i].mtime_s, kMtime) << e[i].name;
  }
  EXPECT_EQ(e[2].link_target, "../a.txt");
  EXPECT_TRUE(e[5].link_target.empty());
  EXPECT_EQ(src->local_path(5), t_.path("dir/sub/x"));
  EXPECT_EQ(src->total_bytes(), 7u + 1000u + 4097u);
  EXPECT_TRUE(src->skipped().empty());
}

TEST_F(ScanTree, TrailingSlashesNameTheLastComponent) {
  for (const std::string suffix : {"/", "//"}) {
    auto src = scan_ok({t_.path("dir/sub") + suffix});
    ASSERT_TRUE(src);
    EXPECT_EQ(names(*src), (std::vector<std::string>{"sub", "sub/empty", "sub/x"})) << suffix;
    // The local path of a child is usable: reading it gives the file's bytes.
    EXPECT_EQ(read_bytes(*src, 2, 0, 1000), pattern(1000, 3)) << src->local_path(2);
  }
}

TEST_F(ScanTree, SeveralTopLevelPathsInCommandLineOrder) {
  auto src = scan_ok({t_.path("dir/y.bin"), t_.path("dir/sub"), t_.path("a.txt")});
  ASSERT_TRUE(src);
  EXPECT_EQ(names(*src), (std::vector<std::string>{"y.bin", "sub", "sub/empty", "sub/x", "a.txt"}));
  EXPECT_EQ(src->total_bytes(), 4097u + 1000u + 5u);
}

TEST_F(ScanTree, TopLevelSymlinkIsSentAsALink) {
  auto src = scan_ok({t_.path("dir/link")});
  ASSERT_TRUE(src);
  ASSERT_EQ(src->entries().size(), 1u);
  EXPECT_EQ(src->entries()[0].name, "link");
  EXPECT_EQ(src->entries()[0].type, FileType::link);
  EXPECT_EQ(src->entries()[0].link_target, "../a.txt");
  EXPECT_EQ(src->entries()[0].size, 0u);
}

TEST_F(ScanTree, TopLevelEmptyFile) {
  auto src = scan_ok({t_.path("dir/sub/empty")});
  ASSERT_TRUE(src);
  ASSERT_EQ(src->entries().size(), 1u);
  EXPECT_EQ(src->entries()[0].name, "empty");
  EXPECT_EQ(src->entries()[0].type, FileType::regular);
  EXPECT_EQ(src->entries()[0].size, 0u);
  EXPECT_EQ(src->total_bytes(), 0u);
}

TEST_F(ScanTree, MissingTopLevelPathIsNotFound) {
  const std::string missing = t_.path("no-such-file");
  const std::string why = expect_scan_fails({t_.path("a.txt"), missing}, Errc::not_found, missing);
  EXPECT_NE(why.find(std::strerror(ENOENT)), std::string::npos) << why;
}

TEST(PosixFileSourceScan, PathsWithoutANameAreRejected) {
  for (const std::string bad : {"/", ".", "..", "./", "../", "//"}) {
    (void)expect_scan_fails({bad}, Errc::bad_path, "'" + bad + "'");
  }
}

TEST(PosixFileSourceScan, FifoInsideADirectoryIsSkippedAndAtTopLevelRefused) {
  TempTree t;
  t.file("d/a", pattern(3, 5));
  if (::mkfifo(t.path("d/pipe").c_str(), 0600) != 0) {
    GTEST_SKIP() << "cannot create a FIFO here: " << std::strerror(errno);
  }
  auto src = scan_ok({t.path("d")});
  ASSERT_TRUE(src);
  EXPECT_EQ(names(*src), (std::vector<std::string>{"d", "d/a"}));
  ASSERT_EQ(src->skipped().size(), 1u);
  EXPECT_EQ(src->skipped()[0].path, t.path("d/pipe"));
  EXPECT_EQ(src->skipped()[0].why, "not a regular file, directory or symlink");

  (void)expect_scan_fails({t.path("d/pipe")}, Errc::bad_value, t.path("d/pipe"));
}

TEST(PosixFileSourceScan, UnreadableFilesAndDirectoriesInsideAreSkipped) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file: permissions cannot be tested";
  TempTree t;
  t.file("d/ok", pattern(10, 6));
  t.file("d/secret", pattern(10, 7));
  t.file("d/locked/inner", pattern(10, 8));
  fs::permissions(t.path("d/secret"), fs::perms::none);
  fs::permissions(t.path("d/locked"), fs::perms::owner_write);  // no read, no search
  auto src = scan_ok({t.path("d")});
  ASSERT_TRUE(src);
  // The unlistable directory is still an entry (it can be created); its contents are not.
  EXPECT_EQ(names(*src), (std::vector<std::string>{"d", "d/locked", "d/ok"}));
  ASSERT_EQ(src->skipped().size(), 2u);
  EXPECT_EQ(src->skipped()[0].path, t.path("d/locked"));
  EXPECT_EQ(src->skipped()[0].why.rfind("cannot list: ", 0), 0u) << src->skipped()[0].why;
  EXPECT_EQ(src->skipped()[1].path, t.path("d/secret"));
  EXPECT_EQ(src->skipped()[1].why, "not readable");

  (void)expect_scan_fails({t.path("d/secret")}, Errc::io_error, t.path("d/secret"));
}

// ---------------------------------------------------------------------------------------------
// read()

class ReadTree : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.file("d/big", big_);
    t_.file("d/small", small_);
    t_.file("d/zero", {});
    t_.symlink("big", "d/zz_link");
    src_ = scan_ok({t_.path("d")});
    ASSERT_TRUE(src_);
    ASSERT_EQ(names(*src_),
              (std::vector<std::string>{"d", "d/big", "d/small", "d/zero", "d/zz_link"}));
  }
  static constexpr std::size_t kBig = 3 * 8800 + 17;
  static constexpr std::size_t kBigIdx = 1, kSmallIdx = 2, kZeroIdx = 3, kLinkIdx = 4;
  Bytes slice(const Bytes& b, std::size_t off, std::size_t n) {
    return {b.begin() + static_cast<std::ptrdiff_t>(off),
            b.begin() + static_cast<std::ptrdiff_t>(off + n)};
  }
  const Bytes big_ = pattern(kBig, 9);
  const Bytes small_ = pattern(100, 10);
  TempTree t_;
  std::unique_ptr<PosixFileSource> src_;
};

TEST_F(ReadTree, ExactBytesAtBlockOffsets) {
  for (std::uint64_t off : {0ull, 8800ull, 2ull * 8800, 1ull, 4095ull}) {
    EXPECT_EQ(read_bytes(*src_, kBigIdx, off, 8800), slice(big_, off, 8800)) << off;
  }
}

TEST_F(ReadTree, ShortReadAtTheEndAndNothingPastIt) {
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 3 * 8800, 8800), slice(big_, 3 * 8800, 17));
  EXPECT_EQ(read_bytes(*src_, kBigIdx, kBig, 8800).size(), 0u);
  EXPECT_EQ(read_bytes(*src_, kBigIdx, kBig + 5000, 8800).size(), 0u);
  EXPECT_EQ(read_bytes(*src_, kZeroIdx, 0, 1300).size(), 0u);
}

TEST_F(ReadTree, SwitchingBetweenFilesKeepsEachFilesBytes) {
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 100, 50), slice(big_, 100, 50));
  EXPECT_EQ(read_bytes(*src_, kSmallIdx, 10, 50), slice(small_, 10, 50));
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 8800, 50), slice(big_, 8800, 50));
  EXPECT_EQ(read_bytes(*src_, kSmallIdx, 0, 1300), small_);
}

TEST_F(ReadTree, ShortReadWhenTheFileShrankAfterScan) {
  EXPECT_EQ(src_->entries()[kBigIdx].size, kBig);
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 0, 10), slice(big_, 0, 10));  // descriptor now open
  ASSERT_EQ(::truncate(t_.path("d/big").c_str(), 8800 + 300), 0) << std::strerror(errno);
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 8800, 8800), slice(big_, 8800, 300));
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 2 * 8800, 8800).size(), 0u);
  // The scanned size is what the session announced; it does not change.
  EXPECT_EQ(src_->entries()[kBigIdx].size, kBig);
}

TEST_F(ReadTree, ShortReadWhenTheFileShrankBetweenSequentialReads) {
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 0, 8800), slice(big_, 0, 8800));
  ASSERT_EQ(::truncate(t_.path("d/big").c_str(), 2 * 8800 + 5), 0) << std::strerror(errno);
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 8800, 8800), slice(big_, 8800, 8800));
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 2 * 8800, 8800), slice(big_, 2 * 8800, 5));
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 3 * 8800, 8800).size(), 0u);
}

// Files of several MiB, read the way the block sender reads them: a sequential first pass in
// block-size steps (served through the read-ahead window), repair reads scattered behind and
// ahead of it, and a switch to another file and back in the middle.
TEST(PosixFileSourceRead, SequentialPassesAndScatteredRepairsAcrossLargeFiles) {
  TempTree t;
  const Bytes a = pattern((5u << 20) + 1234, 21);
  const Bytes b = pattern((2u << 20) + 1, 22);
  t.file("a", a);
  t.file("b", b);
  auto src = scan_ok({t.path("a"), t.path("b")});
  ASSERT_TRUE(src);
  auto expect_block = [&](std::size_t index, const Bytes& file, std::uint64_t off, std::size_t n) {
    const std::size_t want = off >= file.size() ? 0 : std::min<std::size_t>(n, file.size() - off);
    const Bytes got = read_bytes(*src, index, off, n);
    ASSERT_EQ(got.size(), want) << "file " << index << " offset " << off;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), file.begin() + static_cast<std::ptrdiff_t>(off)))
        << "file " << index << " offset " << off;
  };
  for (const std::size_t block : {std::size_t{8800}, std::size_t{1300}}) {
    for (std::uint64_t off = 0; off < a.size(); off += block) {
      expect_block(0, a, off, block);
      if (off == 40 * block) {  // repairs behind, far ahead, and a switch to the other file
        expect_block(0, a, 3 * block, block);
        expect_block(0, a, a.size() - 100, block);
        expect_block(1, b, block, block);
        expect_block(1, b, 0, block);
        expect_block(0, a, off, block);
      }
    }
    for (std::uint64_t off = 0; off < b.size(); off += block) expect_block(1, b, off, block);
  }
  // A request larger than the window, and one straddling the end.
  expect_block(0, a, 100, 3u << 20);
  expect_block(0, a, a.size() - 10, 8800);
}

TEST_F(ReadTree, ErrorsForVanishedFilesNonFilesAndBadIndexes) {
  Bytes out(64);
  fs::remove(t_.path("d/small"));
  auto gone = src_->read(kSmallIdx, 0, out);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error(), Errc::io_error);
  // A symlink entry is never followed, a directory has no bytes.
  auto link = src_->read(kLinkIdx, 0, out);
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error(), Errc::io_error);
  auto dir = src_->read(0, 0, out);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error(), Errc::io_error);
  auto past = src_->read(src_->entries().size(), 0, out);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), Errc::not_found);
  // After the failures a good file still reads.
  EXPECT_EQ(read_bytes(*src_, kBigIdx, 17, 64), slice(big_, 17, 64));
}

}  // namespace
}  // namespace volley::io
