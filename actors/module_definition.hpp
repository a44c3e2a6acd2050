// What a module tells the node about itself (its module.cpp fills one in): its name, its
// schema migrations, the message types it sends over the network, and the children of
// its supervisor. The node starts the modules placed on it from these definitions.
#pragma once

#include "actors/app_metrics.hpp"
#include "actors/event_delivery.hpp"
#include "actors/relay_doorbell.hpp"
#include "actors/supervisor.hpp"
#include "config/app_settings.hpp"
#include "persistence/migration.hpp"
#include "persistence/outbox.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

struct module_context {
  std::string name;
  std::string dsn; // this module's own role
  const config::app_settings& settings;
  caf::actor directory;                     // to reach other modules (read-only queries only)
  app_metrics* metrics = nullptr;           // outlives the actor system
  std::shared_ptr<relay_doorbell> doorbell; // this module's relay's, shared with it

  // What the module's outbox writers tell: its relay, after each COMMIT with events; the
  // events_appended metric, per event.
  persistence::outbox_hooks outbox_hooks() const {
    persistence::outbox_hooks hooks{doorbell, {}};
    if (metrics) {
      auto* counter = &metrics->events_appended.labels({name});
      hooks.on_append = [counter] { counter->inc(); };
    }
    return hooks;
  }
};

// A table of the module's own whose rows expire (actors/retention.hpp): by `column`, a
// timestamp written in time order and indexed for it, after the age of `setting`.
struct expiring_table {
  std::string table;
  std::string column;
  config::millis config::retention_settings::*setting;
};

struct module_definition {
  std::string name;
  std::vector<persistence::migration> (*migrations)();
  void (*register_types)(caf::actor_system_config& cfg);
  std::vector<child_spec> (*children)(const module_context& ctx);
  std::string front; // the child that serves the module's typed interface
  // The module's event consumers; deliveries to them go to its front child.
  std::vector<consumer_spec> consumers;
  // The events the module appends to its outbox (its events.hpp).
  std::vector<std::string> publishes;
  // Beside its outbox, inbox and delivery rows, which every module prunes.
  std::vector<expiring_table> expiring = {};
};
