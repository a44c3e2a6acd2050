// See relay_store.hpp. Statement names are per schema because one connection may serve
// one relay only, but names stay unique anyway for clarity in pg_stat_statements.
#include "persistence/relay_store.hpp"

#include <algorithm>

namespace persistence {

namespace {

std::string array_text(const std::vector<std::string>& items) {
  std::string text = "{";
  for (auto& item : items) {
    if (text.size() > 1)
      text += ',';
    text += '"';
    for (char c : item) {
      if (c == '"' || c == '\\')
        text += '\\';
      text += c;
    }
    text += '"';
  }
  return text + "}";
}

// Events not yet delivered to every consumer, and the age of the oldest, in ms.
// $1: the watermark (every position below it is published).
std::string pending_columns(const std::string& s) {
  return "(SELECT count(*) FROM " + s +
         ".outbox WHERE published_at IS NULL AND position >= $1) + "
         "(SELECT count(DISTINCT event_position) FROM " +
         s +
         ".deliveries WHERE status IN ('pending', 'dead')), "
         "coalesce((extract(epoch FROM clock_timestamp() - least("
         "(SELECT min(created_at) FROM " +
         s +
         ".outbox WHERE published_at IS NULL AND position >= $1), "
         "(SELECT min(created_at) FROM " +
         s + ".deliveries WHERE status IN ('pending', 'dead')))) * 1000)::bigint, 0)";
}

#define TIMESTAMP(column)                                                                          \
  "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

} // namespace

relay_store::relay_store(const std::string& s, std::string holder,
                         std::chrono::milliseconds lease_ttl)
    : mark_published_sql_("UPDATE " + s +
                          ".outbox SET published_at = now() WHERE position = ANY($1::bigint[])"),
      holder_(std::move(holder)), lease_ttl_(lease_ttl),
      acquire_{"relay_acquire",
               "UPDATE " + s +
                   ".relay_lease SET "
                   "fencing = CASE WHEN holder = $1 THEN fencing ELSE fencing + 1 END, "
                   "holder = $1, expires_at = clock_timestamp() + $2 * interval '1 millisecond' "
                   "WHERE holder = $1 OR expires_at < clock_timestamp() RETURNING fencing"},
      release_{"relay_release", "UPDATE " + s +
                                    ".relay_lease SET expires_at = '-infinity' "
                                    "WHERE holder = $1"},
      fence_{"relay_fence", "UPDATE " + s +
                                ".relay_lease SET expires_at = clock_timestamp() + $3 * interval "
                                "'1 millisecond' WHERE holder = $1 AND fencing = $2 AND expires_at "
                                "> clock_timestamp() "
                                "RETURNING 1"},
      last_position_{"relay_last_position",
                     // (the sequence caches no values, so none below it is handed out later)
                     "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                     "FROM " +
                         s + ".outbox_position_seq"},
      own_xid_{"relay_own_xid", "SELECT pg_current_xact_id()::text"},
      watermark_after_{"relay_watermark_after",
                       "SELECT CASE WHEN pg_snapshot_xmin(pg_current_snapshot()) >= $2::xid8 "
                       "THEN coalesce((SELECT min(position) FROM " +
                           s +
                           ".outbox WHERE published_at IS NULL AND position >= $1 AND "
                           "position <= $3), $3 + 1) END"},
      unpublished_{
          "relay_unpublished",
          "SELECT position, id, event_name, aggregate_id, sequence, correlation_id, "
          "coalesce(causation_id::text, ''), payload::text, " TIMESTAMP("created_at") " FROM " +
              s +
              ".outbox WHERE published_at IS NULL "
              // a hashed subplan: the list costs O(1) per row, not O(list)
              "AND position >= $3 AND position NOT IN (SELECT unnest($2::bigint[])) "
              "ORDER BY position LIMIT $1"},
      existing_{"relay_existing",
                "SELECT EXISTS (SELECT 1 FROM " + s +
                    ".deliveries d WHERE d.event_position = p.position AND d.consumer = "
                    "p.consumer), EXISTS (SELECT 1 FROM " +
                    s +
                    ".deliveries e WHERE e.consumer = p.consumer AND e.aggregate_id = "
                    "p.aggregate_id AND e.sequence < p.sequence AND e.status IN ('pending', "
                    "'dead')) FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bigint[]) "
                    "WITH ORDINALITY AS p(position, consumer, aggregate_id, sequence, n) "
                    "ORDER BY p.n"},
      hold_{"relay_hold", "INSERT INTO " + s +
                              ".deliveries (event_position, consumer, aggregate_id, sequence) "
                              "SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], "
                              "$4::bigint[]) ON CONFLICT DO NOTHING"},
      bury_{"relay_bury",
            "INSERT INTO " + s +
                ".deliveries AS d (event_position, consumer, aggregate_id, sequence, status, "
                "attempts, last_error) SELECT position, $2, aggregate_id, sequence, 'dead', $3, $4 "
                "FROM " +
                s +
                ".outbox WHERE id = $1::uuid ON CONFLICT (event_position, consumer) DO UPDATE SET "
                "status = 'dead', attempts = excluded.attempts, last_error = excluded.last_error, "
                "updated_at = now() WHERE d.status <> 'delivered' RETURNING 1"},
      due_{"relay_due",
           "SELECT d.id, d.consumer, d.attempts, d.event_position, o.id, o.event_name, "
           "o.aggregate_id, o.sequence, "
           "o.correlation_id, coalesce(o.causation_id::text, ''), o.payload::text, " TIMESTAMP(
               "o.created_at") " FROM " +
               s + ".deliveries d JOIN " + s +
               ".outbox o ON o.position = d.event_position "
               "WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp() "
               // a hashed subplan: the in-flight list costs O(1) per row, not O(list)
               "AND d.id NOT IN (SELECT unnest($1::uuid[])) AND NOT EXISTS (SELECT 1 FROM " +
               s +
               ".deliveries e WHERE e.consumer = d.consumer AND e.aggregate_id = d.aggregate_id "
               "AND e.sequence < d.sequence AND e.status IN ('pending', 'dead')) "
               "ORDER BY d.event_position LIMIT $2"},
      delivered_{"relay_delivered", "UPDATE " + s +
                                        ".deliveries SET status = 'delivered', "
                                        "attempts = attempts + 1, updated_at = now() "
                                        "WHERE id = ANY($1::uuid[]) AND status = 'pending'"},
      // A first failure creates the row; a later one (a retry, sent by the due query)
      // updates it. Either way the backoff doubles per attempt up to the maximum.
      failed_{"relay_failed",
              "INSERT INTO " + s +
                  ".deliveries AS d (event_position, consumer, aggregate_id, sequence, attempts, "
                  "status, last_error, next_attempt_at) SELECT f.position, f.consumer, "
                  "f.aggregate_id, f.sequence, 1, CASE WHEN 1 >= $6 THEN 'dead' ELSE 'pending' "
                  "END, f.error, clock_timestamp() + least($8::float8, $7::float8) * interval "
                  "'1 millisecond' FROM unnest($1::bigint[], $2::text[], $3::uuid[], "
                  "$4::bigint[], $5::text[]) AS f(position, consumer, aggregate_id, sequence, "
                  "error) ON CONFLICT (event_position, consumer) DO UPDATE SET attempts = "
                  "d.attempts + 1, last_error = excluded.last_error, updated_at = now(), status "
                  "= CASE WHEN d.attempts + 1 >= $6 THEN 'dead' ELSE 'pending' END, "
                  "next_attempt_at = clock_timestamp() + least($8::float8, $7::float8 * "
                  "power(2, d.attempts)) * interval '1 millisecond' WHERE d.status = 'pending'"},
      pending_counts_{"relay_pending_counts", "SELECT " + pending_columns(s)},
      counts_{"relay_counts",
              "SELECT " + pending_columns(s) + ", (SELECT count(*) FROM " + s +
                  ".outbox WHERE published_at IS NOT NULL), (SELECT count(*) FROM " + s +
                  ".deliveries WHERE status = 'dead')"},
      dead_{"relay_dead", "SELECT d.id, o.id, o.event_name, d.consumer, d.attempts, "
                          "coalesce(d.last_error, ''), " TIMESTAMP("d.updated_at") " FROM " +
                              s + ".deliveries d JOIN " + s +
                              ".outbox o ON o.position = d.event_position WHERE d.status = 'dead' "
                              "ORDER BY d.updated_at, d.id"},
      replay_{"relay_replay", "UPDATE " + s +
                                  ".deliveries SET status = 'pending', attempts = 0, "
                                  "next_attempt_at = clock_timestamp(), updated_at = now() "
                                  "WHERE id = $1::uuid AND status = 'dead' RETURNING 1"},
      discard_{"relay_discard", "UPDATE " + s +
                                    ".deliveries SET status = 'discarded', "
                                    "updated_at = now() WHERE id = $1::uuid AND status = 'dead' "
                                    "RETURNING 1"} {}

std::optional<int64_t> relay_store::acquire_lease(pg_connection& db) {
  auto rows = db.exec(acquire_, {holder_, int64_t(lease_ttl_.count())});
  if (rows.empty())
    return std::nullopt;
  return rows.integer(0, 0);
}

void relay_store::release_lease(pg_connection& db) {
  db.exec(release_, {holder_});
}

namespace {

// The columns of unnest() over delivery rows: position, consumer, aggregate, sequence.
struct row_arrays {
  std::vector<std::string> positions, consumers, aggregates, sequences;
  void add(int64_t position, const std::string& consumer, const stored_event& e) {
    positions.push_back(std::to_string(position));
    consumers.push_back(consumer);
    aggregates.push_back(e.aggregate_id);
    sequences.push_back(std::to_string(e.sequence));
  }
  std::vector<pg_param> params() const {
    return {array_text(positions), array_text(consumers), array_text(aggregates),
            array_text(sequences)};
  }
};

} // namespace

std::optional<publish_result> relay_store::publish(pg_connection& db, int64_t fencing, int limit,
                                                   const subscriptions& subs,
                                                   const std::vector<int64_t>& in_memory) {
  pg_transaction tx{db};
  if (db.exec(fence_, {holder_, fencing, int64_t(lease_ttl_.count())}).empty())
    return std::nullopt; // another relay holds the lease now: stop before touching events
  advance_watermark(db);
  std::vector<std::string> skip;
  for (auto position : in_memory)
    skip.push_back(std::to_string(position));
  auto rows = db.exec(unpublished_, {limit, array_text(skip), watermark_});
  publish_result result;
  result.events = rows.rows();
  std::vector<due_delivery> wanted; // one per (event, consumer)
  std::vector<std::string> done;    // events with nothing to send
  for (int i = 0; i < rows.rows(); ++i) {
    auto consumers = subs.find(rows.string(i, 2));
    if (consumers == subs.end() || consumers->second.empty()) {
      done.push_back(rows.string(i, 0));
      continue;
    }
    stored_event e{rows.string(i, 1), rows.string(i, 2), rows.string(i, 3), rows.integer(i, 4),
                   rows.string(i, 5), rows.string(i, 6), rows.string(i, 7), rows.string(i, 8)};
    for (auto& consumer : consumers->second)
      wanted.push_back({"", consumer, 0, rows.integer(i, 0), e});
  }
  if (!wanted.empty()) {
    row_arrays asked, held;
    for (auto& d : wanted)
      asked.add(d.position, d.consumer, d.event);
    auto existing = db.exec(existing_, asked.params());
    std::map<int64_t, int> to_send; // by event
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      auto& d = wanted[i];
      to_send.emplace(d.position, 0);
      if (existing.boolean(int(i), 0))
        continue;
      if (existing.boolean(int(i), 1)) {
        held.add(d.position, d.consumer, d.event);
        continue;
      }
      ++to_send[d.position];
      result.deliveries.push_back(std::move(d));
    }
    if (!held.positions.empty())
      db.exec(hold_, held.params());
    for (auto& [position, count] : to_send)
      if (count == 0)
        done.push_back(std::to_string(position));
  }
  if (!done.empty())
    mark_published(db, done);
  result.marked = int(done.size());
  tx.commit();
  return result;
}

