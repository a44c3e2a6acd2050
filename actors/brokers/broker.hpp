// The seam between the node and a broker backend of the event bus (app.bus.backend): the
// relay appends its outbox's events through a publisher, and each local consumer gets a
// reader that takes them out of the broker and hands them to the consumer through the
// event bus actor. Adding a backend means one publisher, one reader and a line in
// broker.cpp; no module and no relay code changes.
#pragma once

#include "actors/app_metrics.hpp"
#include "config/app_settings.hpp"
#include "persistence/relay_store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace brokers {

// The broker cannot be reached (or the connection broke mid-command).
class broker_unavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The broker answered and refused a command.
class broker_refused : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The partition of an aggregate's events: every backend spreads them this way, so that one
// aggregate stays in one stream. Stable across processes and builds (std::hash is neither).
int partition_of(const std::string& aggregate_id, int partitions);

class event_publisher {
public:
  virtual ~event_publisher() = default;
  // Returns only once the broker has every event (the relay marks them published after).
  virtual void publish(const std::vector<persistence::stored_event>& events) = 0;
  // Throws broker_unavailable when the broker does not answer (and broker_refused while it
  // would refuse events).
  virtual void ping() = 0;
};

// `subscriptions` (every event's consumers, system-wide) is for brokers on which a
// consumer's queue or group must exist before an event for it is published (RabbitMQ,
// Redis); `publishes`: the events of `module`.
std::unique_ptr<event_publisher> make_publisher(const config::bus_settings& bus,
                                                const std::string& module,
                                                const persistence::subscriptions& subscriptions,
                                                const std::vector<std::string>& publishes);

struct reader_config {
  std::string consumer;                // "<module>.<consumer>"
  std::vector<std::string> events;     // the events it handles
  std::vector<std::string> publishers; // modules that publish any of them
  std::string holder;                  // unique per process
  config::bus_settings bus;
  config::delivery_settings delivery;
  caf::actor directory; // to find the event bus ("@bus") and the publishers' relays
  app_metrics* metrics = nullptr;
};

caf::actor spawn_reader(caf::actor_system& sys, reader_config cfg);

} // namespace brokers
