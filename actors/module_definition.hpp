// What a module tells the node about itself (its module.cpp fills one in): its name, its
// schema migrations, the message types it sends over the network, and the children of
// its supervisor. The node starts the modules placed on it from these definitions.
#pragma once

#include "actors/app_metrics.hpp"
#include "actors/event_delivery.hpp"
#include "actors/supervisor.hpp"
#include "config/app_settings.hpp"
#include "persistence/migration.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <string>
#include <vector>

struct module_context {
  std::string name;
  std::string dsn; // this module's own role
  const config::app_settings& settings;
  caf::actor directory;           // to reach other modules (read-only queries, README "Rules")
  app_metrics* metrics = nullptr; // outlives the actor system

  // Counts one event appended to this module's outbox (empty without metrics).
  std::function<void()> on_event_appended() const {
    if (!metrics)
      return {};
    auto* counter = &metrics->events_appended.labels({name});
    return [counter] { counter->inc(); };
  }
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
};
