#include "tests/sim/session_nodes.hpp"

#include <algorithm>

namespace volley::sim {

wire::IpAddr to_ip(std::uint32_t ip) {
  wire::IpAddr a;
  a.bytes[0] = static_cast<std::uint8_t>(ip >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(ip >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(ip >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(ip);
  return a;
}
std::uint32_t from_ip(const wire::IpAddr& a) {
  return wire::load_be32(a.bytes.data());
}

SenderNode::SenderNode(Network& net, std::uint32_t ip, std::uint32_t pub_group,
                       std::uint32_t priv_group, session::SenderConfig cfg,
                       std::shared_ptr<io::MemFileSource> files, std::uint64_t rate_bytes_per_s)
    : net_(net),
      ip_(ip),
      pub_(pub_group),
      priv_(priv_group),
      files_(std::move(files)),
      data_aead_([&]() -> std::unique_ptr<crypto::Aead> {
        if (!cfg.handshake) return nullptr;
        auto a = cfg.handshake->make_group_aead(cfg.server_id);
        return a ? std::move(*a) : nullptr;
      }()),
      session_((cfg.pub_addr = to_ip(pub_group), cfg.priv_addr = to_ip(priv_group), cfg),
               files_->entries()),
      worker_({.version = cfg.version,
               .server_id = cfg.server_id,
               .group_id = cfg.group_id,
               .group_inst = cfg.group_inst,
               .rate_bytes_per_s = rate_bytes_per_s,
               .burst_bytes = 16 * 1024,
               .aead = data_aead_ ? data_aead_.get() : cfg.aead},
              *files_),
      pipe_(session_, worker_),
      buf_(9216) {}

void SenderNode::start(TimeNs now) {
  pipe_.start(now);
  flush(now);
}

void SenderNode::on_datagram(const Addr&, const Addr&, std::span<const std::uint8_t> bytes,
                             TimeNs now) {
  std::vector<std::uint8_t> pkt(bytes.begin(), bytes.end());
  pipe_.on_datagram(pkt, now);
  flush(now);
}

void SenderNode::on_deadline(TimeNs now) {
  pipe_.on_deadline(now);
  flush(now);
}

void SenderNode::flush(TimeNs now) {
  while (auto o = pipe_.poll_transmit(buf_, now)) {
    const std::uint32_t dst = o->to == session::SendTo::public_group ? pub_ : priv_;
    net_.send(ip_,
              Datagram{{ip_, kPort},
                       {dst, kPort},
                       {buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(o->len)}},
              now);
  }
  while (auto e = session_.poll_event()) events_.push_back(std::move(*e));
  if (session_.finished() && finished_at_ == kNever) finished_at_ = now;
}

ReceiverNode::ReceiverNode(Network& net, std::uint32_t ip, std::uint32_t pub_group,
                           session::ReceiverConfig cfg)
    : net_(net),
      ip_(ip),
      rx_(std::move(cfg), store_),
      pipe_(rx_, store_),
      buf_(9216),
      joined_{pub_group} {}

void ReceiverNode::attach(HostId h) {
  host_ = h;
  for (auto g : joined_) net_.join(h, g);
}

void ReceiverNode::on_datagram(const Addr& src, const Addr&, std::span<const std::uint8_t> bytes,
                               TimeNs now) {
  if (dead(now)) return;
  std::vector<std::uint8_t> pkt(bytes.begin(), bytes.end());
  session::PeerAddr from{to_ip(src.ip), src.port};
  pipe_.on_datagram(from, pkt, now);
  flush(now);
}

TimeNs ReceiverNode::next_deadline() const {
  return dies_at_ != kNever && dies_at_ <= net_.now() ? kNever : pipe_.next_deadline();
}

void ReceiverNode::on_deadline(TimeNs now) {
  if (dead(now)) return;
  pipe_.on_deadline(now);
  flush(now);
}

void ReceiverNode::flush(TimeNs now) {
  while (auto o = pipe_.poll_transmit(buf_, now)) {
    net_.send(ip_,
              Datagram{{ip_, kPort},
                       {from_ip(o->to.ip), o->to.port},
                       {buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(o->len)}},
              now);
  }
  while (auto e = rx_.poll_event()) events_.push_back(std::move(*e));
  for (const auto& g : rx_.joined_groups()) {
    const auto ip = from_ip(g);
    if (std::find(joined_.begin(), joined_.end(), ip) == joined_.end()) {
      joined_.push_back(ip);
      net_.join(host_, ip);
    }
  }
}

int ReceiverNode::sessions_finished(bool ok) const {
  return static_cast<int>(std::count_if(events_.begin(), events_.end(), [&](const auto& e) {
    return e.kind == session::ReceiverEvent::Kind::session_finished && e.ok == ok;
  }));
}

}  // namespace volley::sim
