// See relay_store.hpp. Statement names are per schema because one connection may serve
// one relay only, but names stay unique anyway for clarity in pg_stat_statements.
#include "persistence/relay_store.hpp"

#include <algorithm>
#include <limits>

namespace persistence {

namespace {

#define TIMESTAMP(column)                                                                          \
  "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define LAST_POSITION(s)                                                                           \
  "(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM " + s +                \
      ".outbox_position_seq)"

#define EVENT_COLUMNS                                                                              \
  "id, event_name, aggregate_id, sequence, correlation_id, coalesce(causation_id::text, ''), "     \
  "payload::text, " TIMESTAMP("created_at")

// The watermark the counts use: $1 while we lead, else the stored one; a scalar, so that
// each count is one range of the primary key. $2: events settled at or above it (known
// to the leader only); $3: the first position that may be pending.
std::string watermark_of(const std::string& s) {
  return "coalesce(nullif($1::bigint, 0), (SELECT published_through FROM " + s + ".relay_lease))";
}

// Events not yet delivered to every consumer, and the age of the oldest, in ms.
std::string pending_columns(const std::string& s) {
  return "greatest((SELECT count(*) FROM " + s + ".outbox WHERE position >= " + watermark_of(s) +
         ") - $2, 0) + (SELECT count(DISTINCT event_position) FROM " + s +
         ".deliveries WHERE status IN ('pending', 'dead')), "
         "coalesce((extract(epoch FROM clock_timestamp() - least((SELECT created_at FROM " +
         s + ".outbox WHERE position >= greatest($3::bigint, " + watermark_of(s) +
         ") ORDER BY position LIMIT 1), (SELECT min(created_at) FROM " + s +
         ".deliveries WHERE status IN ('pending', 'dead')))) * 1000)::bigint, 0)";
}

} // namespace

relay_store::relay_store(const std::string& s, std::string holder,
                         std::chrono::milliseconds lease_ttl)
    : holder_(std::move(holder)), lease_ttl_(lease_ttl),
      acquire_{"relay_acquire",
               "UPDATE " + s +
                   ".relay_lease SET "
                   "fencing = CASE WHEN holder = $1 THEN fencing ELSE fencing + 1 END, "
                   "holder = $1, expires_at = clock_timestamp() + $2 * interval '1 millisecond' "
                   "WHERE holder = $1 OR expires_at < clock_timestamp() "
                   "RETURNING fencing, published_through"},
      release_{"relay_release", "UPDATE " + s +
                                    ".relay_lease SET expires_at = '-infinity' "
                                    "WHERE holder = $1"},
      // The fencing check of every round, which also stores the watermark.
      fence_{"relay_fence", "UPDATE " + s +
                                ".relay_lease SET expires_at = clock_timestamp() + $3 * interval "
                                "'1 millisecond', published_through = greatest(published_through, "
                                "$4) WHERE holder = $1 AND fencing = $2 AND expires_at > "
                                "clock_timestamp() RETURNING pg_current_xact_id()::text"},
      // A round's first statement: the round commits without waiting for its WAL flush
      // (losing one in a crash loses only progress, which makes the relay send some events
      // again), and reads the last position handed out (the sequence caches no values, so
      // none below it is handed out later).
      last_position_{"relay_last_position",
                     "SELECT " LAST_POSITION(s) ", set_config('synchronous_commit', 'off', true)"},
      // In one snapshot: whether every transaction that may hold a position up to the
      // candidate has ended; how many events there are in [watermark, min(scanned, L)]
      // (more than we know of: one committed late); the first unclaimed one above scanned.
      watermark_check_{"relay_watermark_check",
                       "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8, "
                       "(SELECT count(*) FROM " +
                           s + ".outbox WHERE position >= $2 AND position <= $3), " +
                           "(SELECT min(position) FROM " + s +
                           ".outbox WHERE position > $4 AND position <= $5), " LAST_POSITION(s) +
                           ", set_config('synchronous_commit', 'off', true)",
                       true},
      count_between_{
          "relay_count_between",
          "SELECT count(*) FROM " + s + ".outbox WHERE position >= $1 AND position <= $2", true},
      first_unknown_{"relay_first_unknown",
                     "SELECT min(position) FROM " + s +
                         ".outbox WHERE position >= $1 AND position <= $2 "
                         // a hashed subplan: the list costs O(1) per row, not O(list)
                         "AND position NOT IN (SELECT unnest($3::bigint[]))",
                     true},
      unclaimed_{"relay_unclaimed",
                 "SELECT position, " EVENT_COLUMNS " FROM " + s +
                     ".outbox WHERE position >= $1 AND position <= $2 "
                     "AND position NOT IN (SELECT unnest($3::bigint[])) "
                     "ORDER BY position LIMIT $4",
                 true},
      // What comes after the claims, and, in the same snapshot, how many events there are
      // between the watermark and the claims: more than we know of means one committed
      // behind them, which must go out first (a later event of its aggregate may be here).
      next_unclaimed_{"relay_next_unclaimed",
                      "SELECT b.n, o.* FROM (SELECT count(*) AS n FROM " + s +
                          ".outbox WHERE position >= $1 AND position <= $2) b LEFT JOIN LATERAL "
                          "(SELECT position, " EVENT_COLUMNS " FROM " +
                          s + ".outbox WHERE position > $2 ORDER BY position LIMIT $3) o ON true",
                      true},
      // Rows exist only after failures: most rounds need not look for them per event.
      any_rows_{"relay_any_rows",
                "SELECT EXISTS (SELECT 1 FROM " + s +
                    ".deliveries WHERE status IN ('pending', 'dead')) OR EXISTS (SELECT 1 FROM " +
                    s + ".deliveries WHERE event_position >= $1)"},
      existing_{"relay_existing",
                "SELECT EXISTS (SELECT 1 FROM " + s +
                    ".deliveries d WHERE d.event_position = p.position AND d.consumer = "
                    "p.consumer), EXISTS (SELECT 1 FROM " +
                    s +
                    ".deliveries e WHERE e.consumer = p.consumer AND e.aggregate_id = "
                    "p.aggregate_id AND e.sequence < p.sequence AND e.status IN ('pending', "
                    "'dead')) FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bigint[]) "
                    "WITH ORDINALITY AS p(position, consumer, aggregate_id, sequence, n) "
                    "ORDER BY p.n",
                true},
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
               "AND d.id NOT IN (SELECT unnest($1::uuid[])) AND NOT EXISTS (SELECT 1 FROM " +
               s +
               ".deliveries e WHERE e.consumer = d.consumer AND e.aggregate_id = d.aggregate_id "
               "AND e.sequence < d.sequence AND e.status IN ('pending', 'dead')) "
               "ORDER BY d.event_position LIMIT $2",
           true},
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
      pending_counts_{"relay_pending_counts", "SELECT " + pending_columns(s), true},
      counts_{"relay_counts",
              "SELECT " + pending_columns(s) + ", (SELECT count(*) FROM " + s +
                  ".outbox WHERE position < " + watermark_of(s) + ") + $2 + (SELECT pruned FROM " +
                  s + ".relay_lease), (SELECT count(*) FROM " + s +
                  ".deliveries WHERE status = 'dead')",
              true},
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
  leading_ = true;
  watermark_ = rows.integer(0, 1);
  scanned_ = watermark_ - 1;
  claimed_.clear();
  settled_.clear();
  late_.reset();
  candidate_.reset();
  return rows.integer(0, 0);
}