// Published rows leave dead entries in the partial index of unpublished rows until
// vacuum, so a scan from the start grows slower with every event; the watermark lets it
// start where unpublished rows can still be. A row commits out of position order when its
// transaction took its position before another that committed first, so the watermark
// moves only past positions whose transactions have surely ended:
//   1. read the last position handed out (L);
//   2. in a later transaction, take this transaction's own id (X): every transaction
//      holding a position up to L had its id before taking it (next_outbox_position),
//      so before L was read, so its id is below X;
//   3. once no transaction below X runs (the snapshot's xmin has reached X), every
//      position up to L is committed or rolled back: the watermark moves to the first
//      unpublished one, or past L.
// (A snapshot's xmax would not do for X: it is the last completed id plus one, and a
// transaction that is still running may have a higher id.)
void relay_store::advance_watermark(pg_connection& db) {
  if (!candidate_) {
    candidate_ = watermark_candidate{db.exec(last_position_).integer(0, 0), std::nullopt};
    return;
  }
  if (!candidate_->later_xid) {
    candidate_->later_xid = db.exec(own_xid_).string(0, 0);
    return; // checked from the next transaction on
  }
  auto moved =
      db.exec(watermark_after_, {watermark_, *candidate_->later_xid, candidate_->last_position});
  if (moved.is_null(0, 0))
    return; // some transaction that may hold a position up to L is still running
  watermark_ = moved.integer(0, 0);
  candidate_.reset();
}

