// BlockReceiver: blocks are combined into gathered writes, bits are set only after the write,
// duplicates (also of blocks still pending) are dropped, and file_full follows the final write.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/io/mem_file_store.hpp"
#include "dataplane/proto/block_receiver.hpp"

namespace volley::proto {
namespace {

struct BlockReceiverTest : ::testing::Test {
  static void sink(void* self, const RxEvent& ev) noexcept {
    static_cast<BlockReceiverTest*>(self)->events.push_back(ev);
  }
  void open_file(std::uint64_t size, std::uint32_t blocksize) {
    layout = *wire::FileLayout::make(size, blocksize);
    bitmap = BlockBitmap(layout.blocks());
    ReceiveSpec spec{
        .group_id = 1, .file_id = 2, .name = "f", .size = size, .blocksize = blocksize};
    auto b = store.begin(spec);
    ASSERT_TRUE(b);
    handle = b->handle;
    rx.open({.kind = RxCommand::Kind::file_open,
             .group_id = 1,
             .file_id = 2,
             .handle = handle,
             .layout = layout,
             .received = &bitmap});
  }
  void place(std::uint64_t block) {
    const auto pos = layout.locate(block);
    const auto off = layout.block_offset(block);
    rx.on_fileseg(1, {.file_id = 2,
                      .section = static_cast<std::uint16_t>(pos.section),
                      .sec_block = static_cast<std::uint16_t>(pos.sec_block),
                      .data = {content.data() + off, layout.block_len(block)}});
  }
  std::size_t count(RxEvent::Kind k) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == k ? 1 : 0;
    return n;
  }

  io::MemFileStore store;
  std::vector<RxEvent> events;
  BlockReceiver rx{store, &BlockReceiverTest::sink, this};
  wire::FileLayout layout{};
  BlockBitmap bitmap{1};
  FileHandle handle = 0;
  std::vector<std::uint8_t> content;
};

TEST_F(BlockReceiverTest, InOrderBlocksGoOutAsFewGatheredWrites) {
  content.resize(200 * 100 + 17);
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<std::uint8_t>(i * 7);
  open_file(content.size(), 100);
  for (std::uint64_t b = 0; b < layout.blocks(); ++b) {
    place(b);
    if (b == 10) {
      EXPECT_FALSE(bitmap.test(b)) << "bit set before its bytes were written";
      rx.flush();
      EXPECT_TRUE(bitmap.test(b));
    }
  }
  rx.flush();
  EXPECT_EQ(rx.stats().placed, layout.blocks());
  EXPECT_LE(rx.stats().writes,
            1 + (layout.blocks() + BlockReceiver::kMaxRun - 1) / BlockReceiver::kMaxRun);
  ASSERT_EQ(count(RxEvent::Kind::file_full), 1u);
  EXPECT_EQ(events.back().kind, RxEvent::Kind::file_full);
  ASSERT_TRUE(store.commit(handle));
  EXPECT_EQ(store.find("f")->bytes, content);
}

TEST_F(BlockReceiverTest, DuplicatesOfPendingAndWrittenBlocksAreDropped) {
  content.assign(10 * 50, 0xab);
  open_file(content.size(), 50);
  place(0);
  place(1);
  place(1);  // still pending
  rx.flush();
  place(0);  // already written
  EXPECT_EQ(rx.stats().duplicates, 2u);
  EXPECT_EQ(rx.stats().placed, 2u);
}

TEST_F(BlockReceiverTest, OutOfOrderBlocksBreakTheRunButAllArrive) {
  content.resize(30 * 64);
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<std::uint8_t>(i ^ 0x5a);
  open_file(content.size(), 64);
  for (std::uint64_t b : {5u, 6u, 7u, 0u, 1u, 2u, 3u, 4u}) place(b);
  for (std::uint64_t b = 8; b < 30; ++b) place(b);
  rx.flush();
  EXPECT_EQ(count(RxEvent::Kind::file_full), 1u);
  EXPECT_EQ(rx.stats().writes, 3u);  // 5..7, 0..4, 8..29
  ASSERT_TRUE(store.commit(handle));
  EXPECT_EQ(store.find("f")->bytes, content);
}

TEST_F(BlockReceiverTest, FailedWriteReportsOnceAndStopsPlacing) {
  content.resize(40 * 100);
  store.set_capacity(1000);  // the file does not fit: begin() reserves nothing, writes fail
  open_file(content.size(), 100);
  for (std::uint64_t b = 0; b < 40; ++b) place(b);
  rx.flush();
  EXPECT_EQ(count(RxEvent::Kind::write_failed), 1u);
  EXPECT_EQ(count(RxEvent::Kind::file_full), 0u);
  EXPECT_EQ(bitmap.count(), 0u);
}

}  // namespace
}  // namespace volley::proto
