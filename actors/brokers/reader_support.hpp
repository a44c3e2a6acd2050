// What every broker reader (redis, nats and rabbitmq_reader.cpp) does the same way, over its
// own state: finding the node's event bus, not acting on a lease that may have lapsed, and
// handing a round's events to the consumer in deliveries.
#pragma once

#include "actors/app_error.hpp"
#include "actors/directory.hpp"
#include "actors/event_delivery.hpp"

#include <caf/actor.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <iterator>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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

// What the consumer made of each of `event_ids` (one delivery's events): no error for
// an event it handled. An event in neither list was not tried (it waited behind a failed
// event of its aggregate): that counts as a failure too, to be retried.
inline std::vector<caf::error> outcomes_of(const delivery_ack& ack,
                                           const std::vector<std::string>& event_ids) {
  std::unordered_set<std::string> handled{ack.handled.begin(), ack.handled.end()};
  std::unordered_map<std::string, std::string> failed;
  for (std::size_t i = 0; i < ack.failed.size() && i < ack.errors.size(); ++i)
    failed.emplace(ack.failed[i], ack.errors[i]);
  std::vector<caf::error> outcomes;
  outcomes.reserve(event_ids.size());
  for (auto& id : event_ids) {
    if (handled.count(id))
      outcomes.emplace_back();
    else if (auto f = failed.find(id); f != failed.end())
      outcomes.push_back(make_app_error(app_error::internal, "CONSUMER_FAILED", f->second));
    else
      outcomes.push_back(
          make_app_error(app_error::internal, "CONSUMER_FAILED", "not handled by the consumer"));
  }
  return outcomes;
}

// Hands `events` to `consumer` through the node's bus (self->state.bus) in deliveries of
// up to `batch_size` events (app.delivery.batch-size), as the relay does on the `actors`
// bus: the consumer applies each delivery in one transaction, and the reader pays one
// message, one reply and one timer per delivery instead of per event. Calls
// done(i, error) for each events[i] once its delivery is answered: no error when the
// consumer handled it. The caller keeps each aggregate's events in order.
template <class Self, class Done>
void deliver_all(Self self, const std::string& consumer, std::vector<event_envelope> events,
                 int batch_size, std::chrono::seconds timeout, Done done) {
  auto size = std::size_t(std::max(1, batch_size));
  for (std::size_t from = 0; from < events.size(); from += size) {
    auto to = std::min(events.size(), from + size);
    delivery batch{consumer,
                   {std::make_move_iterator(events.begin() + std::ptrdiff_t(from)),
                    std::make_move_iterator(events.begin() + std::ptrdiff_t(to))}};
    std::vector<std::string> ids;
    ids.reserve(batch.events.size());
    for (auto& event : batch.events)
      ids.push_back(event.id);
    self->request(self->state.bus, timeout, std::move(batch))
        .then(
            [done, from, ids](const delivery_ack& ack) mutable {
              auto outcomes = outcomes_of(ack, ids);
              for (std::size_t k = 0; k < outcomes.size(); ++k)
                done(from + k, std::move(outcomes[k]));
            },
            [done, from, n = to - from](caf::error& err) mutable {
              for (std::size_t k = 0; k < n; ++k)
                done(from + k, err);
            });
  }
}

} // namespace brokers
