// The consumer side of the `rabbitmq` bus backend: one reader per consumer
// ("<module>.<consumer>") on each node that runs the module. It consumes the consumer's
// partition queues (rabbitmq_exchange.hpp) and hands each message to the consumer through
// the event bus actor, exactly as the `actors` backend does; the message is acknowledged
// only after the consumer committed (the consumer's inbox makes a redelivery harmless).
//
// - One active reader per (consumer, partition) across all nodes: the queues are
//   single-active-consumer, so RabbitMQ itself hands a partition to the next reader when
//   its reader's connection goes, with the unacknowledged messages back in queue order.
//   Readers that know they hold more than their share of partitions (partitions over the
//   queue's consumer count) hand idle ones over by subscribing again at the back (idle:
//   nothing delivered for a second, judged right after the socket was read empty, so a
//   reader that was frozen first takes in what reached it meanwhile).
// - Per aggregate, messages reach the consumer in queue order: a message that failed holds
//   back the later ones of its aggregate in that partition, and only those. It is retried
//   with the delivery backoff and, after app.delivery.max-attempts, rejected: RabbitMQ
//   dead-letters it to the consumer's dead-letter queue (so do messages that expire), whose
//   reader hands it to its publisher's relay as a dead letter (listed, replayed and
//   discarded by the admin API like the `actors` backend's) and only then acknowledges it.
//   As on the other brokers, a dead letter no longer holds back its aggregate (issue 5).
// - RabbitMQ down: the reader reconnects with backoff; what it held unacknowledged comes
//   back from the queues.
//
// Runs detached: it blocks on the broker's socket (rabbitmq-c is synchronous).
#pragma once

#include "actors/brokers/broker.hpp"

namespace brokers {

caf::actor spawn_rabbitmq_reader(caf::actor_system& sys, reader_config cfg);

} // namespace brokers
