#include "dataplane/proto/block_receiver.hpp"

namespace volley::proto {

void BlockReceiver::open(const RxCommand& f) {
  close(f.group_id, f.file_id);
  auto* bm = static_cast<BlockBitmap*>(f.received);
  slots_.push_back(
      {f.group_id, f.file_id, f.handle, f.layout, bm, -1, f.layout.blocks() - bm->count(), false});
}

void BlockReceiver::close(std::uint32_t group_id, std::uint16_t file_id) noexcept {
  flush();  // slot indices change below; nothing may stay pending across that
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].group_id == group_id && slots_[i].file_id == file_id) {
      slots_[i] = slots_.back();
      slots_.pop_back();
      return;
    }
  }
}

void BlockReceiver::flush() noexcept {
  if (run_.count == 0) return;
  Slot& s = slots_[run_.slot];
  const std::size_t n = run_.count;
  run_.count = 0;
  auto w = store_.write_gather(s.handle, s.layout.block_offset(run_.first), {run_.parts.data(), n});
  ++stats_.writes;
  if (!w) {
    ++stats_.write_errors;
    s.failed = true;
    emit({.kind = RxEvent::Kind::write_failed,
          .group_id = s.group_id,
          .file_id = s.file_id,
          .error = w.error()});
    return;
  }
  for (std::size_t i = 0; i < n; ++i) s.received->set(run_.first + i);
  stats_.placed += n;
  s.missing -= n;
  if (s.missing == 0)
    emit({.kind = RxEvent::Kind::file_full, .group_id = s.group_id, .file_id = s.file_id});
}

void BlockReceiver::on_fileseg(std::uint32_t group_id, const wire::FileSeg& seg) noexcept {
  std::size_t idx = slots_.size();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].group_id == group_id && slots_[i].file_id == seg.file_id) {
      idx = i;
      break;
    }
  }
  if (idx == slots_.size()) {
    ++stats_.unknown_file;
    return;
  }
  Slot& s = slots_[idx];
  auto block = s.layout.block_index(seg.section, seg.sec_block);
  if (!block || seg.data.size() != s.layout.block_len(*block)) {
    ++stats_.bad_block;
    return;
  }
  if (seg.section > s.highest_section) {
    s.highest_section = seg.section;
    emit({.kind = RxEvent::Kind::section_advanced,
          .group_id = group_id,
          .file_id = seg.file_id,
          .section = seg.section});
  }
  const bool pending = run_.count != 0 && run_.slot == idx && *block >= run_.first &&
                       *block < run_.first + run_.count;
  if (s.failed || pending || s.received->test(*block)) {
    ++stats_.duplicates;
    return;
  }
  const bool extends = run_.count != 0 && run_.slot == idx && *block == run_.first + run_.count &&
                       run_.count < kMaxRun;
  if (!extends) {
    flush();
    run_.slot = idx;
    run_.first = *block;
  }
  run_.parts[run_.count++] = seg.data;
  if (run_.count == kMaxRun || s.missing == run_.count) flush();  // full run, or the last blocks
}

}  // namespace volley::proto
