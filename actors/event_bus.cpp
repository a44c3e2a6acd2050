// See event_bus.hpp.
#include "actors/event_bus.hpp"

#include "actors/app_error.hpp"
#include "actors/directory.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <map>

namespace {

// A delivery to another node that gets no answer: the relay's own deadline is the same.
constexpr std::chrono::seconds remote_delivery_timeout{30};

using ack_promise = caf::typed_response_promise<delivery_ack>;

struct bus_state {
  caf::actor directory;
  std::map<std::string, consumer_api> modules; // dropped when the module goes down
  // Deliveries waiting for a consumer on another node, by that consumer: CAF never fails
  // a request to a peer that died, so the bus fails them when the link goes down.
  std::map<caf::actor_addr, std::map<std::uint64_t, ack_promise>> remote_in_flight;
  std::uint64_t next_id = 0;
  static inline const char* name = "event_bus";
};

using self_pointer = consumer_api::stateful_pointer<bus_state>;

void forward(self_pointer self, const consumer_api& consumer, delivery d, ack_promise promise) {
  if (consumer.node() == self->node()) {
    promise.delegate(consumer, std::move(d));
    return;
  }
  auto addr = consumer.address();
  auto id = ++self->state.next_id;
  self->state.remote_in_flight[addr].emplace(id, promise);
  auto settle = [self, addr, id](auto&& outcome) {
    auto& waiting = self->state.remote_in_flight;
    auto by_consumer = waiting.find(addr);
    if (by_consumer == waiting.end())
      return; // already failed when the link went down
    auto entry = by_consumer->second.find(id);
    if (entry == by_consumer->second.end())
      return;
    entry->second.deliver(std::forward<decltype(outcome)>(outcome));
    by_consumer->second.erase(entry);
    if (by_consumer->second.empty())
      waiting.erase(by_consumer);
  };
  self->request(consumer, remote_delivery_timeout, std::move(d))
      .then([settle](delivery_ack& ack) { settle(std::move(ack)); },
            [settle](caf::error& err) { settle(std::move(err)); });
}

consumer_api::behavior_type event_bus(self_pointer self, caf::actor directory,
                                      std::shared_ptr<const trusted_nodes> trusted) {
  self->state.directory = std::move(directory);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (auto i = st.modules.begin(); i != st.modules.end();)
      i = i->second.address() == down.source ? st.modules.erase(i) : std::next(i);
    if (auto waiting = st.remote_in_flight.find(down.source);
        waiting != st.remote_in_flight.end()) {
      for (auto& [id, promise] : waiting->second)
        promise.deliver(
            make_app_error(app_error::unavailable, "UNAVAILABLE", "consumer node unreachable"));
      st.remote_in_flight.erase(waiting);
    }
  });
  return {
      [self, trusted](delivery& d) -> caf::result<delivery_ack> {
        if (trusted && !trusted->admits(self->current_sender()))
          return trusted->refuse("@bus");
        auto module = d.consumer.substr(0, d.consumer.find('.'));
        auto promise = self->make_response_promise<delivery_ack>();
        if (auto known = self->state.modules.find(module); known != self->state.modules.end()) {
          forward(self, known->second, std::move(d), promise);
          return promise;
        }
        self->request(self->state.directory, std::chrono::seconds{2}, directory_get_atom::value,
                      module)
            .then(
                [self, module, d, promise](const caf::actor& handle) mutable {
                  auto consumer = caf::actor_cast<consumer_api>(handle);
                  self->monitor(consumer);
                  self->state.modules[module] = consumer;
                  forward(self, consumer, std::move(d), promise);
                },
                [promise](caf::error& err) mutable { promise.deliver(err); });
        return promise;
      },
  };
}

} // namespace

consumer_api spawn_event_bus(caf::actor_system& sys, caf::actor directory,
                             std::shared_ptr<const trusted_nodes> trusted) {
  return sys.spawn(event_bus, std::move(directory), std::move(trusted));
}