void relay_store::release_lease(pg_connection& db) {
  leading_ = false;
  db.exec(release_, {holder_});
}

void relay_store::settle(int64_t position) {
  if (claimed_.erase(position) > 0 && position >= watermark_)
    settled_.insert(position);
}

void relay_store::retry_claims() {
  claimed_.clear();
  late_.reset();
  scanned_ = watermark_ - 1; // what was settled above it goes out again too: harmless
}

std::vector<int64_t> relay_store::known_between(int64_t from, int64_t to) const {
  std::vector<int64_t> known;
  for (auto* set : {&claimed_, &settled_})
    for (auto i = set->lower_bound(from); i != set->end() && *i <= to; ++i)
      known.push_back(*i);
  return known;
}

// The watermark may pass a position only once no transaction can still commit it, which
// the relay proves with transaction ids over two rounds:
//   1. read the last position handed out (L), then take this round's transaction id (X,
//      assigned by the fencing check): every transaction holding a position up to L had
//      its id before taking it (the outbox_xid_first trigger), so before L was read, so
//      its id is below X;
//   2. in a later round, once no transaction below X runs (the snapshot's xmin has
//      reached X), every position up to L is committed or rolled back: the watermark
//      moves to the first one not settled (claimed and in flight, committed but not
//      claimed yet: one that committed behind the claims is claimed next), or past L.
// (A snapshot's xmax would not do for X: it is the last completed id plus one, and a
// transaction that is still running may have a higher id.)
void relay_store::advance_watermark(pg_connection& db, const pg_result& check) {
  auto last = candidate_->last_position;
  auto upper = std::min(scanned_, last);
  if (!check.boolean(0, 0)) {
    // Some transaction that may hold a position up to L is still running: a write that
    // stays open anywhere on the server (the snapshot's xmin is server-wide) stalls the
    // proof. Events that commit behind our claims meanwhile are looked for among the
    // recent positions, so that they are not held up with it.
    auto now = std::chrono::steady_clock::now();
    if (!late_ && now - late_checked_ >= late_check_period) {
      late_checked_ = now;
      find_late(db, std::max(watermark_, scanned_ - late_window + 1), scanned_, std::nullopt);
    }
    return;
  }
  candidate_.reset();
  auto next = last + 1;
  if (find_late(db, watermark_, upper, check.integer(0, 1)))
    next = std::min(next, *late_);
  if (!check.is_null(0, 2))
    next = std::min(next, check.integer(0, 2));
  if (!claimed_.empty())
    next = std::min(next, *claimed_.begin());
  if (next <= watermark_)
    return;
  watermark_ = next;
  settled_.erase(settled_.begin(), settled_.lower_bound(next));
  scanned_ = std::max(scanned_, watermark_ - 1);
}

