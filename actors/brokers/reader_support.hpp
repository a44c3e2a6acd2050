// What every broker reader (redis_reader.cpp, nats_reader.cpp) does the same way, over its
// own state: finding the node's event bus, and not acting on a lease that may have lapsed.
#pragma once

#include "actors/app_error.hpp"
#include "actors/directory.hpp"
#include "actors/event_delivery.hpp"

#include <caf/actor.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

namespace brokers {

// Looks the event bus up in the directory; the answer lands in self->state.bus.
template <class Self> void find_bus(Self self) {
  self->request(self->state.cfg.directory, std::chrono::seconds{2}, directory_get_atom::value,
                std::string{"@bus"})
      .then([self](const caf::actor& bus) { self->state.bus = bus; }, [](caf::error&) {});
}

// Acting on a lease is safe only while it is surely still ours: a reader that was frozen
// (or slow) since it last renewed (self->state.renewed_at) confirms its leases with
// `renew` before handing anything out, so that it never delivers behind the back of a
// reader that took over meanwhile. False: the broker did not answer.
template <class Self, class Renew> bool leases_fresh(Self self, Renew renew) {
  auto& st = self->state;
  if (std::chrono::steady_clock::now() - st.renewed_at <= st.cfg.bus.reader_lease_ttl / 2)
    return true;
  try {
    renew();
    return true;
  } catch (const std::exception&) {
    return false; // the next round deals with the broker being away
  }
}

// What the consumer made of `event_id`: no error when it was handled.
inline caf::error outcome_of(const delivery_ack& ack, const std::string& event_id) {
  if (std::find(ack.handled.begin(), ack.handled.end(), event_id) != ack.handled.end())
    return {};
  for (std::size_t i = 0; i < ack.failed.size() && i < ack.errors.size(); ++i)
    if (ack.failed[i] == event_id)
      return make_app_error(app_error::internal, "CONSUMER_FAILED", ack.errors[i]);
  return make_app_error(app_error::internal, "CONSUMER_FAILED", "not handled by the consumer");
}

// Hands `event` to `consumer` through the node's bus (self->state.bus) and calls
// done(error) once it is known: no error when the consumer handled it.
template <class Self, class Done>
void deliver_one(Self self, const std::string& consumer, const event_envelope& event,
                 std::chrono::seconds timeout, Done done) {
  self->request(self->state.bus, timeout, delivery{consumer, {event}})
      .then([done, id = event.id](const delivery_ack& ack) mutable { done(outcome_of(ack, id)); },
            [done](caf::error& err) mutable { done(err); });
}

} // namespace brokers
