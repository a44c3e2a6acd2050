// The SQL of an outbox relay (actors/outbox_relay.cpp) over one module's schema: the
// lease that elects one active relay per outbox, turning published events into one
// event into deliveries (rows only where one is needed: after a failure, or behind one),
// picking the deliveries that are due (in sequence order per aggregate and consumer),
// recording outcomes, and the operators' views.
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

// One delivery of an event to one consumer. `row` is the id of its deliveries row, empty
// while it lives only in the relay's memory (the happy path writes no delivery row).
struct due_delivery {
  std::string row;
  std::string consumer;
  int attempts = 0;
  int64_t position = 0;
  stored_event event;
};

struct publish_result {
  int events = 0;                       // outbox rows claimed
  int marked = 0;                       // of which marked published at once (nothing left to send)
  std::vector<due_delivery> deliveries; // to send from memory, in outbox position order
};

// What became of deliveries since the last record(), written in one transaction.
struct delivery_outcomes {
  std::vector<std::string> delivered;                       // rows acknowledged
  std::vector<std::pair<due_delivery, std::string>> failed; // with the error, for operators
  std::vector<due_delivery> held; // behind a failure of their (consumer, aggregate)
  std::vector<int64_t> settled;   // events every consumer took or holds a row for
  bool empty() const {
    return delivered.empty() && failed.empty() && held.empty() && settled.empty();
  }
  void clear() { *this = {}; }
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

  // In one transaction that first checks our fencing token: claims up to `limit` events
  // not yet published (leaving out `in_memory`, those the relay is still sending). Events
  // become visible out of position order (a sequence value is taken before commit);
  // scanning for unpublished rows, not "after the last position seen", never skips one.
  // Per (event, consumer): nothing to do when a row exists (a previous leader's failure:
  // the due query has it); a pending row when an earlier event of the same (consumer,
  // aggregate) is still open, so that the due query keeps their order; otherwise a
  // delivery to send from memory. An event with nothing to send is marked published now.
  // nullopt when the lease was lost.
  std::optional<publish_result> publish(pg_connection& db, int64_t fencing, int limit,
                                        const subscriptions& subs,
                                        const std::vector<int64_t>& in_memory);

  // For a broker backend: in one transaction that first checks our fencing token, the
  // next `limit` events not yet published, in position order (same scan as publish). The
  // caller marks them published once the broker has them. nullopt: the lease was lost.
  std::optional<std::vector<std::pair<int64_t, stored_event>>> claim(pg_connection& db,
                                                                     int64_t fencing, int limit);
  void mark_published(pg_connection& db, const std::vector<std::string>& positions);

  // Delivery rows due now whose predecessors (same consumer and aggregate) are all done,
  // leaving out the rows in flight.
  std::vector<due_delivery> due(pg_connection& db, const std::vector<std::string>& in_flight,
                                int limit);

  // Writes outcomes and marks settled events published, in one transaction; returns the
  // number of events marked.
  int record(pg_connection& db, const delivery_outcomes& outcomes, const retry_policy& policy);

  outbox_counts counts(pg_connection& db);
  // Only what the metrics gauges need (pending, oldest pending age): cheap enough to run
  // every second, unlike the published and dead-lettered totals of counts().
  outbox_counts pending_counts(pg_connection& db);
  std::vector<dead_letter_row> dead_letters(pg_connection& db);
  // Dead letter -> pending again (attempts reset): true if `id` was a dead letter here.
  bool replay(pg_connection& db, const std::string& id);
  // A broker's reader gave up on event `event_id` for `consumer`: a dead delivery row,
  // like the relay's own. False when the event is not in this outbox.
  bool bury(pg_connection& db, const std::string& event_id, const std::string& consumer,
            int attempts, const std::string& error);
  // Dead letter -> discarded (kept as a record), releasing later events of its aggregate.
  bool discard(pg_connection& db, const std::string& id);

private:
  void advance_watermark(pg_connection& db);

  // Planned at every call, not prepared: a generic plan made while the outbox was still
  // small scans the whole table for the positions (seen at 40 ms per batch).
  std::string mark_published_sql_;

  std::string holder_;
  // Every outbox position below it is published and final (committed or rolled back).
  int64_t watermark_ = 0;
  // A watermark in waiting: once every transaction that may hold a position up to
  // `last_position` has ended (no transaction older than `later_xid` runs), the
  // positions up to it are final.
  struct watermark_candidate {
    int64_t last_position;
    std::optional<std::string> later_xid; // assigned after last_position was read
  };
  std::optional<watermark_candidate> candidate_;
  std::chrono::milliseconds lease_ttl_;
  pg_statement acquire_, release_, fence_, last_position_, own_xid_, watermark_after_, unpublished_,
      existing_, hold_, bury_, due_, delivered_, failed_, pending_counts_, counts_, dead_, replay_,
      discard_;
};

} // namespace persistence
