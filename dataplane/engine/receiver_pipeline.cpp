#include "dataplane/engine/receiver_pipeline.hpp"

namespace volley::engine {

void ReceiverPipeline::pump(proto::TimeNs now) {
  // Until quiet: control → command ring → dataplane, dataplane → event ring → control.
  for (bool progress = true; progress;) {
    progress = pump_control(c_, dp_, now, [&] { dp_.drain_commands(); });
    if (dp_.drain_commands() != 0) progress = true;
  }
}

void ReceiverPipeline::on_datagram(const session::PeerAddr& from, wire::MutBytes pkt,
                                   proto::TimeNs now) {
  pump(now);
  auto o = dp_.on_datagram(pkt, now);
  dp_.end_burst();  // one datagram is one burst here: the packet buffer is the caller's
  if (o) {
    c_.on_control(from, *o, now);
    pump(now);
  } else if (!dp_.events().empty()) {
    pump(now);
  }
}

}  // namespace volley::engine
