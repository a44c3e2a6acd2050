// See order_store.hpp.
#include "order_store.hpp"

#include "modules/orders/events.hpp"

#include "actors/app_error.hpp"
#include "actors/lookup_batch.hpp"
#include "actors/validation.hpp"

namespace orders {

namespace {

using persistence::pg_statement;

#define ORDER_COLUMNS                                                                              \
  "id, customer_id, items::text, total_cents, status, coalesce(rejection_reason, ''), "           \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                  \
  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const pg_statement take_key{
  "orders_take_key", "INSERT INTO orders.idempotency_keys (key, request_hash, order_id) "
                     "VALUES ($1, md5($2), gen_random_uuid()) ON CONFLICT (key) DO NOTHING "
                     "RETURNING order_id"};

const pg_statement find_key{
  "orders_find_key", "SELECT request_hash = md5($2), order_id FROM orders.idempotency_keys "
                     "WHERE key = $1"};

const pg_statement insert_order{
  "orders_insert", "INSERT INTO orders.orders (id, customer_id, items, total_cents, status) "
                   "VALUES (coalesce($1::uuid, gen_random_uuid()), $2::uuid, $3::jsonb, $4, "
                   "'PENDING') RETURNING " ORDER_COLUMNS};

const pg_statement select_orders{
  "orders_select_many", "SELECT " ORDER_COLUMNS " FROM orders.orders WHERE id = ANY($1::uuid[])"};

const pg_statement list_by_customer{
  "orders_list", "SELECT " ORDER_COLUMNS " FROM orders.orders WHERE customer_id = $1::uuid "
                 "ORDER BY position DESC LIMIT $2"};

const pg_statement cancel_row{
  "orders_cancel", "UPDATE orders.orders SET status = 'CANCELLED', updated_at = clock_timestamp() "
                   "WHERE id = $1::uuid AND status IN ('PENDING', 'CONFIRMED') "
                   "RETURNING " ORDER_COLUMNS};

const pg_statement settle{
  "orders_settle", "UPDATE orders.orders SET status = $2, rejection_reason = $3, "
                   "updated_at = clock_timestamp() WHERE id = $1::uuid AND status = 'PENDING' "
                   "RETURNING customer_id"};

nlohmann::json items_json(const std::vector<order_line>& items) {
  auto list = nlohmann::json::array();
  for (auto& l : items)
    list.push_back({{"productId", lower_case(l.product_id)},
                    {"quantity", l.quantity},
                    {"priceCents", l.price_cents}});
  return list;
}

order read_order(const persistence::pg_result& r, int row) {
  order o{r.string(row, 0), r.string(row, 1), {}, r.integer(row, 3), r.string(row, 4),
          r.string(row, 5), r.string(row, 6), r.string(row, 7)};
  for (auto& item : nlohmann::json::parse(r.text(row, 2)))
    o.items.push_back({item.at("productId").get<std::string>(), item.at("quantity").get<int64_t>(),
                       item.at("priceCents").get<int64_t>()});
  return o;
}

caf::error key_reused() {
  return make_app_error(app_error::unprocessable, "IDEMPOTENCY_KEY_REUSED",
                        "this Idempotency-Key was used with a different request");
}

} // namespace

order_store::order_store(std::function<void()> on_event_appended)
    : outbox_("orders", std::move(on_event_appended)) {}

caf::expected<order> order_store::find(persistence::pg_connection& db, const std::string& id) {
  auto found = find_many(db, {id});
  if (found.empty())
    return not_found_error("order");
  return found.begin()->second;
}

caf::expected<std::optional<placed_order>>
order_store::find_replay(persistence::pg_connection& db, const place_order& request) {
  if (request.idempotency_key.empty())
    return std::optional<placed_order>{};
  auto key = db.exec(find_key, {request.idempotency_key, request.request_body});
  if (key.empty())
    return std::optional<placed_order>{};
  if (!key.boolean(0, 0))
    return key_reused();
  auto existing = find(db, key.string(0, 1));
  if (!existing)
    return existing.error();
  return std::optional<placed_order>{placed_order{std::move(*existing), true}};
}

caf::expected<placed_order> order_store::place(persistence::pg_connection& db,
                                               const place_order& request) {
  std::optional<std::string> id;
  if (!request.idempotency_key.empty()) {
    auto taken = db.exec(take_key, {request.idempotency_key, request.request_body});
    if (taken.empty()) { // an earlier request holds the key (we waited for it to commit)
      auto replay = find_replay(db, request);
      if (!replay)
        return replay.error();
      if (*replay)
        return std::move(**replay);
      return unavailable_error(); // the key vanished under us; the client may retry
    }
    id = taken.string(0, 0);
  }
  int64_t total = 0;
  for (auto& l : request.items)
    total += l.quantity * l.price_cents;
  auto rows = db.exec(insert_order,
                      {id, request.customer_id, items_json(request.items).dump(), total});
  auto created = read_order(rows, 0);
  events::order_created_payload payload{created.id, created.customer_id, created.total_cents, {}};
  for (auto& l : created.items)
    payload.items.push_back({l.product_id, l.quantity, l.price_cents});
  outbox_.append(db, {events::order_created, created.id, request.correlation_id, std::nullopt,
                      nlohmann::json(payload).dump()});
  return placed_order{std::move(created), false};
}

std::map<std::string, order> order_store::find_many(persistence::pg_connection& db,
                                                    const std::vector<std::string>& ids) {
  auto rows = db.exec(select_orders, {uuid_array(ids)});
  std::map<std::string, order> found;
  for (int i = 0; i < rows.rows(); ++i)
    found.emplace(rows.string(i, 0), read_order(rows, i));
  return found;
}

std::vector<order> order_store::list(persistence::pg_connection& db, const list_orders& request) {
  auto rows = db.exec(list_by_customer, {request.customer_id, request.limit});
  std::vector<order> result;
  for (int i = 0; i < rows.rows(); ++i)
    result.push_back(read_order(rows, i));
  return result;
}

caf::expected<order> order_store::cancel(persistence::pg_connection& db,
                                         const cancel_order& request) {
  auto rows = db.exec(cancel_row, {request.id});
  if (rows.empty()) {
    auto existing = find(db, request.id);
    if (!existing)
      return existing.error();
    return make_app_error(app_error::conflict, "INVALID_STATE",
                          "the order is " + existing->status + " and cannot be cancelled");
  }
  auto cancelled = read_order(rows, 0);
  events::order_status_payload payload{cancelled.id, cancelled.customer_id, ""};
  outbox_.append(db, {events::order_cancelled, cancelled.id, request.correlation_id, std::nullopt,
                      nlohmann::json(payload).dump()});
  return cancelled;
}

caf::error order_store::apply_reservation_outcome(persistence::pg_connection& db,
                                                  const event_envelope& e) {
  auto payload = nlohmann::json::parse(e.payload);
  auto order_id = payload.at("orderId").get<std::string>();
  bool reserved = e.event_name == "inventory.reserved";
  std::optional<std::string> reason;
  if (!reserved)
    reason = payload.at("reason").get<std::string>();
  auto rows = db.exec(settle, {order_id, reserved ? "CONFIRMED" : "REJECTED", reason});
  if (rows.empty())
    return {}; // not PENDING any more: a late or duplicate event
  events::order_status_payload next{order_id, rows.string(0, 0), reason.value_or("")};
  outbox_.append(db, {reserved ? events::order_confirmed : events::order_rejected, order_id,
                      e.correlation_id, e.id, nlohmann::json(next).dump()});
  return {};
}

} // namespace orders
