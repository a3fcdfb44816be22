// Simulator nodes that run the real session state machines and pipelines: a sender head-end and
// receiver daemons, each attached to one simulated host.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "control/session/receiver.hpp"
#include "control/session/sender.hpp"
#include "dataplane/engine/receiver_pipeline.hpp"
#include "dataplane/engine/sender_pipeline.hpp"
#include "dataplane/io/mem_file_source.hpp"
#include "dataplane/io/mem_file_store.hpp"
#include "tests/sim/simnet.hpp"

namespace volley::sim {

inline constexpr std::uint16_t kPort = 1044;

[[nodiscard]] wire::IpAddr to_ip(std::uint32_t ip);
[[nodiscard]] std::uint32_t from_ip(const wire::IpAddr& a);

class SenderNode final : public Node {
 public:
  SenderNode(Network& net, std::uint32_t ip, std::uint32_t pub_group, std::uint32_t priv_group,
             session::SenderConfig cfg, std::shared_ptr<io::MemFileSource> files,
             std::uint64_t rate_bytes_per_s);
  void attach(HostId h) { host_ = h; }
  void start(TimeNs now);

  void on_datagram(const Addr& src, const Addr& dst, std::span<const std::uint8_t> bytes,
                   TimeNs now) override;
  [[nodiscard]] TimeNs next_deadline() const override { return pipe_.next_deadline(); }
  void on_deadline(TimeNs now) override;

  [[nodiscard]] session::SenderSession& session() noexcept { return session_; }
  [[nodiscard]] const proto::BlockSender& worker() const noexcept { return worker_; }
  [[nodiscard]] const std::vector<session::SenderEvent>& events() const noexcept { return events_; }
  [[nodiscard]] TimeNs finished_at() const noexcept { return finished_at_; }

 private:
  void flush(TimeNs now);

  Network& net_;
  std::uint32_t ip_, pub_, priv_;
  HostId host_ = 0;
  std::shared_ptr<io::MemFileSource> files_;
  std::unique_ptr<crypto::Aead> data_aead_;  // the group key's send context, with a handshake
  session::SenderSession session_;
  proto::BlockSender worker_;
  engine::SenderPipeline pipe_;
  std::vector<std::uint8_t> buf_;
  std::vector<session::SenderEvent> events_;
  TimeNs finished_at_ = kNever;
};

class ReceiverNode final : public Node {
 public:
  ReceiverNode(Network& net, std::uint32_t ip, std::uint32_t pub_group,
               session::ReceiverConfig cfg);
  void attach(HostId h);

  void on_datagram(const Addr& src, const Addr& dst, std::span<const std::uint8_t> bytes,
                   TimeNs now) override;
  [[nodiscard]] TimeNs next_deadline() const override;
  void on_deadline(TimeNs now) override;

  // A dead receiver ignores everything from `at` on (a crash mid-transfer).
  void kill_at(TimeNs at) noexcept { dies_at_ = at; }

  [[nodiscard]] io::MemFileStore& store() noexcept { return store_; }
  [[nodiscard]] const std::vector<session::ReceiverEvent>& events() const noexcept {
    return events_;
  }
  [[nodiscard]] const engine::ReceiverPipeline& pipeline() const noexcept { return pipe_; }
  [[nodiscard]] const session::Receiver& control() const noexcept { return rx_; }
  [[nodiscard]] int sessions_finished(bool ok) const;

 private:
  void flush(TimeNs now);
  [[nodiscard]] bool dead(TimeNs now) const noexcept { return now >= dies_at_; }

  Network& net_;
  std::uint32_t ip_;
  HostId host_ = 0;
  io::MemFileStore store_;
  session::Receiver rx_;
  engine::ReceiverPipeline pipe_;
  std::vector<std::uint8_t> buf_;
  std::vector<std::uint32_t> joined_;
  std::vector<session::ReceiverEvent> events_;
  TimeNs dies_at_ = kNever;
};

}  // namespace volley::sim
