// See retention_store.hpp.
#include "persistence/retention_store.hpp"

namespace persistence {

namespace {

#define OLDER_THAN(column) column " < now() - $1::bigint * interval '1 millisecond'"

// Ages count from now(), not clock_timestamp(): a stable value can be an index condition
// (the statements are short, so the two differ by milliseconds).
// Rows found by their time column (a BRIN index keeps that cheap), deleted by ctid.
std::string delete_aged(const std::string& table, const std::string& column) {
  return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " +
         column + " < now() - $1::bigint * interval '1 millisecond' LIMIT $2))";
}

} // namespace

retention_store::retention_store(const std::string& s, retention_ages ages,
                                 std::vector<aged_table> own, int batch_size)
    : outbox_{// A window of the next $2 events below the watermark, after the cursor: the
              // old ones without a delivery row go (a dead letter keeps its event), and the
              // lease row counts them. The window moves on past events kept for a delivery
              // row, so a few dead letters never stop the pruning behind them.
              "WITH win AS (SELECT position, created_at FROM " + s +
                  ".outbox WHERE position > $3 AND position < (SELECT published_through FROM " +
                  s +
                  ".relay_lease) ORDER BY position LIMIT $2), "
                  "old AS (SELECT position FROM win WHERE " OLDER_THAN("created_at") "), "
                  "gone AS (DELETE FROM " +
                  s + ".outbox o USING old WHERE o.position = old.position AND NOT EXISTS (SELECT 1 FROM " +
                  s +
                  ".deliveries d WHERE d.event_position = old.position) RETURNING 1), "
                  "counted AS (UPDATE " +
                  s +
                  ".relay_lease SET pruned = pruned + (SELECT count(*) FROM gone) "
                  "WHERE EXISTS (SELECT 1 FROM gone) RETURNING 1) "
                  "SELECT (SELECT count(*) FROM gone), coalesce((SELECT max(position) FROM old), "
                  "$3), (SELECT count(*) FROM old) = $2, (SELECT count(*) FROM counted)"},
      outbox_age_ms_(ages.outbox.count()),
      sizes_{"SELECT t, pg_total_relation_size(format('%I.%I', $1::text, t)::regclass) "
             "FROM unnest($2::text[]) AS t"},
      schema_(s), batch_size_(batch_size) {
  steps_.push_back({"deliveries",
                    "DELETE FROM " + s + ".deliveries WHERE id = ANY(ARRAY(SELECT id FROM " + s +
                        ".deliveries WHERE status IN ('delivered', 'discarded') AND " OLDER_THAN(
                            "updated_at") " LIMIT $2))",
                    ages.deliveries.count()});
  steps_.push_back({"inbox", delete_aged(s + ".inbox", "processed_at"), ages.inbox.count()});
  for (auto& t : own)
    steps_.push_back({t.table, delete_aged(s + "." + t.table, t.column), t.age.count()});
  tables_ = {"outbox", "inbox", "deliveries"};
  for (auto& t : own)
    tables_.push_back(t.table);
}

std::vector<retention_store::table_batch> retention_store::prune_batch(pg_connection& db,
                                                                       bool& more) {
  std::vector<table_batch> result;
  more = false;
  auto run = [&](const step& st) {
    auto deleted = db.exec(st.sql, {st.age_ms, batch_size_}).affected();
    more |= deleted == batch_size_;
    result.push_back({st.table, deleted});
  };
  run(steps_.front()); // deliveries first: their rows hold outbox events
  auto outbox = db.exec(outbox_, {outbox_age_ms_, batch_size_, outbox_cursor_});
  outbox_cursor_ = outbox.integer(0, 1);
  more |= outbox.boolean(0, 2);
  result.push_back({"outbox", outbox.integer(0, 0)});
  for (std::size_t i = 1; i < steps_.size(); ++i)
    run(steps_[i]);
  return result;
}

std::vector<std::pair<std::string, int64_t>> retention_store::table_sizes(pg_connection& db) {
  auto rows = db.exec(sizes_, {schema_, pg_array(tables_)});
  std::vector<std::pair<std::string, int64_t>> result;
  for (int i = 0; i < rows.rows(); ++i)
    result.emplace_back(rows.string(i, 0), rows.integer(i, 1));
  return result;
}

} // namespace persistence
