// The SQL of an outbox relay (actors/outbox_relay.cpp) over one module's schema: the
// lease that elects one active relay per outbox, the relay's progress through the outbox,
// turning claimed events into deliveries (rows only where one is needed: after a failure,
// or behind one), picking the deliveries that are due (in sequence order per aggregate
// and consumer), recording outcomes, and the operators' views.
//
// Progress is one number, not a mark per event: the watermark, below which every event
// has been taken by every consumer (or holds a delivery row) and no position can still
// commit. It is stored in the lease row by each round's fencing check, so a new leader
// starts from it and sends again only what was in flight (the consumers' inboxes drop
// the repeats). Events above it are tracked in memory by the leader.
#pragma once

#include "persistence/pg.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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

struct claimed_event {
  int64_t position = 0;
  stored_event event;
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
  std::vector<claimed_event> events;    // claimed in this round, in position order
  std::vector<due_delivery> deliveries; // of those, what to send from memory, in order
};

// What became of deliveries since the last round, written at the start of the next.
struct delivery_outcomes {
  std::vector<std::string> delivered;                       // rows acknowledged
  std::vector<std::pair<due_delivery, std::string>> failed; // with the error, for operators
  std::vector<due_delivery> held; // behind a failure of their (consumer, aggregate)
  bool empty() const { return delivered.empty() && failed.empty() && held.empty(); }
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
  // this process holds it. Progress starts again from the stored watermark.
  std::optional<int64_t> acquire_lease(pg_connection& db);
  // Gives the lease up (shutdown), so that a standby takes over at once.
  void release_lease(pg_connection& db);

  // One round of the leader, in one transaction that first checks our fencing token and
  // stores the watermark: writes `outcomes`, then claims up to `limit` events not claimed
  // yet, in position order. Events become visible out of position order (a position is
  // taken before commit); one that commits behind the claims is found and claimed later,
  // never skipped. With `subs`, per (event, consumer): nothing to do when a row exists
  // (a previous leader's failure: the due query has it); a pending row when an earlier
  // event of the same (consumer, aggregate) is still open, so that the due query keeps
  // their order; otherwise a delivery to send from memory. An event with nothing to send
  // is settled at once. Without `subs` (a broker), the caller settles the events once the
  // broker has them. nullopt when the lease was lost (progress is forgotten).
  std::optional<publish_result> publish(pg_connection& db, int64_t fencing, int limit,
                                        const subscriptions* subs,
                                        const delivery_outcomes& outcomes,
                                        const retry_policy& policy);

  // Every consumer took the claimed event at `position` (or holds a row for it, written
  // by the next round): the watermark may pass it.
  void settle(int64_t position);
  // The claimed events not settled yet did not get out (a broker refused them): the next
  // round claims them again.
  void retry_claims();
  // Whether the watermark has not yet passed everything claimed: a round soon lets it
  // catch up (and finds an event that committed behind the claims).
  bool behind() const { return leading_ && (watermark_ <= scanned_ || late_); }

  // Delivery rows due now whose predecessors (same consumer and aggregate) are all done,
  // leaving out the rows in flight.
  std::vector<due_delivery> due(pg_connection& db, const std::vector<std::string>& in_flight,
                                int limit);

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
  void write_outcomes(pg_connection& db, const delivery_outcomes& outcomes,
                      const retry_policy& policy);
  void advance_watermark(pg_connection& db, const pg_result& check);
  // Looks for an event in [from, to] that committed behind our claims (`events_between`:
  // how many events there are, when already counted); true when one was found (late_).
  bool find_late(pg_connection& db, int64_t from, int64_t to,
                 std::optional<int64_t> events_between);
  std::vector<claimed_event> claim(pg_connection& db, int limit);
  // Per (claimed event, consumer): a delivery to send, a row to hold it, or nothing.
  void publish_claimed(pg_connection& db, const subscriptions* subs, publish_result& result);
  // Claimed or settled positions in [from, to], for the statements that skip them.
  std::vector<int64_t> known_between(int64_t from, int64_t to) const;
  // The watermark and settled count the counts use: ours while we lead, else the stored one.
  std::vector<pg_param> count_params() const;

  std::string holder_;
  std::chrono::milliseconds lease_ttl_;
  bool leading_ = false;
  // Every position below it is settled and final (committed or rolled back).
  int64_t watermark_ = 0;
  int64_t scanned_ = 0;         // the highest position claimed; claims go on after it
  std::set<int64_t> claimed_;   // claimed, not settled
  std::set<int64_t> settled_;   // settled, at or above the watermark
  std::optional<int64_t> late_; // a position below scanned_ that committed late, unclaimed
  // While the proof is stalled, late events are looked for this often, this far back.
  static constexpr std::chrono::milliseconds late_check_period{20};
  static constexpr int64_t late_window = 4096;
  std::chrono::steady_clock::time_point late_checked_;
  // A watermark in waiting: once every transaction that may hold a position up to
  // `last_position` has ended (no transaction older than `xid` runs), the positions up
  // to it are final.
  struct watermark_candidate {
    int64_t last_position;
    std::string xid; // of the round that read last_position, taken after it
  };
  std::optional<watermark_candidate> candidate_;
  pg_statement acquire_, release_, fence_, last_position_, watermark_check_, count_between_,
      first_unknown_, unclaimed_, next_unclaimed_, any_rows_, existing_, hold_, bury_, due_,
      delivered_, failed_, pending_counts_, counts_, dead_, replay_, discard_;
};

} // namespace persistence
