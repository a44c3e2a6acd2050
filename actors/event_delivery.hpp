// How events travel from a module's outbox relay to the consumers of other modules: the
// envelope (docs/openapi.yaml, EventEnvelope), a delivery of a batch of events to one consumer,
// and the typed interface a consuming module's service answers. The event bus routes
// deliveries; the consumer acknowledges only after its own transaction committed.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

struct event_envelope {
  std::string id;
  std::string event_name;
  std::string aggregate_id;
  int64_t sequence = 0;
  std::string correlation_id;
  std::string causation_id; // empty: none
  std::string payload;      // JSON text
  std::string timestamp;    // RFC 3339, when the event was written
};

// Hand `events` to the consumer named `consumer` ("<module>.<consumer>"), to be applied
// in this order. Senders keep each aggregate's events in sequence order, and never have
// two deliveries holding events of one (consumer, aggregate) out at once.
struct delivery {
  std::string consumer;
  std::vector<event_envelope> events;
};

// What became of each event of a delivery, once the consumer's transaction committed:
// `handled` (applied now, or seen before), or `failed` with a text for operators
// (`errors`, in the same order). An event in neither was not tried: it came after a
// failed event of its own aggregate, and waits behind it.
struct delivery_ack {
  std::string consumer;
  std::vector<std::string> handled;
  std::vector<std::string> failed;
  std::vector<std::string> errors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_envelope& x) {
  return f(caf::meta::type_name("event_envelope"), x.id, x.event_name, x.aggregate_id, x.sequence,
           x.correlation_id, x.causation_id, x.payload, x.timestamp);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, delivery& x) {
  return f(caf::meta::type_name("delivery"), x.consumer, x.events);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, delivery_ack& x) {
  return f(caf::meta::type_name("delivery_ack"), x.consumer, x.handled, x.failed, x.errors);
}

// A consuming module's service extends this interface (consumer_api::extend<...>).
using consumer_api = caf::typed_actor<caf::replies_to<delivery>::with<delivery_ack>>;

// What a module declares about one of its consumers: its full name and the events it
// handles. The relays of every outbox fan events out by these declarations.
struct consumer_spec {
  std::string name;
  std::vector<std::string> events;
};
