#include "dataplane/engine/sender_pipeline.hpp"

#include <algorithm>

namespace volley::engine {

void SenderPipeline::pump(proto::TimeNs now) {
  // control side: hand out new jobs, take completions
  while (auto j = s_.poll_job()) {
    if (!jobs_.push(*j)) break;  // a 16-deep ring never fills: control issues one job at a time
  }
  if (auto id = s_.poll_cancel()) w_.cancel(*id);
  // worker side: start the next job, report finished ones
  proto::DataJob job;
  if (!w_.busy() && jobs_.pop(job)) w_.start(job, now);
  while (auto c = w_.poll_completion()) (void)completions_.push(*c);
  proto::DataCompletion c;
  while (completions_.pop(c)) s_.on_completion(c, now);
  // a completion may have produced the next job right away
  if (!w_.busy()) {
    while (auto j2 = s_.poll_job()) (void)jobs_.push(*j2);
    if (jobs_.pop(job)) w_.start(job, now);
  }
}

std::optional<session::SenderSession::Out> SenderPipeline::poll_transmit(wire::MutBytes out,
                                                                         proto::TimeNs now) {
  pump(now);
  if (auto o = s_.poll_transmit(out, now)) {
    if (o->encrypt) {
      auto n = w_.seal_control(out, o->len);
      if (!n) return std::nullopt;  // cannot happen with a jumbo-sized buffer
      o->len = *n;
    }
    return o;
  }
  if (w_.ready(now)) {
    const std::size_t n = w_.poll_transmit(out, now, s_.next_seq());
    pump(now);
    if (n != 0) return session::SenderSession::Out{session::SendTo::private_group, n};
  }
  return std::nullopt;
}

proto::TimeNs SenderPipeline::next_deadline() const noexcept {
  return std::min(s_.next_deadline(), w_.next_deadline());
}

}  // namespace volley::engine
