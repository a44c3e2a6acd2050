// See event_bus.hpp.
#include "actors/event_bus.hpp"

#include "actors/app_error.hpp"
#include "actors/directory.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>

namespace {

struct bus_state {
  caf::actor directory;
  std::map<std::string, consumer_api> modules; // dropped when the module goes down
  static inline const char* name = "event_bus";
};

consumer_api::behavior_type event_bus(consumer_api::stateful_pointer<bus_state> self,
                                      caf::actor directory) {
  self->state.directory = std::move(directory);
  self->set_down_handler([self](caf::down_msg& down) {
    for (auto i = self->state.modules.begin(); i != self->state.modules.end();)
      i = i->second.address() == down.source ? self->state.modules.erase(i) : std::next(i);
  });
  return {
    [self](delivery& d) -> caf::result<delivery_ack> {
      auto module = d.consumer.substr(0, d.consumer.find('.'));
      if (auto known = self->state.modules.find(module); known != self->state.modules.end())
        return self->delegate(known->second, std::move(d));
      auto promise = self->make_response_promise<delivery_ack>();
      self->request(self->state.directory, std::chrono::seconds{2}, directory_get_atom::value, module)
        .then(
          [self, module, d, promise](const caf::actor& handle) mutable {
            auto consumer = caf::actor_cast<consumer_api>(handle);
            self->monitor(consumer);
            self->state.modules[module] = consumer;
            promise.delegate(consumer, std::move(d));
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
      return promise;
    },
  };
}

} // namespace

consumer_api spawn_event_bus(caf::actor_system& sys, caf::actor directory) {
  return sys.spawn(event_bus, std::move(directory));
}