bool relay_store::find_late(pg_connection& db, int64_t from, int64_t to,
                            std::optional<int64_t> events_between) {
  if (from > to)
    return false;
  auto known = known_between(from, to);
  if (!events_between)
    events_between = db.exec(count_between_, {from, to}).integer(0, 0);
  if (*events_between <= int64_t(known.size()))
    return false; // every event there is one we claimed
  auto late = db.exec(first_unknown_, {from, to, pg_array(known)});
  if (late.is_null(0, 0))
    return false;
  late_ = late.integer(0, 0);
  return true;
}

std::vector<claimed_event> relay_store::claim(pg_connection& db, int limit) {
  // Events that committed behind the claims first: an aggregate's events are written one
  // after the other (each waits for the one before to commit), so a late event always
  // precedes any later event of its aggregate that is not claimed yet.
  auto offset = 0;
  auto rows = late_ ? pg_result{nullptr} : db.exec(next_unclaimed_, {watermark_, scanned_, limit});
  if (!late_) {
    auto below = rows.integer(0, 0);
    if (below > int64_t(known_between(watermark_, scanned_).size()))
      find_late(db, watermark_, scanned_, below); // sets late_ (unless it vanished meanwhile)
    offset = 1;
  }
  if (late_) {
    auto known = known_between(*late_, scanned_);
    rows = db.exec(unclaimed_, {*late_, scanned_, pg_array(known), limit});
    late_.reset();
    offset = 0;
  }
  std::vector<claimed_event> result;
  for (int i = 0; i < rows.rows(); ++i) {
    if (rows.is_null(i, offset))
      continue; // nothing after the claims (the count's row)
    auto position = rows.integer(i, offset);
    claimed_.insert(position);
    scanned_ = std::max(scanned_, position);
    auto c = [&](int column) { return rows.string(i, offset + column); };
    result.push_back(
        {position, {c(1), c(2), c(3), rows.integer(i, offset + 4), c(5), c(6), c(7), c(8)}});
  }
  return result;
}

namespace {

// The columns of unnest() over delivery rows: position, consumer, aggregate, sequence.
struct row_arrays {
  std::vector<int64_t> positions, sequences;
  std::vector<std::string> consumers, aggregates;
  void add(int64_t position, const std::string& consumer, const stored_event& e) {
    positions.push_back(position);
    consumers.push_back(consumer);
    aggregates.push_back(e.aggregate_id);
    sequences.push_back(e.sequence);
  }
  std::vector<pg_param> params() const {
    return {pg_array(positions), pg_array(consumers), pg_array(aggregates), pg_array(sequences)};
  }
};

} // namespace

