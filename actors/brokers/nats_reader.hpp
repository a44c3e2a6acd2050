// The consumer side of the `nats` bus backend: one reader per consumer on each node that
// runs its module. For every partition subject of every module that publishes events the
// consumer handles, a durable pull consumer (explicit acks) delivers the messages; the
// reader hands each to the consumer through the event bus actor and acknowledges it only
// after the consumer committed (its inbox drops a redelivery).
//
// - One active reader per (consumer, partition) across all nodes: a lease key in a KV
//   bucket whose entries expire (app.bus.reader-lease-ttl), renewed while held. AckWait
//   equals the lease time and held messages are kept alive with in-progress acks, so when
//   a reader dies its messages become due for redelivery by the time its lease lapses.
//   JetStream promises no order among redeliveries, so a partition newly taken over
//   settles first: the new reader fetches but hands nothing out until every message
//   outstanding on the consumer is in its hands, kept by stream sequence; per aggregate,
//   the order holds. Pulls, acks and in-progress acks go out only on a lease just
//   confirmed (a reader that was frozen must not take messages from its successor), and a
//   reader that loses a partition gives its messages back at once (nak). JetStream cannot
//   fence a pull by the lease, so a reader frozen between confirming and pulling may still
//   take messages once: the consumer numbers its deliveries, the partition's reader sees
//   the gap and settles again until those messages are back in its hands.
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
