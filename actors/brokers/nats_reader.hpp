// The consumer side of the `nats` bus backend: one reader per consumer on each node that
// runs its module. For every partition subject of every module that publishes events the
// consumer handles, a durable pull consumer (explicit acks) delivers the messages; the
// reader hands each to the consumer through the event bus actor and acknowledges it only
// after the consumer committed (its inbox drops a redelivery).
//
// - One active reader per (consumer, partition) across all nodes: a lease key in a KV
//   bucket whose entries expire (app.bus.reader-lease-ttl), renewed while held. AckWait
//   equals the lease time and held messages are kept alive with in-progress acks, so when
//   a reader dies its messages become due for redelivery by the time its lease lapses;
//   when the previous reader left messages unacknowledged, the next one waits one AckWait
//   before fetching, and JetStream hands out redeliveries before new messages: per
//   aggregate, the order holds.
// - Per aggregate, messages reach the consumer in stream order: a failed message holds
//   back the later ones of its aggregate in that partition; it is retried with the
//   delivery backoff and after app.delivery.max-attempts handed to its publisher's relay
//   as a dead letter, then acknowledged.
//
// Runs detached: it blocks on NATS (fetch with a timeout).
#pragma once

#include "actors/brokers/broker.hpp"

namespace brokers {

caf::actor spawn_nats_reader(caf::actor_system& sys, reader_config cfg);

} // namespace brokers