std::optional<publish_result> relay_store::publish(pg_connection& db, int64_t fencing, int limit,
                                                   const subscriptions* subs,
                                                   const delivery_outcomes& outcomes,
                                                   const retry_policy& policy) {
  pg_transaction tx{db};
  // The last position is read before the fencing check gives this transaction its id.
  int64_t last = 0;
  if (candidate_) { // of an earlier round: the watermark may move now
    auto upper = std::min(scanned_, candidate_->last_position);
    auto check = db.exec(watermark_check_,
                         {candidate_->xid, watermark_, upper, scanned_, candidate_->last_position});
    last = check.integer(0, 3);
    advance_watermark(db, check);
  } else {
    last = db.exec(last_position_).integer(0, 0);
  }
  // Stores the watermark: whatever it passed was settled, and the rows of settled
  // failures are written by this same transaction.
  auto fenced = db.exec(fence_, {holder_, fencing, int64_t(lease_ttl_.count()), watermark_});
  if (fenced.empty()) {
    leading_ = false; // another relay holds the lease now: stop before touching events
    return std::nullopt;
  }
  write_outcomes(db, outcomes, policy);
  if (!candidate_)
    candidate_ = watermark_candidate{last, fenced.string(0, 0)};
  publish_result result;
  // Claims live in memory: if this transaction does not commit (the database went away),
  // nothing claimed here was handed out, and the next round must claim it again.
  auto scanned_before = scanned_;
  try {
    if (limit > 0)
      result.events = claim(db, limit);
    publish_claimed(db, subs, result);
    tx.commit();
  } catch (...) {
    for (auto& c : result.events) {
      claimed_.erase(c.position);
      settled_.erase(c.position);
    }
    scanned_ = scanned_before;
    late_.reset(); // the next round's count finds an event behind the claims again
    throw;
  }
  return result;
}

void relay_store::publish_claimed(pg_connection& db, const subscriptions* subs,
                                  publish_result& result) {
  if (subs && !result.events.empty()) {
    std::vector<due_delivery> wanted; // one per (event, consumer)
    for (auto& c : result.events) {
      auto consumers = subs->find(c.event.event_name);
      if (consumers == subs->end() || consumers->second.empty()) {
        settle(c.position); // nobody consumes it
        continue;
      }
      for (auto& consumer : consumers->second)
        wanted.push_back({"", consumer, 0, c.position, c.event});
    }
    bool rows_possible =
        !wanted.empty() && db.exec(any_rows_, {result.events.front().position}).boolean(0, 0);
    if (!rows_possible) {
      result.deliveries = std::move(wanted);
    } else {
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
        db.defer(hold_, held.params());
      for (auto& [position, count] : to_send)
        if (count == 0)
          settle(position); // every consumer holds a row for it
    }
  }
}

std::vector<due_delivery> relay_store::due(pg_connection& db,
                                           const std::vector<std::string>& in_flight, int limit) {
  auto rows = db.exec(due_, {pg_array(in_flight), limit});
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

void relay_store::write_outcomes(pg_connection& db, const delivery_outcomes& outcomes,
                                 const retry_policy& policy) {
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
    params.insert(params.end(), {pg_array(errors), policy.max_attempts,
                                 std::to_string(policy.backoff_initial.count()),
                                 std::to_string(policy.backoff_max.count())});
    db.defer(failed_, params);
  }
  if (!outcomes.held.empty()) {
    row_arrays rows;
    for (auto& d : outcomes.held)
      rows.add(d.position, d.consumer, d.event);
    db.defer(hold_, rows.params());
  }
  if (!outcomes.delivered.empty())
    db.defer(delivered_, {pg_array(outcomes.delivered)});
}

std::vector<pg_param> relay_store::count_params() const {
  if (!leading_)
    return {int64_t(0), int64_t(0), int64_t(0)};
  auto first_pending = scanned_ + 1;
  if (!claimed_.empty())
    first_pending = std::min(first_pending, *claimed_.begin());
  if (late_)
    first_pending = std::min(first_pending, *late_);
  return {watermark_, int64_t(settled_.size()), first_pending};
}

outbox_counts relay_store::counts(pg_connection& db) {
  auto r = db.exec(counts_, count_params());
  return {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2), r.integer(0, 3)};
}

outbox_counts relay_store::pending_counts(pg_connection& db) {
  auto r = db.exec(pending_counts_, count_params());
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