std::optional<std::vector<std::pair<int64_t, stored_event>>>
relay_store::claim(pg_connection& db, int64_t fencing, int limit) {
  pg_transaction tx{db};
  if (db.exec(fence_, {holder_, fencing, int64_t(lease_ttl_.count())}).empty())
    return std::nullopt;
  advance_watermark(db);
  auto rows = db.exec(unpublished_, {limit, std::string{"{}"}, watermark_});
  std::vector<std::pair<int64_t, stored_event>> result;
  for (int i = 0; i < rows.rows(); ++i)
    result.emplace_back(rows.integer(i, 0),
                        stored_event{rows.string(i, 1), rows.string(i, 2), rows.string(i, 3),
                                     rows.integer(i, 4), rows.string(i, 5), rows.string(i, 6),
                                     rows.string(i, 7), rows.string(i, 8)});
  tx.commit();
  return result;
}

void relay_store::mark_published(pg_connection& db, const std::vector<std::string>& positions) {
  db.exec(mark_published_sql_, {array_text(positions)});
}

std::vector<due_delivery> relay_store::due(pg_connection& db,
                                           const std::vector<std::string>& in_flight, int limit) {
  auto rows = db.exec(due_, {array_text(in_flight), limit});
  std::vector<due_delivery> result;
  for (int i = 0; i < rows.rows(); ++i)
    result.push_back(
        {rows.string(i, 0),
         rows.string(i, 1),
         int(rows.integer(i, 2)),
         rows.integer(i, 3),
         {rows.string(i, 4), rows.string(i, 5), rows.string(i, 6), rows.integer(i, 7),
          rows.string(i, 8), rows.string(i, 9), rows.string(i, 10), rows.string(i, 11)}});
  return result;
}

