// FileStore: validate_wire_name(), one behavioural suite run against every store (PosixFileStore
// with openat2 and with the component walk, MemFileStore), then POSIX- and memory-only cases.
// The POSIX tests touch only a fresh mkdtemp() directory, removed afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/io/mem_file_store.hpp"
#include "dataplane/io/posix_file_store.hpp"
#include "dataplane/proto/file_store.hpp"
#include "tests/unit/temp_dir.hpp"

namespace volley::io {
namespace {

namespace fs = std::filesystem;
using proto::BeginResult;
using proto::EntryInfo;
using proto::FileStore;
using proto::ReceiveSpec;
using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// validate_wire_name

TEST(ValidateWireName, AcceptsRelativeNames) {
  const std::string longest(300, 'x');
  for (const std::string& good :
       {std::string("a"), std::string("a/b/c.txt"), std::string("with space/and more.txt"),
        std::string("\xc3\xa9t\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt"), std::string(".hidden"),
        std::string("a/..b/c.."), std::string("..."), longest}) {
    EXPECT_TRUE(proto::validate_wire_name(good)) << good;
  }
}

TEST(ValidateWireName, RejectsMalformedNames) {
  using namespace std::string_literals;
  for (const std::string& bad :
       {""s, "/abs"s, "/"s, "a/../b"s, ".."s, "."s, "../a"s, "a/.."s, "a//b"s, "a/./b"s, "./a"s,
        "a/"s, "a\0b"s, "\0"s, std::string(301, 'x')}) {
    const Status st = proto::validate_wire_name(bad);
    EXPECT_FALSE(st) << "accepted: " << bad;
    EXPECT_EQ(st.error(), Errc::bad_path) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Environments: a store plus a way to look at what it holds from the outside.

struct TempTree : test::TempDir {
  TempTree() : TempDir("volley-fs") {}
};

std::optional<Bytes> read_host_file(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(p, ec))) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <PosixFileStore::Resolver kResolver>
struct PosixEnvT {
  PosixEnvT() : root(tree.dir() + "/root") {
    fs::create_directory(root);
    PosixFileStore::Options opt;
    opt.resolver = kResolver;
    std::string why;
    auto r = PosixFileStore::open_with(root, opt, &why);
    if (!r) {
      ADD_FAILURE() << why;
      return;
    }
    store = std::move(r.value());
  }
  FileStore& fs() { return *store; }
  std::optional<Bytes> read(const std::string& name) { return read_host_file(root + "/" + name); }
  std::optional<std::string> link_target(const std::string& name) {
    std::error_code ec;
    auto t = fs::read_symlink(root + "/" + name, ec);
    if (ec) return std::nullopt;
    return t.string();
  }
  std::size_t temp_count() {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(store->temp_dir())) {
      if (e.path().extension() == ".part") ++n;
    }
    return n;
  }
  // Everything visible under the root (temp area excluded), sorted.
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string rel = fs::relative(it->path(), root).string();
      if (rel == PosixFileStore::kDefaultTempName) {
        it.disable_recursion_pending();
        continue;
      }
      out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TempTree tree;
  std::string root;
  std::unique_ptr<PosixFileStore> store;
};

struct PosixEnv : PosixEnvT<PosixFileStore::Resolver::automatic> {
  static constexpr const char* kName = "Posix";
};
struct PosixWalkEnv : PosixEnvT<PosixFileStore::Resolver::component_walk> {
  static constexpr const char* kName = "PosixWalk";
};

struct MemEnv {
  static constexpr const char* kName = "Mem";
  FileStore& fs() { return store; }
  std::optional<Bytes> read(const std::string& name) {
    const MemFileStore::Entry* e = store.find(name);
    if (e == nullptr || e->kind != EntryInfo::Kind::file) return std::nullopt;
    return e->bytes;
  }
  std::optional<std::string> link_target(const std::string& name) {
    const MemFileStore::Entry* e = store.find(name);
    if (e == nullptr || e->kind != EntryInfo::Kind::link) return std::nullopt;
    return e->link_target;
  }
  std::size_t temp_count() { return store.temp_count(); }
  std::vector<std::string> names() { return store.names(); }
  MemFileStore store;
};

struct EnvNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

Bytes pattern(std::size_t n, unsigned seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 131 + seed) >> 1);
  return b;
}

ReceiveSpec spec_of(std::string name, std::uint64_t size, std::int64_t mtime_s = 1'600'000'000,
                    std::uint32_t blocksize = 1024) {
  ReceiveSpec s;
  s.group_id = 7;
  s.file_id = 1;
  s.name = std::move(name);
  s.size = size;
  s.mtime_s = mtime_s;
  s.blocksize = blocksize;
  return s;
}

