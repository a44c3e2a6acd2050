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
std::string pending_columns(const std::string& s) {
  return "(SELECT count(*) FROM " + s +
         ".outbox WHERE published_at IS NULL) + "
         "(SELECT count(DISTINCT event_position) FROM " +
         s +
         ".deliveries WHERE status IN ('pending', 'dead')), "
         "coalesce((extract(epoch FROM clock_timestamp() - least("
         "(SELECT min(created_at) FROM " +
         s +
         ".outbox WHERE published_at IS NULL), "
         "(SELECT min(created_at) FROM " +
         s + ".deliveries WHERE status IN ('pending', 'dead')))) * 1000)::bigint, 0)";
}

#define TIMESTAMP(column)                                                                          \
  "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

} // namespace

relay_store::relay_store(const std::string& s, std::string holder,
                         std::chrono::milliseconds lease_ttl)
    : holder_(std::move(holder)), lease_ttl_(lease_ttl),
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
      unpublished_{
          "relay_unpublished",
          "SELECT position, id, event_name, aggregate_id, sequence, correlation_id, "
          "coalesce(causation_id::text, ''), payload::text, " TIMESTAMP("created_at") " FROM " +
              s + ".outbox WHERE published_at IS NULL ORDER BY position LIMIT $1"},
      insert_deliveries_{
          "relay_insert_deliveries",
          "INSERT INTO " + s +
              ".deliveries (event_position, consumer, aggregate_id, sequence) "
              "SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], "
              "$4::bigint[]) ON CONFLICT DO NOTHING "
              // the subquery sees the table as it was before this statement
              "RETURNING id, event_position, consumer, EXISTS (SELECT 1 FROM " +
              s +
              ".deliveries e WHERE e.consumer = deliveries.consumer "
              "AND e.aggregate_id = deliveries.aggregate_id "
              "AND e.sequence < deliveries.sequence AND e.status IN ('pending', 'dead'))"},
      mark_published_{"relay_mark_published", "UPDATE " + s +
                                                  ".outbox SET published_at = now() "
                                                  "WHERE position = ANY($1::bigint[])"},
      due_{"relay_due",
           "SELECT d.id, d.consumer, d.attempts, o.id, o.event_name, o.aggregate_id, o.sequence, "
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
      failed_{"relay_failed",
              "UPDATE " + s +
                  ".deliveries d SET attempts = d.attempts + 1, last_error = f.error, "
                  "updated_at = now(), status = CASE WHEN d.attempts + 1 >= $3 THEN 'dead' "
                  "ELSE 'pending' END, next_attempt_at = clock_timestamp() + least($5::float8, "
                  "$4::float8 * power(2, d.attempts)) * interval '1 millisecond' "
                  "FROM unnest($1::uuid[], $2::text[]) AS f(id, error) "
                  "WHERE d.id = f.id AND d.status = 'pending'"},
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

std::optional<publish_result> relay_store::publish(pg_connection& db, int64_t fencing, int limit,
                                                   const subscriptions& subs) {
  pg_transaction tx{db};
  if (db.exec(fence_, {holder_, fencing, int64_t(lease_ttl_.count())}).empty())
    return std::nullopt; // another relay holds the lease now: stop before touching events
  auto rows = db.exec(unpublished_, {limit});
  publish_result result;
  result.events = rows.rows();
  if (rows.empty()) {
    tx.commit(); // keeps the renewed lease
    return result;
  }
  std::map<int64_t, stored_event> events; // by position
  std::vector<std::string> positions, d_positions, d_consumers, d_aggregates, d_sequences;
  for (int i = 0; i < rows.rows(); ++i) {
    positions.push_back(rows.string(i, 0));
    auto consumers = subs.find(rows.string(i, 2));
    if (consumers == subs.end())
      continue;
    events.emplace(rows.integer(i, 0),
                   stored_event{rows.string(i, 1), rows.string(i, 2), rows.string(i, 3),
                                rows.integer(i, 4), rows.string(i, 5), rows.string(i, 6),
                                rows.string(i, 7), rows.string(i, 8)});
    for (auto& consumer : consumers->second) {
      d_positions.push_back(rows.string(i, 0));
      d_consumers.push_back(consumer);
      d_aggregates.push_back(rows.string(i, 3));
      d_sequences.push_back(rows.string(i, 4));
    }
  }
  if (!d_positions.empty()) {
    auto created = db.exec(insert_deliveries_, {array_text(d_positions), array_text(d_consumers),
                                                array_text(d_aggregates), array_text(d_sequences)});
    for (int i = 0; i < created.rows(); ++i) {
      auto position = created.integer(i, 1);
      result.deliveries.push_back(
          {{created.string(i, 0), created.string(i, 2), 0, events.at(position)},
           position,
           created.boolean(i, 3)});
    }
    std::stable_sort(result.deliveries.begin(), result.deliveries.end(),
                     [](auto& a, auto& b) { return a.position < b.position; });
  }
  db.exec(mark_published_, {array_text(positions)});
  tx.commit();
  return result;
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
         {rows.string(i, 3), rows.string(i, 4), rows.string(i, 5), rows.integer(i, 6),
          rows.string(i, 7), rows.string(i, 8), rows.string(i, 9), rows.string(i, 10)}});
  return result;
}

void relay_store::record(pg_connection& db, const std::vector<std::string>& delivered,
                         const std::vector<delivery_failure>& failed, const retry_policy& policy) {
  if (!delivered.empty())
    db.exec(delivered_, {array_text(delivered)});
  if (failed.empty())
    return;
  std::vector<std::string> ids, errors;
  for (auto& f : failed) {
    ids.push_back(f.delivery_id);
    errors.push_back(f.error);
  }
  db.exec(failed_, {array_text(ids), array_text(errors), policy.max_attempts,
                    std::to_string(policy.backoff_initial.count()),
                    std::to_string(policy.backoff_max.count())});
}

outbox_counts relay_store::counts(pg_connection& db) {
  auto r = db.exec(counts_);
  return {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2), r.integer(0, 3)};
}

outbox_counts relay_store::pending_counts(pg_connection& db) {
  auto r = db.exec(pending_counts_);
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

bool relay_store::replay(pg_connection& db, const std::string& id) {
  return !db.exec(replay_, {id}).empty();
}

bool relay_store::discard(pg_connection& db, const std::string& id) {
  return !db.exec(discard_, {id}).empty();
}

} // namespace persistence
