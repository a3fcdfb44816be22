#include "dataplane/proto/block_sender.hpp"

#include "dataplane/proto/framing.hpp"

namespace volley::proto {

BlockSender::BlockSender(BlockSenderConfig cfg, FileSource& src)
    : cfg_(cfg), src_(src), pacer_(cfg.rate_bytes_per_s, cfg.burst_bytes), iv_ctr_(cfg.iv_base) {}

void BlockSender::start(const DataJob& job, TimeNs now) noexcept {
  job_ = job;
  blocks_ = static_cast<const BlockBitmap*>(job.blocks);
  cursor_ = 0;
  job_packets_ = job_bytes_ = 0;
  busy_ = true;
  (void)now;
  advance();
}

void BlockSender::advance() noexcept {
  if (blocks_ != nullptr) cursor_ = blocks_->find_next_set(cursor_);
  if (cursor_ >= job_.layout.blocks()) finish(Errc::ok);
}

void BlockSender::finish(Errc e) noexcept {
  busy_ = false;
  done_ = DataCompletion{job_.job_id, job_packets_, job_bytes_, e};
}

TimeNs BlockSender::next_deadline() const noexcept {
  if (!busy_) return kNever;
  const auto len = job_.layout.block_len(cursor_) + wire::kHeaderLen + 8 + kIpUdpOverhead;
  return pacer_.next_send_time(static_cast<std::uint32_t>(len), 0);
}

std::size_t BlockSender::poll_transmit(wire::MutBytes out, TimeNs now, std::uint16_t seq) noexcept {
  if (!ready(now)) return 0;
  const std::uint64_t block = cursor_;
  const std::uint32_t len = job_.layout.block_len(block);
  // Read the block straight to where FILESEG carries it, so framing copies nothing.
  const std::size_t at =
      (cfg_.aead != nullptr ? kEncAadLen : wire::kHeaderLen) + wire::kFileSegFixed;
  const std::size_t tag = cfg_.aead != nullptr ? cfg_.aead->tag_len() : 0;
  if (out.size() < at + len + tag) {
    finish(Errc::no_space);
    return 0;
  }
  const std::span<std::uint8_t> dst = out.subspan(at, len);
  auto got = src_.read(job_.entry, job_.layout.block_offset(block), dst);
  if (!got || *got != len) {
    finish(got ? Errc::truncated : got.error());
    return 0;
  }
  const auto pos = job_.layout.locate(block);
  wire::FileSeg seg;
  seg.file_id = job_.file_id;
  seg.section = static_cast<std::uint16_t>(pos.section);
  seg.sec_block = static_cast<std::uint16_t>(pos.sec_block);
  seg.data = dst;
  wire::Header h;
  h.version = cfg_.version;
  h.seq = seq;
  h.src_id = cfg_.server_id;
  h.group_id = cfg_.group_id;
  h.group_inst = cfg_.group_inst;
  h.grtt = job_.grtt_q;
  h.gsize = job_.gsize_q;
  auto n = build_packet(h, seg, out, cfg_.aead, iv_ctr_);
  if (!n) {
    finish(n.error());
    return 0;
  }
  pacer_.on_sent(static_cast<std::uint32_t>(*n + kIpUdpOverhead), now);
  ++job_packets_;
  ++packets_;
  job_bytes_ += *n;
  bytes_ += *n;
  ++cursor_;
  advance();
  return *n;
}

std::optional<DataCompletion> BlockSender::poll_completion() noexcept {
  auto d = done_;
  done_.reset();
  return d;
}

}  // namespace volley::proto