// Writes the given blocks of `data` (block size from `spec`).
void write_blocks(FileStore& store, proto::FileHandle h, const ReceiveSpec& spec, const Bytes& data,
                  const std::vector<std::size_t>& blocks) {
  for (std::size_t b : blocks) {
    const std::size_t off = b * spec.blocksize;
    const std::size_t n = std::min<std::size_t>(spec.blocksize, data.size() - off);
    ASSERT_TRUE(store.write(h, off, std::span<const std::uint8_t>(data.data() + off, n)))
        << "block " << b;
  }
}

// Receives a whole file in order and commits it.
void receive(FileStore& store, const ReceiveSpec& spec, const Bytes& data) {
  auto b = store.begin(spec);
  ASSERT_TRUE(b) << error_name(b.error());
  std::vector<std::size_t> all(
      spec.blocksize == 0 ? 0 : (data.size() + spec.blocksize - 1) / spec.blocksize);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  write_blocks(store, b->handle, spec, data, all);
  ASSERT_TRUE(store.commit(b->handle));
}

std::optional<EntryInfo> stat_ok(FileStore& store, std::string_view name) {
  auto r = store.stat(name);
  EXPECT_TRUE(r) << name << ": " << error_name(r.error());
  return r ? *r : std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The suite every store must pass.

template <typename Env>
class FileStoreTest : public ::testing::Test {
 protected:
  Env env;
  FileStore& store() { return env.fs(); }
};

using Envs = ::testing::Types<PosixEnv, PosixWalkEnv, MemEnv>;
TYPED_TEST_SUITE(FileStoreTest, Envs, EnvNames);

TYPED_TEST(FileStoreTest, OutOfOrderBlocksThenCommit) {
  const ReceiveSpec spec = spec_of("sub/dir/file.bin", 10'000, 1'234'567'890);
  const Bytes data = pattern(spec.size, 3);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b) << error_name(b.error());
  EXPECT_FALSE(b->resumed.has_value());
  write_blocks(this->store(), b->handle, spec, data, {9, 3, 0, 7, 1, 8, 2, 6, 4, 5});
  ASSERT_TRUE(this->store().commit(b->handle));

  EXPECT_EQ(this->env.read("sub/dir/file.bin"), data);
  const auto info = stat_ok(this->store(), "sub/dir/file.bin");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, EntryInfo::Kind::file);
  EXPECT_EQ(info->size, spec.size);
  EXPECT_EQ(info->mtime_s, 1'234'567'890);
  EXPECT_EQ(this->env.temp_count(), 0u);
}

TYPED_TEST(FileStoreTest, GatheredWriteLandsBackToBack) {
  auto& store = this->env.fs();
  const Bytes data = pattern(5000, 3);
  const auto spec = spec_of("gather.bin", data.size());
  auto b = store.begin(spec);
  ASSERT_TRUE(b);
  // Uneven parts, an empty one among them, and more parts than one pwritev takes (64).
  std::vector<std::span<const std::uint8_t>> parts;
  std::size_t off = 0;
  for (std::size_t i = 0; off < data.size(); ++i) {
    const std::size_t n = i == 3 ? 0 : std::min<std::size_t>(1 + (i * 7) % 60, data.size() - off);
    parts.emplace_back(data.data() + off, n);
    off += n;
  }
  ASSERT_GT(parts.size(), 64u);
  ASSERT_TRUE(store.write_gather(b->handle, 0, parts));
  ASSERT_TRUE(store.commit(b->handle));
  EXPECT_EQ(this->env.read("gather.bin"), data);
}

TYPED_TEST(FileStoreTest, GatheredWritePastTheEndIsRefused) {
  auto& store = this->env.fs();
  const Bytes data = pattern(100, 4);
  auto b = store.begin(spec_of("short.bin", data.size()));
  ASSERT_TRUE(b);
  const std::vector<std::span<const std::uint8_t>> parts = {{data.data(), 60}, {data.data(), 60}};
  EXPECT_FALSE(store.write_gather(b->handle, 0, parts));
  store.discard(b->handle);
}

TYPED_TEST(FileStoreTest, NothingVisibleBeforeCommit) {
  const ReceiveSpec spec = spec_of("d/f.txt", 3000);
  const Bytes data = pattern(spec.size, 5);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  write_blocks(this->store(), b->handle, spec, data, {0, 1, 2});
  EXPECT_EQ(this->env.temp_count(), 1u);
  EXPECT_EQ(stat_ok(this->store(), "d/f.txt"), std::nullopt);
  EXPECT_EQ(this->env.read("d/f.txt"), std::nullopt);
  EXPECT_EQ(this->env.names(), std::vector<std::string>{"d"});  // only the parent
  ASSERT_TRUE(this->store().commit(b->handle));
  EXPECT_EQ(this->env.names(), (std::vector<std::string>{"d", "d/f.txt"}));
}

