// The `volley` CLI's shared helpers (apps/volley/common.hpp): rates, sizes, node IDs and ID
// lists as the command line gives them, ID formatting, default IDs and the JSON-lines status
// file. File cases touch only a fresh mkdtemp() directory, removed afterwards.
#include "apps/volley/common.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.hpp"

namespace volley::app {
namespace {

using Ids = std::vector<std::uint32_t>;

class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("volley-cli") {}
  // Writes `text` to a file named `name` in the directory; returns its path.
  [[nodiscard]] std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
};

// ---------------------------------------------------------------------------------------------
// parse_rate: bits per second in, bytes per second out; K/M/G/T are powers of 1000.

TEST(ParseRate, ScalesBitsToBytes) {
  EXPECT_EQ(parse_rate("800M"), std::optional<std::uint64_t>(100'000'000));
  EXPECT_EQ(parse_rate("10G"), std::optional<std::uint64_t>(1'250'000'000));
  EXPECT_EQ(parse_rate("1.5G"), std::optional<std::uint64_t>(187'500'000));
  EXPECT_EQ(parse_rate("250000"), std::optional<std::uint64_t>(31'250));
  EXPECT_EQ(parse_rate("8K"), std::optional<std::uint64_t>(1'000));
  EXPECT_EQ(parse_rate("2T"), std::optional<std::uint64_t>(250'000'000'000));
  EXPECT_EQ(parse_rate("800m"), std::optional<std::uint64_t>(100'000'000));
}

TEST(ParseRate, AcceptsUnitTails) {
  for (const char* text : {"800Mbit", "800Mbps", "800Mb"}) {
    EXPECT_EQ(parse_rate(text), std::optional<std::uint64_t>(100'000'000)) << text;
  }
}

TEST(ParseRate, MaxMeansUnpaced) {
  EXPECT_EQ(parse_rate("max"), std::optional<std::uint64_t>(0));
  EXPECT_EQ(parse_rate("MAX"), std::optional<std::uint64_t>(0));
}

TEST(ParseRate, RejectsMalformed) {
  for (const char* text : {"", "10X", "-1", "M", "G", ".", "1.2.3M", "10MX", "10 M", " 10M", "10M ",
                           "nan", "inf", "0", "0M", "7", "maximum", "100000000T"}) {
    EXPECT_EQ(parse_rate(text), std::nullopt) << "accepted '" << text << "'";
  }
}

// ---------------------------------------------------------------------------------------------
// parse_size: bytes; K/M/G/T are powers of 1024.

TEST(ParseSize, ScalesByPowersOf1024) {
  EXPECT_EQ(parse_size("32M"), std::optional<std::uint64_t>(33'554'432));
  EXPECT_EQ(parse_size("4194304"), std::optional<std::uint64_t>(4'194'304));
  EXPECT_EQ(parse_size("1G"), std::optional<std::uint64_t>(1'073'741'824));
  EXPECT_EQ(parse_size("1K"), std::optional<std::uint64_t>(1'024));
  EXPECT_EQ(parse_size("1.5K"), std::optional<std::uint64_t>(1'536));
  EXPECT_EQ(parse_size("32MiB"), std::optional<std::uint64_t>(33'554'432));
  EXPECT_EQ(parse_size("1"), std::optional<std::uint64_t>(1));
}

TEST(ParseSize, RejectsMalformed) {
  for (const char* text : {"", "0", "10X", "-1", "M", "32 M", "0.5", "max"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << "accepted '" << text << "'";
  }
}

// ---------------------------------------------------------------------------------------------
// parse_id / format_id

TEST(ParseId, HexWithAndWithoutPrefix) {
  EXPECT_EQ(parse_id("0x0a63010b"), std::optional<std::uint32_t>(0x0a63010bu));
  EXPECT_EQ(parse_id("0X0A63010B"), std::optional<std::uint32_t>(0x0a63010bu));
  EXPECT_EQ(parse_id("a63010b"), std::optional<std::uint32_t>(0x0a63010bu));
  EXPECT_EQ(parse_id("1"), std::optional<std::uint32_t>(1u));
  EXPECT_EQ(parse_id("0xfffffffe"), std::optional<std::uint32_t>(0xfffffffeu));
  EXPECT_EQ(parse_id("12345678"), std::optional<std::uint32_t>(0x12345678u));
}

TEST(ParseId, DottedIpv4) {
  EXPECT_EQ(parse_id("10.99.1.11"), std::optional<std::uint32_t>(0x0a63010bu));
  EXPECT_EQ(parse_id("127.0.0.1"), std::optional<std::uint32_t>(0x7f000001u));
  EXPECT_EQ(parse_id("255.255.255.254"), std::optional<std::uint32_t>(0xfffffffeu));
}

TEST(ParseId, RejectsReservedAndMalformed) {
  for (const char* text : {"0",
                           "0x0",
                           "0x00000000",
                           "0.0.0.0",
                           "0xffffffff",
                           "ffffffff",
                           "255.255.255.255",
                           "0x1234567890",
                           "123456789",
                           "1.2.3",
                           "1.2.3.4.5",
                           "10.99.1.256",
                           "",
                           "0x",
                           "0xg1",
                           "zz",
                           "-1",
                           "+1",
                           " 1",
                           "1 ",
                           "0x1 "}) {
    EXPECT_EQ(parse_id(text), std::nullopt) << "accepted '" << text << "'";
  }
}

TEST(FormatId, EightHexDigitsWithPrefix) {
  EXPECT_EQ(format_id(0x0a63010bu), "0x0a63010b");
  EXPECT_EQ(format_id(1u), "0x00000001");
  EXPECT_EQ(format_id(0xfffffffeu), "0xfffffffe");
}

TEST(FormatId, RoundTripsThroughParseId) {
  for (std::uint32_t id : {1u, 0x0a630001u, 0x7f000001u, 0x80000000u, 0xfffffffeu}) {
    EXPECT_EQ(parse_id(format_id(id)), std::optional<std::uint32_t>(id)) << format_id(id);
  }
}

// ---------------------------------------------------------------------------------------------
// parse_id_list

TEST(ParseIdList, CommaList) {
  std::string why;
  auto ids = parse_id_list("0x0a630001,10.99.0.2,a630003", &why);
  ASSERT_TRUE(ids) << why;
  EXPECT_EQ(*ids, (Ids{0x0a630001u, 0x0a630002u, 0x0a630003u}));

  ids = parse_id_list("0x1", &why);
  ASSERT_TRUE(ids) << why;
  EXPECT_EQ(*ids, Ids{1u});
}

TEST(ParseIdList, BadCommaEntryIsNamed) {
  struct Case {
    const char* text;
    const char* named;  // the entry the message must quote
  };
  for (const Case& c :
       {Case{"0,zz", "'0'"}, Case{"0x1,zz", "'zz'"}, Case{"0x1,,0x2", "''"}, Case{"0x1,", "''"},
        Case{"", "''"}, Case{"0x1,1.2.3", "'1.2.3'"}, Case{"0x1,0xffffffff", "'0xffffffff'"}}) {
    std::string why;
    EXPECT_EQ(parse_id_list(c.text, &why), std::nullopt) << c.text;
    EXPECT_NE(why.find(c.named), std::string::npos) << c.text << " → " << why;
    EXPECT_NE(why.find("is not a receiver ID"), std::string::npos) << why;
  }
}

TEST(ParseIdList, FileWithCommentsAndBlankLines) {
  TempDir dir;
  const auto path = dir.write("hosts",
                              "# closed group for rack 1\n"
                              "0x0a630001\n"
                              "\n"
                              "   10.99.0.2   # second receiver\n"
                              "a630003\r\n"
                              "\t \n"
                              "#0x0a630009 commented out\n"
                              "0x0a630004");  // no final newline
  std::string why;
  auto ids = parse_id_list("@" + path, &why);
  ASSERT_TRUE(ids) << why;
  EXPECT_EQ(*ids, (Ids{0x0a630001u, 0x0a630002u, 0x0a630003u, 0x0a630004u}));
}

TEST(ParseIdList, FileWithBadEntryNamesIt) {
  TempDir dir;
  const auto path = dir.write("hosts", "0x0a630001\n10.99.0.300\n0x0a630003\n");
  std::string why;
  EXPECT_EQ(parse_id_list("@" + path, &why), std::nullopt);
  EXPECT_NE(why.find("'10.99.0.300'"), std::string::npos) << why;
}

TEST(ParseIdList, FileOfOnlyCommentsIsEmpty) {
  TempDir dir;
  const auto path = dir.write("hosts", "# nobody yet\n\n   \n");
  std::string why;
  EXPECT_EQ(parse_id_list("@" + path, &why), std::nullopt);
  EXPECT_EQ(why, "the host list is empty");
}

TEST(ParseIdList, MissingFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.path("no-such-hosts");
  std::string why;
  EXPECT_EQ(parse_id_list("@" + path, &why), std::nullopt);
  EXPECT_NE(why.find(path), std::string::npos) << why;
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
}

// ---------------------------------------------------------------------------------------------
// default_id: an interface's IPv4 address as an ID, 127.0.0.1 when there is none.

TEST(DefaultId, LoopbackByNameOrAddress) {
  EXPECT_EQ(default_id("lo"), 0x7f000001u);
  EXPECT_EQ(default_id("127.0.0.1"), 0x7f000001u);
}

TEST(DefaultId, UnknownInterfaceFallsBackToLoopback) {
  EXPECT_EQ(default_id("volley-no-such-if0"), 0x7f000001u);
}

// ---------------------------------------------------------------------------------------------
// StatusFile: one JSON object per line, appended, flushed per line.

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(StatusFile, WritesOneObjectPerLineAndAppends) {
  TempDir dir;
  const std::string path = dir.path("status.jsonl");
  {
    StatusFile f;
    std::string why;
    ASSERT_TRUE(f.open(path, &why)) << why;
    f.write({{"event", "file"}, {"name", "dir/a b.txt"}, {"size", 3}});
    // Flushed per line: visible before the file is closed.
    EXPECT_EQ(read_lines(path).size(), 1u);
    f.write({{"event", "session"}, {"ok", true}});
  }
  {
    StatusFile f;
    std::string why;
    ASSERT_TRUE(f.open(path, &why)) << why;
    f.write({{"event", "session"}, {"ok", false}});
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first.at("event"), "file");
  EXPECT_EQ(first.at("name"), "dir/a b.txt");
  EXPECT_EQ(first.at("size"), 3);
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("ok"), true);
  EXPECT_EQ(nlohmann::json::parse(lines[2]).at("ok"), false);
}

TEST(StatusFile, EmptyPathIsANoOp) {
  StatusFile f;
  std::string why;
  EXPECT_TRUE(f.open("", &why));
  f.write({{"event", "file"}});  // must not crash
  EXPECT_TRUE(why.empty());
}

TEST(StatusFile, UnopenablePathNamesIt) {
  TempDir dir;
  const std::string path = dir.path("missing-dir/status.jsonl");
  StatusFile f;
  std::string why;
  EXPECT_FALSE(f.open(path, &why));
  EXPECT_NE(why.find(path), std::string::npos) << why;
}

// ---------------------------------------------------------------------------------------------
// human_bytes / human_rate (the log and progress line)

TEST(Human, BytesAndRates) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(256.0 * 1024 * 1024), "256.0 MiB");
  EXPECT_EQ(human_rate(800e6), "800.0 Mbit/s");
  EXPECT_EQ(human_rate(10e9), "10.00 Gbit/s");
  EXPECT_EQ(human_rate(64e3), "64 kbit/s");
}

}  // namespace
}  // namespace volley::app
