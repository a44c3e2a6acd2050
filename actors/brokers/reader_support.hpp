// What every broker reader (redis_reader.cpp, nats_reader.cpp) does the same way, over its
// own state: finding the node's event bus, and not acting on a lease that may have lapsed.
#pragma once

#include "actors/directory.hpp"

#include <caf/actor.hpp>

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

} // namespace brokers
