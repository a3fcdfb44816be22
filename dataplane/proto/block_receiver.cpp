#include "dataplane/proto/block_receiver.hpp"

namespace volley::proto {

void BlockReceiver::open(const RxCommand& f) {
  close(f.group_id, f.file_id);
  auto* bm = static_cast<BlockBitmap*>(f.received);
  slots_.push_back(
      {f.group_id, f.file_id, f.handle, f.layout, bm, -1, f.layout.blocks() - bm->count(), false});
}

void BlockReceiver::close(std::uint32_t group_id, std::uint16_t file_id) noexcept {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].group_id == group_id && slots_[i].file_id == file_id) {
      slots_[i] = slots_.back();
      slots_.pop_back();
      return;
    }
  }
}

bool BlockReceiver::on_fileseg(std::uint32_t group_id, const wire::FileSeg& seg,
                               RxEvent& ev) noexcept {
  Slot* s = nullptr;
  for (auto& slot : slots_) {
    if (slot.group_id == group_id && slot.file_id == seg.file_id) {
      s = &slot;
      break;
    }
  }
  if (s == nullptr) {
    ++stats_.unknown_file;
    return false;
  }
  auto block = s->layout.block_index(seg.section, seg.sec_block);
  if (!block || seg.data.size() != s->layout.block_len(*block)) {
    ++stats_.bad_block;
    return false;
  }
  ev.group_id = group_id;
  ev.file_id = seg.file_id;
  const bool advanced = seg.section > s->highest_section;
  if (advanced) s->highest_section = seg.section;
  if (s->received->test(*block) || s->failed) {
    ++stats_.duplicates;
    if (!advanced) return false;
    ev.kind = RxEvent::Kind::section_advanced;
    ev.section = seg.section;
    return true;
  }
  if (auto w = store_.write(s->handle, s->layout.block_offset(*block), seg.data); !w) {
    ++stats_.write_errors;
    s->failed = true;
    ev.kind = RxEvent::Kind::write_failed;
    ev.error = w.error();
    return true;
  }
  s->received->set(*block);
  ++stats_.placed;
  if (--s->missing == 0) {
    ev.kind = RxEvent::Kind::file_full;
    return true;
  }
  if (advanced) {
    ev.kind = RxEvent::Kind::section_advanced;
    ev.section = seg.section;
    return true;
  }
  return false;
}

}  // namespace volley::proto