TYPED_TEST(FileStoreTest, DiscardLeavesNothing) {
  const ReceiveSpec spec = spec_of("gone.bin", 5000);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  write_blocks(this->store(), b->handle, spec, pattern(spec.size, 1), {0, 4});
  this->store().discard(b->handle);
  EXPECT_EQ(this->env.temp_count(), 0u);
  EXPECT_EQ(stat_ok(this->store(), "gone.bin"), std::nullopt);
  EXPECT_TRUE(this->env.names().empty());
  const std::uint8_t byte = 1;
  EXPECT_EQ(this->store().write(b->handle, 0, {&byte, 1}).error(), Errc::bad_value);
  EXPECT_EQ(this->store().commit(b->handle).error(), Errc::bad_value);
}

TYPED_TEST(FileStoreTest, SuspendThenResumeKeepsMapAndData) {
  const ReceiveSpec spec = spec_of("big/part.bin", 10'000);  // 10 blocks
  const Bytes data = pattern(spec.size, 9);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  write_blocks(this->store(), b->handle, spec, data, {0, 2, 5, 9});
  const Bytes bits = {0b0010'0101, 0b10};
  this->store().suspend(b->handle, bits);
  EXPECT_EQ(this->env.temp_count(), 1u);
  EXPECT_EQ(stat_ok(this->store(), "big/part.bin"), std::nullopt);

  auto again = this->store().begin(spec);
  ASSERT_TRUE(again) << error_name(again.error());
  ASSERT_TRUE(again->resumed.has_value());
  EXPECT_EQ(*again->resumed, bits);
  write_blocks(this->store(), again->handle, spec, data, {1, 3, 4, 6, 7, 8});  // the rest only
  ASSERT_TRUE(this->store().commit(again->handle));
  EXPECT_EQ(this->env.read("big/part.bin"), data);
  EXPECT_EQ(this->env.temp_count(), 0u);
}

TYPED_TEST(FileStoreTest, SuspendedBitmapIsCutToTheFileAndMasked) {
  const ReceiveSpec spec = spec_of("odd.bin", 11 * 1024 - 5);  // 11 blocks -> 2 bytes
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  // A word-padded map with stray bits past block 10.
  this->store().suspend(b->handle, Bytes{0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0});
  auto again = this->store().begin(spec);
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->resumed.has_value());
  EXPECT_EQ(*again->resumed, (Bytes{0xFF, 0x07}));
  // Shorter than needed: zero-padded.
  this->store().suspend(again->handle, Bytes{0x01});
  auto third = this->store().begin(spec);
  ASSERT_TRUE(third);
  ASSERT_TRUE(third->resumed.has_value());
  EXPECT_EQ(*third->resumed, (Bytes{0x01, 0x00}));
  this->store().discard(third->handle);
}

TYPED_TEST(FileStoreTest, MismatchedSuspendStartsFresh) {
  const ReceiveSpec spec = spec_of("m.bin", 4096);
  const Bytes data = pattern(spec.size, 2);
  for (const ReceiveSpec& other : {spec_of("m.bin", 4097), spec_of("m.bin", 4096, 1),
                                   spec_of("m.bin", 4096, 1'600'000'000, 512)}) {
    auto b = this->store().begin(spec);
    ASSERT_TRUE(b);
    write_blocks(this->store(), b->handle, spec, data, {0, 1, 2, 3});
    this->store().suspend(b->handle, Bytes{0x0F});

    auto fresh = this->store().begin(other);
    ASSERT_TRUE(fresh);
    EXPECT_FALSE(fresh->resumed.has_value()) << other.size << " " << other.mtime_s;
    ASSERT_TRUE(this->store().commit(fresh->handle));
    EXPECT_EQ(this->env.read("m.bin"), Bytes(other.size, 0));  // old data not kept
    EXPECT_EQ(this->env.temp_count(), 0u);
  }
}

TYPED_TEST(FileStoreTest, CommitReplacesExistingFile) {
  receive(this->store(), spec_of("r.txt", 2000), pattern(2000, 1));
  const Bytes second = pattern(700, 77);
  receive(this->store(), spec_of("r.txt", 700, 42), second);
  EXPECT_EQ(this->env.read("r.txt"), second);
  EXPECT_EQ(stat_ok(this->store(), "r.txt")->mtime_s, 42);
}

TYPED_TEST(FileStoreTest, EmptyFile) {
  receive(this->store(), spec_of("empty", 0, 5, 0), Bytes{});
  EXPECT_EQ(this->env.read("empty"), Bytes{});
  EXPECT_EQ(stat_ok(this->store(), "empty")->mtime_s, 5);
}

TYPED_TEST(FileStoreTest, DirectoriesSymlinksAndTreeDelete) {
  ASSERT_TRUE(this->store().make_dir("d", 111));
  ASSERT_TRUE(this->store().make_dir("d/e/f", 222));  // parents implicitly
  receive(this->store(), spec_of("d/e/x.bin", 100), pattern(100, 4));
  ASSERT_TRUE(this->store().make_symlink("d/l", "../elsewhere/../x"));
  ASSERT_TRUE(this->store().make_dir("d-sibling", 1));  // sorts between "d" and "d/..."
  ASSERT_TRUE(this->store().make_dir("d", 333));        // existing dir: mtime only

  const auto d = stat_ok(this->store(), "d");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, EntryInfo::Kind::dir);
  EXPECT_EQ(d->mtime_s, 333);
  EXPECT_EQ(stat_ok(this->store(), "d/e/f")->kind, EntryInfo::Kind::dir);
  EXPECT_EQ(stat_ok(this->store(), "d/e/f")->mtime_s, 222);
  EXPECT_EQ(stat_ok(this->store(), "d/e")->kind, EntryInfo::Kind::dir);
  EXPECT_EQ(stat_ok(this->store(), "d/l")->kind, EntryInfo::Kind::link);
  EXPECT_EQ(this->env.link_target("d/l"), "../elsewhere/../x");  // stored verbatim
  EXPECT_EQ(this->env.names(),
            (std::vector<std::string>{"d", "d-sibling", "d/e", "d/e/f", "d/e/x.bin", "d/l"}));

  ASSERT_TRUE(this->store().remove("d"));
  EXPECT_EQ(this->env.names(), std::vector<std::string>{"d-sibling"});
  EXPECT_TRUE(this->store().remove("d"));         // absent: ok
  EXPECT_TRUE(this->store().remove("nope/x/y"));  // absent parents: ok
}

TYPED_TEST(FileStoreTest, RemoveLinkKeepsItsTarget) {
  ASSERT_TRUE(this->store().make_dir("real", 1));
  receive(this->store(), spec_of("real/keep", 10), pattern(10, 1));
  ASSERT_TRUE(this->store().make_symlink("alias", "real"));
  ASSERT_TRUE(this->store().remove("alias"));
  EXPECT_EQ(this->env.names(), (std::vector<std::string>{"real", "real/keep"}));
}

TYPED_TEST(FileStoreTest, FileReplacesDirectory) {
  ASSERT_TRUE(this->store().make_dir("x/y", 1));
  receive(this->store(), spec_of("x/inner", 50), pattern(50, 1));
  const Bytes data = pattern(3000, 8);
  receive(this->store(), spec_of("x", 3000, 99), data);
  EXPECT_EQ(this->env.read("x"), data);
  EXPECT_EQ(stat_ok(this->store(), "x")->kind, EntryInfo::Kind::file);
  EXPECT_EQ(this->env.names(), std::vector<std::string>{"x"});
}

TYPED_TEST(FileStoreTest, LinksAndDirsReplaceNonDirectories) {
  receive(this->store(), spec_of("f", 10), pattern(10, 1));
  ASSERT_TRUE(this->store().make_symlink("f", "target-1"));
  EXPECT_EQ(stat_ok(this->store(), "f")->kind, EntryInfo::Kind::link);
  ASSERT_TRUE(this->store().make_symlink("f", "target-2"));
  EXPECT_EQ(this->env.link_target("f"), "target-2");
  ASSERT_TRUE(this->store().make_dir("f", 7));
  EXPECT_EQ(stat_ok(this->store(), "f")->kind, EntryInfo::Kind::dir);
  EXPECT_EQ(this->store().make_symlink("f", "t").error(), Errc::exists);
  EXPECT_EQ(stat_ok(this->store(), "f")->kind, EntryInfo::Kind::dir);
  // A received file replaces a link (the link, not its target).
  ASSERT_TRUE(this->store().make_symlink("g", "f"));
  receive(this->store(), spec_of("g", 4), Bytes{1, 2, 3, 4});
  EXPECT_EQ(this->env.read("g"), (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(stat_ok(this->store(), "f")->kind, EntryInfo::Kind::dir);
}

TYPED_TEST(FileStoreTest, InvalidNamesAndTargetsRejected) {
  using namespace std::string_literals;
  for (const std::string& bad : {"../x"s, "/abs"s, "a//b"s, "a/./b"s, ""s, "n\0ul"s}) {
    EXPECT_EQ(this->store().begin(spec_of(bad, 1)).error(), Errc::bad_path) << bad;
    EXPECT_EQ(this->store().make_dir(bad, 0).error(), Errc::bad_path) << bad;
    EXPECT_EQ(this->store().make_symlink(bad, "t").error(), Errc::bad_path) << bad;
    EXPECT_EQ(this->store().remove(bad).error(), Errc::bad_path) << bad;
    EXPECT_EQ(this->store().stat(bad).error(), Errc::bad_path) << bad;
  }
  EXPECT_EQ(this->store().make_symlink("l", "").error(), Errc::bad_path);
  EXPECT_EQ(this->store().make_symlink("l", "a\0b"s).error(), Errc::bad_path);
  EXPECT_TRUE(this->env.names().empty());
}

TYPED_TEST(FileStoreTest, BadHandlesAndRanges) {
  const ReceiveSpec spec = spec_of("h", 100);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  const Bytes ten(10, 1);
  EXPECT_TRUE(this->store().write(b->handle, 90, ten));
  EXPECT_EQ(this->store().write(b->handle, 91, ten).error(), Errc::bad_value);
  EXPECT_EQ(this->store().write(b->handle, UINT64_MAX - 2, ten).error(), Errc::bad_value);
  EXPECT_EQ(this->store().write(b->handle + 100, 0, ten).error(), Errc::bad_value);
  EXPECT_EQ(this->store().begin(spec_of("z", 100, 0, 0)).error(), Errc::bad_value);
  // Receiving the same name twice at once is refused.
  EXPECT_EQ(this->store().begin(spec).error(), Errc::exists);
  this->store().discard(b->handle);
  this->store().discard(b->handle);  // twice: harmless
  auto again = this->store().begin(spec);
  ASSERT_TRUE(again);
  this->store().discard(again->handle);
}

TYPED_TEST(FileStoreTest, TwoFilesAtOnce) {
  const ReceiveSpec s1 = spec_of("one", 2048);
  const ReceiveSpec s2 = spec_of("two", 2048);
  const Bytes d1 = pattern(2048, 1);
  const Bytes d2 = pattern(2048, 2);
  auto b1 = this->store().begin(s1);
  auto b2 = this->store().begin(s2);
  ASSERT_TRUE(b1 && b2);
  EXPECT_NE(b1->handle, b2->handle);
  write_blocks(this->store(), b2->handle, s2, d2, {1, 0});
  write_blocks(this->store(), b1->handle, s1, d1, {0, 1});
  ASSERT_TRUE(this->store().commit(b2->handle));
  ASSERT_TRUE(this->store().commit(b1->handle));
  EXPECT_EQ(this->env.read("one"), d1);
  EXPECT_EQ(this->env.read("two"), d2);
}

TYPED_TEST(FileStoreTest, ParentThatIsAFileFails) {
  receive(this->store(), spec_of("plain", 10), pattern(10, 1));
  EXPECT_FALSE(this->store().begin(spec_of("plain/child", 10)));
  EXPECT_FALSE(this->store().make_dir("plain/sub", 0));
  EXPECT_EQ(stat_ok(this->store(), "plain/child"), std::nullopt);
  EXPECT_TRUE(this->store().remove("plain/child"));
  EXPECT_EQ(this->env.read("plain"), pattern(10, 1));
}

TYPED_TEST(FileStoreTest, FreeBytesIsPositive) {
  EXPECT_GT(this->store().free_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------------
// POSIX only

template <typename Env>
class PosixStoreTest : public ::testing::Test {
 protected:
  Env env;
  PosixFileStore& store() { return *env.store; }
};
using PosixEnvs = ::testing::Types<PosixEnv, PosixWalkEnv>;
TYPED_TEST_SUITE(PosixStoreTest, PosixEnvs, EnvNames);

// Every file under `dir` (recursive, not following links).
std::vector<std::string> list_tree(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TYPED_TEST(PosixStoreTest, SymlinkOutOfRootIsNeverFollowed) {
  const std::string outside = this->env.tree.dir() + "/outside";
  fs::create_directory(outside);
  { std::ofstream(outside + "/victim") << "keep me"; }
  fs::create_directory_symlink(outside, this->env.root + "/link");      // absolute
  fs::create_directory_symlink("../outside", this->env.root + "/rel");  // relative
  ASSERT_TRUE(this->store().make_dir("real", 1));
  fs::create_directory_symlink("../../outside", this->env.root + "/real/deep");

  for (const std::string dir : {"link", "rel", "real/deep"}) {
    auto b = this->store().begin(spec_of(dir + "/evil", 10));
    ASSERT_FALSE(b) << dir;
    EXPECT_TRUE(b.error() == Errc::bad_path || b.error() == Errc::io_error) << dir;
    EXPECT_FALSE(this->store().begin(spec_of(dir + "/new/evil", 10))) << dir;
    EXPECT_FALSE(this->store().make_dir(dir + "/newdir", 0)) << dir;
    EXPECT_FALSE(this->store().make_symlink(dir + "/newlink", "x")) << dir;
    EXPECT_FALSE(this->store().remove(dir + "/victim")) << dir;
    auto st = this->store().stat(dir + "/victim");
    EXPECT_TRUE(!st || !st->has_value()) << dir;  // error or "nothing", never the outside file
  }
  EXPECT_EQ(list_tree(outside), std::vector<std::string>{"victim"});
  EXPECT_EQ(read_host_file(outside + "/victim"), (Bytes{'k', 'e', 'e', 'p', ' ', 'm', 'e'}));
  // Removing a link, or a tree holding one, removes the link only.
  ASSERT_TRUE(this->store().remove("real"));
  EXPECT_EQ(stat_ok(this->store(), "real"), std::nullopt);
  ASSERT_TRUE(this->store().remove("link"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(this->env.root + "/link")));
  EXPECT_EQ(list_tree(outside), std::vector<std::string>{"victim"});
}

TYPED_TEST(PosixStoreTest, ParentSwappedForSymlinkBeforeCommit) {
  const std::string outside = this->env.tree.dir() + "/outside";
  fs::create_directory(outside);
  const ReceiveSpec spec = spec_of("dir/f", 10);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  ASSERT_TRUE(this->store().write(b->handle, 0, pattern(10, 1)));
  fs::remove(this->env.root + "/dir");
  fs::create_directory_symlink(outside, this->env.root + "/dir");
  EXPECT_FALSE(this->store().commit(b->handle));
  EXPECT_TRUE(list_tree(outside).empty());
  EXPECT_EQ(this->env.temp_count(), 0u);
}

TYPED_TEST(PosixStoreTest, SymlinkInsideRootOnlyWithOpenat2) {
  ASSERT_TRUE(this->store().make_dir("real", 1));
  ASSERT_TRUE(this->store().make_symlink("alias", "real"));
  auto b = this->store().begin(spec_of("alias/f", 3));
  if (this->store().uses_openat2()) {
    ASSERT_TRUE(b) << error_name(b.error());
    ASSERT_TRUE(this->store().write(b->handle, 0, Bytes{1, 2, 3}));
    ASSERT_TRUE(this->store().commit(b->handle));
    EXPECT_EQ(this->env.read("real/f"), (Bytes{1, 2, 3}));
  } else {
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), Errc::bad_path);
  }
}

TYPED_TEST(PosixStoreTest, TempAreaIsNotAWireName) {
  const std::string t(PosixFileStore::kDefaultTempName);
  EXPECT_EQ(this->store().temp_dir(), this->env.root + "/" + t);
  EXPECT_EQ(this->store().begin(spec_of(t + "/x", 1)).error(), Errc::bad_path);
  EXPECT_EQ(this->store().begin(spec_of(t, 1)).error(), Errc::bad_path);
  EXPECT_EQ(this->store().make_dir(t + "/d", 0).error(), Errc::bad_path);
  EXPECT_EQ(this->store().make_symlink(t, "x").error(), Errc::bad_path);
  EXPECT_EQ(this->store().remove(t).error(), Errc::bad_path);
  EXPECT_EQ(this->store().stat(t).error(), Errc::bad_path);
  EXPECT_TRUE(this->store().begin(spec_of(t + "x", 1)));  // only that exact component

  // Nor through a link pointing at it.
  fs::create_directory_symlink(t, this->env.root + "/tl");
  auto b = this->store().begin(spec_of("tl/x", 1));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), Errc::bad_path);
  auto deeper = this->store().begin(spec_of("tl/a/b", 1));  // would mkdir inside the temp area
  ASSERT_FALSE(deeper);
  EXPECT_EQ(deeper.error(), Errc::bad_path);
  EXPECT_EQ(this->store().begin(spec_of(t + "/a/b", 1)).error(), Errc::bad_path);
  EXPECT_EQ(this->store().make_dir(t + "/a/b", 0).error(), Errc::bad_path);
  for (const auto& e : fs::directory_iterator(this->store().temp_dir())) {
    EXPECT_FALSE(e.is_directory()) << e.path();
  }
  EXPECT_TRUE(this->store().remove("tl"));
  EXPECT_TRUE(fs::is_directory(this->store().temp_dir()));
  struct stat st {};
  ASSERT_EQ(::stat(this->store().temp_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TYPED_TEST(PosixStoreTest, TempFileNamedByFnv1aOfTheName) {
  EXPECT_EQ(PosixFileStore::temp_file_name("a"), "af63dc4c8601ec8c.part");  // FNV-1a-64 vector
  EXPECT_EQ(PosixFileStore::temp_file_name(""), "cbf29ce484222325.part");
  auto b = this->store().begin(spec_of("a", 100));
  ASSERT_TRUE(b);
  EXPECT_TRUE(fs::is_regular_file(this->store().temp_dir() + "/af63dc4c8601ec8c.part"));
  EXPECT_EQ(fs::file_size(this->store().temp_dir() + "/af63dc4c8601ec8c.part"), 100u);
  this->store().suspend(b->handle, Bytes{0});
  EXPECT_TRUE(fs::is_regular_file(this->store().temp_dir() + "/af63dc4c8601ec8c.state"));
}

TYPED_TEST(PosixStoreTest, ResumeAcrossStores) {
  const ReceiveSpec spec = spec_of("x/y.bin", 5000);
  const Bytes data = pattern(spec.size, 6);
  {
    auto b = this->store().begin(spec);
    ASSERT_TRUE(b);
    write_blocks(this->store(), b->handle, spec, data, {0, 4});
    this->store().suspend(b->handle, Bytes{0b1'0001});
  }
  this->env.store.reset();
  auto reopened = PosixFileStore::open(this->env.root);
  ASSERT_TRUE(reopened);
  PosixFileStore& s = **reopened;
  auto b = s.begin(spec);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->resumed.has_value());
  EXPECT_EQ(*b->resumed, Bytes{0b1'0001});
  write_blocks(s, b->handle, spec, data, {1, 2, 3});
  ASSERT_TRUE(s.commit(b->handle));
  EXPECT_EQ(this->env.read("x/y.bin"), data);
  EXPECT_FALSE(fs::exists(s.temp_dir() + "/" + PosixFileStore::temp_file_name("x/y.bin")));
  EXPECT_TRUE(fs::is_empty(s.temp_dir()));
}

TYPED_TEST(PosixStoreTest, CorruptSidecarStartsFresh) {
  const ReceiveSpec spec = spec_of("c.bin", 2048);
  auto b = this->store().begin(spec);
  ASSERT_TRUE(b);
  ASSERT_TRUE(this->store().write(b->handle, 0, pattern(2048, 1)));
  this->store().suspend(b->handle, Bytes{0x03});
  const std::string state = this->store().temp_dir() + "/" +
                            PosixFileStore::temp_file_name("c.bin").substr(0, 16) + ".state";
  {
    std::fstream f(state, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x55');
  }
  auto again = this->store().begin(spec);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->resumed.has_value());
  EXPECT_FALSE(fs::exists(state));
  ASSERT_TRUE(this->store().commit(again->handle));
  EXPECT_EQ(this->env.read("c.bin"), Bytes(2048, 0));
}

TYPED_TEST(PosixStoreTest, TwoStoresCannotReceiveTheSameName) {
  auto other = PosixFileStore::open(this->env.root);
  ASSERT_TRUE(other);
  auto b = this->store().begin(spec_of("same", 10));
  ASSERT_TRUE(b);
  EXPECT_EQ((*other)->begin(spec_of("same", 10)).error(), Errc::exists);
  ASSERT_TRUE(this->store().commit(b->handle));
  auto c = (*other)->begin(spec_of("same", 10));
  ASSERT_TRUE(c);
  (*other)->discard(c->handle);
  EXPECT_TRUE(this->env.read("same").has_value());
}

TYPED_TEST(PosixStoreTest, CommittedFileMode0644) {
  const mode_t old = ::umask(077);
  receive(this->store(), spec_of("m", 1), Bytes{1});
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((this->env.root + "/m").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TYPED_TEST(PosixStoreTest, DestructorDiscardsOpenFiles) {
  auto b = this->store().begin(spec_of("open", 10));
  ASSERT_TRUE(b);
  const std::string temp = this->store().temp_dir();
  this->env.store.reset();
  EXPECT_TRUE(fs::is_empty(temp));
  EXPECT_FALSE(fs::exists(this->env.root + "/open"));
}

TEST(PosixFileStoreOpen, ClearErrors) {
  TempTree tree;
  std::string why;
  auto missing = PosixFileStore::open(tree.dir() + "/nope", {}, &why);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), Errc::not_found);
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;

  { std::ofstream(tree.dir() + "/file") << "x"; }
  auto file = PosixFileStore::open(tree.dir() + "/file", {}, &why);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error(), Errc::bad_path);
  EXPECT_NE(why.find("not a directory"), std::string::npos) << why;

  EXPECT_EQ(PosixFileStore::open("").error(), Errc::bad_path);
  EXPECT_EQ(PosixFileStore::open(tree.dir(), tree.dir()).error(), Errc::bad_path);  // temp = root

  if (::geteuid() != 0) {
    fs::create_directory(tree.dir() + "/ro");
    fs::permissions(tree.dir() + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
    auto ro = PosixFileStore::open(tree.dir() + "/ro", {}, &why);
    ASSERT_FALSE(ro);
    EXPECT_EQ(ro.error(), Errc::io_error);
    EXPECT_NE(why.find("not writable"), std::string::npos) << why;
  }
}

TEST(PosixFileStoreOpen, TempDirOnAnotherFileSystemRefused) {
  TempTree tree;
  struct stat a {};
  struct stat b {};
  if (::stat(tree.dir().c_str(), &a) != 0 || ::stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev ||
      ::access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "no second writable file system (/dev/shm) to test with";
  }
  std::string tmpl = "/dev/shm/volley-fs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  std::string why;
  auto r = PosixFileStore::open(tree.dir(), tmpl, &why);
  fs::remove_all(tmpl);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::io_error);
  EXPECT_NE(why.find("different file system"), std::string::npos) << why;
}

TEST(PosixFileStoreOpen, CustomTempDirInsideRootIsReserved) {
  TempTree tree;
  fs::create_directories(tree.dir() + "/root/var/tmp");
  auto r = PosixFileStore::open(tree.dir() + "/root", tree.dir() + "/root/var/tmp");
  ASSERT_TRUE(r);
  PosixFileStore& s = **r;
  EXPECT_EQ(s.begin(spec_of("var/tmp/x", 1)).error(), Errc::bad_path);
  ASSERT_TRUE(s.make_dir("var/other", 0));
  EXPECT_EQ(s.remove("var").error(), Errc::bad_path);             // would take the temp dir along
  EXPECT_TRUE(fs::is_directory(tree.dir() + "/root/var/other"));  // refused before any deletion
  EXPECT_EQ(s.stat("var/tmp").error(), Errc::bad_path);
  EXPECT_EQ(s.make_dir("var/tmp/sub/dir", 0).error(), Errc::bad_path);
  EXPECT_TRUE(fs::is_empty(tree.dir() + "/root/var/tmp"));
  // Outside the root: nothing reserved, and the file still lands in the root.
  fs::create_directories(tree.dir() + "/root2");
  fs::create_directories(tree.dir() + "/tmp2");
  auto r2 = PosixFileStore::open(tree.dir() + "/root2", tree.dir() + "/tmp2");
  ASSERT_TRUE(r2);
  receive(**r2, spec_of("tmp2", 3), Bytes{7, 8, 9});
  EXPECT_EQ(read_host_file(tree.dir() + "/root2/tmp2"), (Bytes{7, 8, 9}));
  EXPECT_TRUE(fs::is_empty(tree.dir() + "/tmp2"));
}

// ---------------------------------------------------------------------------------------------
// Memory only

TEST(MemFileStore, DiskFull) {
  MemFileStore store;
  store.set_capacity(5000);
  EXPECT_EQ(store.free_bytes(), 5000u);
  const ReceiveSpec spec = spec_of("full.bin", 10'000, 1, 1000);
  const Bytes data = pattern(spec.size, 1);
  auto b = store.begin(spec);
  ASSERT_TRUE(b);
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(store.write(b->handle, i * 1000, {data.data() + i * 1000, 1000}));
  }
  EXPECT_EQ(store.free_bytes(), 0u);
  EXPECT_EQ(store.write(b->handle, 5000, {data.data() + 5000, 1000}).error(), Errc::no_space);
  EXPECT_TRUE(store.write(b->handle, 1000, {data.data() + 1000, 1000}));  // rewrite: no growth
  store.discard(b->handle);
  EXPECT_EQ(store.free_bytes(), 5000u);

  receive(store, spec_of("small", 3000, 1, 1000), pattern(3000, 2));
  EXPECT_EQ(store.free_bytes(), 2000u);
  receive(store, spec_of("small", 1000, 1, 1000), pattern(1000, 2));  // replaced
  EXPECT_EQ(store.free_bytes(), 4000u);
  ASSERT_TRUE(store.remove("small"));
  EXPECT_EQ(store.free_bytes(), 5000u);
  EXPECT_EQ(store.used_bytes(), 0u);
}

TEST(MemFileStore, SuspendedTemporariesKeepTheirSpace) {
  MemFileStore store;
  store.set_capacity(10'000);
  const ReceiveSpec spec = spec_of("s", 4000, 1, 1000);
  auto b = store.begin(spec);
  ASSERT_TRUE(b);
  ASSERT_TRUE(store.write(b->handle, 0, pattern(2000, 1)));
  store.suspend(b->handle, Bytes{0x3});
  EXPECT_EQ(store.temp_count(), 1u);
  EXPECT_EQ(store.free_bytes(), 8000u);
  EXPECT_TRUE(store.names().empty());
  auto fresh = store.begin(spec_of("s", 4001, 1, 1000));  // mismatch drops the old one
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->resumed.has_value());
  EXPECT_EQ(store.free_bytes(), 10'000u);
  store.discard(fresh->handle);
  EXPECT_EQ(store.temp_count(), 0u);
}

TEST(MemFileStore, FindNamesAndSymlinkParents) {
  MemFileStore store;
  ASSERT_TRUE(store.make_dir("b/c", 3));
  ASSERT_TRUE(store.make_symlink("a", "/etc"));
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "b/c"}));
  ASSERT_NE(store.find("b/c"), nullptr);
  EXPECT_EQ(store.find("b/c")->kind, EntryInfo::Kind::dir);
  EXPECT_EQ(store.find("b/c")->mtime_s, 3);
  EXPECT_EQ(store.find("b")->mtime_s, 0);  // implicit parent
  EXPECT_EQ(store.find("zzz"), nullptr);
  // A link is never followed as a parent.
  EXPECT_EQ(store.begin(spec_of("a/passwd", 1)).error(), Errc::bad_path);
  EXPECT_EQ(store.make_dir("a/x", 0).error(), Errc::bad_path);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "b/c"}));
}

TEST(MemFileStore, SmallFootprint) {
  // 1000 of these run at once in simulations.
  EXPECT_LE(sizeof(MemFileStore), 192u);
}

}  // namespace
}  // namespace volley::io
