// The SQL of an outbox relay (actors/outbox_relay.cpp) over one module's schema: the
// lease that elects one active relay per outbox, turning published events into one
// delivery row per (event, consumer), picking the deliveries that are due (in sequence
// order per aggregate and consumer), recording outcomes, and the operators' views.
#pragma once

#include "persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace persistence {

struct stored_event {
  std::string id;
  std::string event_name;
  std::string aggregate_id;
  int64_t sequence = 0;
  std::string correlation_id;
  std::string causation_id; // empty: none
  std::string payload;      // JSON text
  std::string created_at;   // RFC 3339
};

struct due_delivery {
  std::string delivery_id;
  std::string consumer;
  int attempts = 0;
  stored_event event;
};

// A delivery row the relay just created, with whether an earlier delivery of the same
// (consumer, aggregate) was already open (pending or dead) before this publish.
struct published_delivery {
  due_delivery delivery;
  int64_t position = 0;
  bool behind_open = false;
};

struct publish_result {
  int events = 0;                             // outbox rows marked published
  std::vector<published_delivery> deliveries; // in outbox position order
};

struct delivery_failure {
  std::string delivery_id;
  std::string error; // written for operators
};

struct retry_policy {
  std::chrono::milliseconds backoff_initial;
  std::chrono::milliseconds backoff_max;
  int max_attempts;
};

struct outbox_counts {
  int64_t pending = 0; // events not yet delivered to every consumer
  int64_t oldest_pending_age_ms = 0;
  int64_t published = 0;
  int64_t dead_lettered = 0;
};

struct dead_letter_row {
  std::string id;
  std::string event_id;
  std::string event_name;
  std::string consumer;
  int attempts = 0;
  std::string last_error;
  std::string failed_at;
};

// event name -> the consumers ("<module>.<consumer>") that handle it
using subscriptions = std::map<std::string, std::vector<std::string>>;

class relay_store {
public:
  relay_store(const std::string& schema, std::string holder, std::chrono::milliseconds lease_ttl);

  // Takes the lease when it is free or expired, or renews ours; the fencing token while
  // this process holds it.
  std::optional<int64_t> acquire_lease(pg_connection& db);
  // Gives the lease up (shutdown), so that a standby takes over at once.
  void release_lease(pg_connection& db);

  // In one transaction that first checks our fencing token: turns up to `limit` events
  // not yet published into delivery rows and marks them published. Events become
  // visible out of position order (a sequence value is taken before commit); scanning
  // for unpublished rows, not "after the last position seen", never skips one.
  // Returns the events published and the deliveries created (with their events, so
  // that the relay can send them at once), or nullopt when the lease was lost.
  std::optional<publish_result> publish(pg_connection& db, int64_t fencing, int limit,
                                        const subscriptions& subs);

  // Deliveries due now whose predecessors (same consumer and aggregate) are all done,
  // leaving out those in flight.
  std::vector<due_delivery> due(pg_connection& db, const std::vector<std::string>& in_flight,
                                int limit);

  void record(pg_connection& db, const std::vector<std::string>& delivered,
              const std::vector<delivery_failure>& failed, const retry_policy& policy);

  outbox_counts counts(pg_connection& db);
  // Only what the metrics gauges need (pending, oldest pending age): cheap enough to run
  // every second, unlike the published and dead-lettered totals of counts().
  outbox_counts pending_counts(pg_connection& db);
  std::vector<dead_letter_row> dead_letters(pg_connection& db);
  // Dead letter -> pending again (attempts reset): true if `id` was a dead letter here.
  bool replay(pg_connection& db, const std::string& id);
  // Dead letter -> discarded (kept as a record), releasing later events of its aggregate.
  bool discard(pg_connection& db, const std::string& id);

private:
  std::string holder_;
  std::chrono::milliseconds lease_ttl_;
  pg_statement acquire_, release_, fence_, unpublished_, insert_deliveries_, mark_published_, due_,
      delivered_, failed_, pending_counts_, counts_, dead_, replay_, discard_;
};

} // namespace persistence
