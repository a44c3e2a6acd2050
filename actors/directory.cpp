// See directory.hpp.
#include "actors/directory.hpp"

#include "actors/app_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <string>

namespace {

struct directory_state {
  std::map<std::string, caf::actor> modules;
  static inline const char* name = "directory";
};

caf::behavior directory(caf::stateful_actor<directory_state>* self) {
  self->set_down_handler([self](caf::down_msg& down) {
    for (auto i = self->state.modules.begin(); i != self->state.modules.end();) {
      if (i->second.address() == down.source)
        i = self->state.modules.erase(i);
      else
        ++i;
    }
  });
  return {
    [self](directory_put_atom, const std::string& module, caf::actor& handle) {
      self->monitor(handle);
      self->state.modules[module] = std::move(handle);
    },
    [self](directory_get_atom, const std::string& module) -> caf::result<caf::actor> {
      if (auto i = self->state.modules.find(module); i != self->state.modules.end())
        return i->second;
      return make_app_error(app_error::unavailable, "UNAVAILABLE",
                            "service temporarily unavailable");
    },
  };
}

} // namespace

caf::actor spawn_directory(caf::actor_system& sys) { return sys.spawn(directory); }
