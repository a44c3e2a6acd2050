// The outbox relay of one module: publishes the module's committed events to their
// consumers through the event bus, with delivery tracked per (event, consumer).
//
// - Wakes when the module's writers ring its doorbell after a COMMIT (relay_doorbell.hpp;
//   writers in another process NOTIFY instead), and on a timer (app.relay.poll-interval).
// - Publishes in batches (app.relay.batch-size) by scanning for unpublished rows, so an
//   event that commits out of position order is never skipped.
// - Sends claimed events straight from memory and marks them published once every
//   consumer acknowledged them: the happy path writes no delivery row, and events not
//   yet marked go out again after a crash (the consumers' inbox drops repeats).
// - Per aggregate and consumer,
//   an event is sent only when the earlier ones are done, so consumers see each
//   aggregate's events in sequence order; a failed delivery backs off
//   (app.delivery.backoff-initial .. backoff-max) and becomes a dead letter after
//   app.delivery.max-attempts, holding back only later events of its own aggregate.
// - At most one relay per outbox is active across processes: a lease row with a fencing
//   counter (app.relay.lease-ttl); a standby takes over when the lease expires, and a
//   holder that lost it stops before its next batch.
// - On a broker backend (app.bus.backend), it appends claimed events to the broker's
//   streams instead and marks them published once the broker has them; the broker's
//   readers deliver them (actors/brokers/).
// - Answers operators' questions about its outbox (counts, dead letters, replay, discard).
//
// Runs detached: it blocks on its own database connection.
#pragma once

#include "actors/app_metrics.hpp"
#include "actors/event_delivery.hpp"
#include "actors/relay_doorbell.hpp"
#include "actors/trusted_nodes.hpp"
#include "config/app_settings.hpp"
#include "persistence/relay_store.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <string>

// Operators' view of one outbox (GET /admin/outbox).
struct outbox_status {
  std::string module;
  int64_t pending = 0;
  int64_t oldest_pending_age_ms = 0;
  int64_t published = 0;
  int64_t dead_lettered = 0;
  std::string broker; // on a broker backend: "up" or "down: <why>"; empty on the actors bus
};

struct dead_letter {
  std::string id;
  std::string event_id;
  std::string event_name;
  std::string consumer;
  int64_t attempts = 0;
  std::string last_error;
  std::string failed_at;
};

using outbox_status_atom = caf::atom_constant<caf::atom("obxstatus")>;
using dead_letters_atom = caf::atom_constant<caf::atom("deadletter")>;
using replay_atom = caf::atom_constant<caf::atom("replay")>;
using discard_atom = caf::atom_constant<caf::atom("discard")>;
// From a broker's reader that gave up on one of this outbox's events.
using bury_atom = caf::atom_constant<caf::atom("bury")>;

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, outbox_status& x) {
  return f(caf::meta::type_name("outbox_status"), x.module, x.pending, x.oldest_pending_age_ms,
           x.published, x.dead_lettered, x.broker);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(caf::meta::type_name("dead_letter"), x.id, x.event_id, x.event_name, x.consumer,
           x.attempts, x.last_error, x.failed_at);
}

// (replay_atom | discard_atom, id) -> true when `id` was a dead letter of this outbox.
using relay_api = caf::typed_actor<
    caf::replies_to<outbox_status_atom>::with<outbox_status>,
    caf::replies_to<dead_letters_atom>::with<std::vector<dead_letter>>,
    caf::replies_to<replay_atom, std::string>::with<bool>,
    caf::replies_to<discard_atom, std::string>::with<bool>,
    // (bury_atom, event id, consumer, attempts, last error):
    // the event becomes a dead letter of that consumer here,
    // like one of this relay's own; false: no such event.
    caf::replies_to<bury_atom, std::string, std::string, int, std::string>::with<bool>>;

struct relay_config {
  std::string module; // == schema
  std::string dsn;    // the module's own role
  std::string holder; // unique per process, for the lease
  persistence::subscriptions subscriptions;
  config::relay_settings relay;
  config::delivery_settings delivery;
  caf::actor directory;           // to find the event bus ("@bus")
  app_metrics* metrics = nullptr; // outlives the actor system
  config::bus_settings bus;       // on a broker, events go to its streams instead
  // Rung by the module's writers after each COMMIT with events (made here when null).
  std::shared_ptr<relay_doorbell> doorbell;
  std::vector<std::string> publishes; // the module's events (module_definition::publishes)
  // Whose admin calls and buried deliveries it serves (peers reach it); null: anyone's.
  std::shared_ptr<const trusted_nodes> trusted;
};

relay_api spawn_outbox_relay(caf::actor_system& sys, relay_config cfg);
