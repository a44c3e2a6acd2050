// The consumer side of the `redis` bus backend: one reader per consumer
// ("<module>.<consumer>") on each node that runs the module. It reads the streams of
// every module that publishes events the consumer handles, one consumer group per
// consumer, and hands each entry to the consumer through the event bus actor, exactly as
// the `actors` backend does; the entry is acknowledged (XACK) only after the consumer
// committed (the consumer's inbox makes a redelivery harmless).
//
// - One active reader per (consumer, partition stream) across all nodes: a lease key in
//   Redis (SET NX PX, renewed while held). Every read and claim for the group runs in a
//   script that first checks the lease, so a reader that lost it (frozen, say) takes
//   nothing more from the stream; waiting for new entries uses XREAD, which takes nothing.
//   A reader that takes a stream over claims the entries its predecessor left pending at
//   once, and later sweeps those idle for app.bus.claim-idle (XAUTOCLAIM). Its name in
//   the consumer group is its lease holder name.
// - Per aggregate, entries reach the consumer in stream order: an entry that failed holds
//   back the later entries of its aggregate in that stream, and only those. A failed
//   entry is retried with the delivery backoff and, after app.delivery.max-attempts,
//   handed to its publisher's relay as a dead letter (listed, replayed and discarded by
//   the admin API like the `actors` backend's) and acknowledged. Unlike there, a dead
//   letter no longer holds back the later entries of its aggregate (issue 5).
// - Redis down: the reader drops its leases, retries with backoff, and carries on where
//   the consumer group left off.
//
// Runs detached: it blocks on Redis (XREAD ... BLOCK).
#pragma once

#include "actors/brokers/broker.hpp"

namespace brokers {

caf::actor spawn_redis_reader(caf::actor_system& sys, reader_config cfg);

} // namespace brokers