int relay_store::record(pg_connection& db, const delivery_outcomes& outcomes,
                        const retry_policy& policy) {
  pg_transaction tx{db};
  if (!outcomes.failed.empty()) {
    // One row may fail only once per statement (ON CONFLICT DO UPDATE): keep the last.
    std::map<std::pair<int64_t, std::string>, const std::pair<due_delivery, std::string>*> last;
    for (auto& f : outcomes.failed)
      last[{f.first.position, f.first.consumer}] = &f;
    row_arrays rows;
    std::vector<std::string> errors;
    for (auto& [key, f] : last) {
      rows.add(f->first.position, f->first.consumer, f->first.event);
      errors.push_back(f->second);
    }
    auto params = rows.params();
    params.insert(params.end(), {array_text(errors), policy.max_attempts,
                                 std::to_string(policy.backoff_initial.count()),
                                 std::to_string(policy.backoff_max.count())});
    db.exec(failed_, params);
  }
  if (!outcomes.held.empty()) {
    row_arrays rows;
    for (auto& d : outcomes.held)
      rows.add(d.position, d.consumer, d.event);
    db.exec(hold_, rows.params());
  }
  if (!outcomes.delivered.empty())
    db.exec(delivered_, {array_text(outcomes.delivered)});
  if (!outcomes.settled.empty()) {
    std::vector<std::string> positions;
    for (auto position : outcomes.settled)
      positions.push_back(std::to_string(position));
    mark_published(db, positions);
  }
  tx.commit();
  return int(outcomes.settled.size());
}

outbox_counts relay_store::counts(pg_connection& db) {
  auto r = db.exec(counts_, {watermark_});
  return {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2), r.integer(0, 3)};
}

outbox_counts relay_store::pending_counts(pg_connection& db) {
  auto r = db.exec(pending_counts_, {watermark_});
  return {r.integer(0, 0), r.integer(0, 1), 0, 0};
}

std::vector<dead_letter_row> relay_store::dead_letters(pg_connection& db) {
  auto rows = db.exec(dead_);
  std::vector<dead_letter_row> result;
  for (int i = 0; i < rows.rows(); ++i)
    result.push_back({rows.string(i, 0), rows.string(i, 1), rows.string(i, 2), rows.string(i, 3),
                      int(rows.integer(i, 4)), rows.string(i, 5), rows.string(i, 6)});
  return result;
}

bool relay_store::bury(pg_connection& db, const std::string& event_id, const std::string& consumer,
                       int attempts, const std::string& error) {
  return !db.exec(bury_, {event_id, consumer, attempts, error}).empty();
}

bool relay_store::replay(pg_connection& db, const std::string& id) {
  return !db.exec(replay_, {id}).empty();
}

bool relay_store::discard(pg_connection& db, const std::string& id) {
  return !db.exec(discard_, {id}).empty();
}

} // namespace persistence
