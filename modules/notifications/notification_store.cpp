// See notification_store.hpp.
#include "notification_store.hpp"

#include "actors/lookup_batch.hpp"

#include <nlohmann/json.hpp>

namespace notifications {

namespace {

using persistence::pg_statement;

#define NOTIFICATION_COLUMNS                                                                       \
  "id, event_id, event_name, order_id, customer_id, channel, template, "                           \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// One statement for a whole batch of events; a repeat (same event and template) adds
// nothing.
const pg_statement insert_notifications{
    "notifications_insert",
    "WITH n AS (INSERT INTO notifications.notifications "
    "(event_id, event_name, order_id, customer_id, template) "
    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[]) "
    "ON CONFLICT (event_id, template) DO NOTHING RETURNING position) "
    "INSERT INTO notifications.unsent SELECT position FROM n"};

const pg_statement by_order{"notifications_by_order",
                            "SELECT " NOTIFICATION_COLUMNS " FROM notifications.notifications "
                            "WHERE order_id = $1::uuid ORDER BY position LIMIT 500",
                            true};

const pg_statement by_customer{"notifications_by_customer",
                               "SELECT " NOTIFICATION_COLUMNS " FROM notifications.notifications "
                               "WHERE customer_id = $1::uuid ORDER BY position LIMIT 500",
                               true};

// The queue is read first, and each notification looked up by key: a plain join lets
// the planner hash the whole notifications table for every batch (seen at 5-13 ms).
// The LIMIT 1 keeps the lookup a separate step that the planner cannot flatten.
const pg_statement unsent_rows{"notifications_unsent",
                               "SELECT n.* FROM (SELECT position FROM notifications.unsent "
                               "WHERE position > $2 ORDER BY position LIMIT $1) u "
                               "CROSS JOIN LATERAL (SELECT " NOTIFICATION_COLUMNS ", position "
                               "FROM notifications.notifications "
                               "WHERE position = u.position LIMIT 1) n ORDER BY u.position",
                               true};

const pg_statement set_sent{"notifications_sent",
                            "DELETE FROM notifications.unsent WHERE position = ANY($1::bigint[])"};

std::vector<notification> read(const persistence::pg_result& r) {
  std::vector<notification> result;
  for (int i = 0; i < r.rows(); ++i)
    result.push_back({r.string(i, 0), r.string(i, 1), r.string(i, 2), r.string(i, 3),
                      r.string(i, 4), r.string(i, 5), r.string(i, 6), r.string(i, 7)});
  return result;
}

} // namespace

caf::error notification_store::record(persistence::pg_connection& db,
                                      const std::vector<const event_envelope*>& events) {
  std::vector<std::string> ids, names, order_ids, customer_ids, templates;
  for (auto* e : events) {
    auto payload = nlohmann::json::parse(e->payload);
    ids.push_back(e->id);
    names.push_back(e->event_name);
    order_ids.push_back(payload.at("orderId").get<std::string>());
    customer_ids.push_back(payload.at("customerId").get<std::string>());
    auto template_name = e->event_name; // "order.created" -> template "order-created"
    for (auto& c : template_name)
      if (c == '.')
        c = '-';
    templates.push_back(template_name);
  }
  using persistence::pg_array;
  db.defer(insert_notifications, {pg_array(ids), pg_array(names), pg_array(order_ids),
                                  pg_array(customer_ids), pg_array(templates)});
  return {};
}

std::vector<notification> notification_store::list(persistence::pg_connection& db,
                                                   const list_notifications& request) {
  if (!request.order_id.empty())
    return read(db.exec(by_order, {request.order_id}));
  return read(db.exec(by_customer, {request.customer_id}));
}

unsent_batch notification_store::unsent(persistence::pg_connection& db, int64_t after, int limit) {
  auto rows = db.exec(unsent_rows, {limit, after});
  unsent_batch batch{read(rows), {}, after};
  for (int i = 0; i < rows.rows(); ++i) {
    batch.positions.push_back(rows.string(i, 8));
    batch.last_position = rows.integer(i, 8);
  }
  return batch;
}

void notification_store::mark_sent(persistence::pg_connection& db, const unsent_batch& sent) {
  // The same array text form serves bigint[] as uuid[].
  db.exec(set_sent, {uuid_array(sent.positions)});
}

} // namespace notifications
