// See order_store.hpp.
#include "order_store.hpp"

#include "modules/inventory/events.hpp"
#include "modules/orders/events.hpp"

#include "actors/app_error.hpp"
#include "actors/lookup_batch.hpp"
#include "actors/validation.hpp"

#include <cstdio>
#include <set>

namespace orders {

namespace {

using persistence::pg_statement;

#define ORDER_COLUMNS                                                                              \
  "id, customer_id, items::text, total_cents, status, coalesce(rejection_reason, ''), "            \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                  \
  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// Keys are taken for a whole group at once; a key taken by an earlier (or concurrent,
// now committed) request is not returned, and its request replays that one.
const pg_statement take_keys{
    "orders_take_keys", "INSERT INTO orders.idempotency_keys (key, request_hash, order_id) "
                        "SELECT k.key, md5(k.body), k.order_id FROM unnest($1::text[], $2::text[], "
                        "$3::uuid[]) AS k(key, body, order_id) ON CONFLICT (key) DO NOTHING "
                        "RETURNING order_id"};

const pg_statement find_key{"orders_find_key",
                            "SELECT request_hash = md5($2), order_id FROM orders.idempotency_keys "
                            "WHERE key = $1",
                            true};

// A group of orders in request order, so that `position` orders a customer's orders.
const pg_statement insert_orders{
    "orders_insert", "INSERT INTO orders.orders (id, customer_id, items, total_cents, status) "
                     "SELECT o.id, o.customer_id, o.items, o.total_cents, 'PENDING' FROM "
                     "unnest($1::uuid[], $2::uuid[], $3::jsonb[], $4::bigint[]) WITH ORDINALITY "
                     "AS o(id, customer_id, items, total_cents, n) ORDER BY o.n "
                     "RETURNING " ORDER_COLUMNS};

const pg_statement select_orders{
    "orders_select_many", "SELECT " ORDER_COLUMNS " FROM orders.orders WHERE id = ANY($1::uuid[])",
    true};

const pg_statement list_by_customer{"orders_list",
                                    "SELECT " ORDER_COLUMNS
                                    " FROM orders.orders WHERE customer_id = $1::uuid "
                                    "ORDER BY position DESC LIMIT $2",
                                    true};

const pg_statement cancel_row{
    "orders_cancel",
    "UPDATE orders.orders SET status = 'CANCELLED', updated_at = clock_timestamp() "
    "WHERE id = $1::uuid AND status IN ('PENDING', 'CONFIRMED') "
    "RETURNING " ORDER_COLUMNS};

// A batch of reservation outcomes, at most one per order: only PENDING orders move.
const pg_statement settle{
    "orders_settle",
    "UPDATE orders.orders o SET status = v.status, rejection_reason = v.reason, "
    "updated_at = clock_timestamp() FROM unnest($1::uuid[], $2::text[], $3::text[]) "
    "AS v(id, status, reason) WHERE o.id = v.id AND o.status = 'PENDING' "
    "RETURNING o.id, o.customer_id",
    true};

nlohmann::json items_json(const std::vector<order_line>& items) {
  auto list = nlohmann::json::array();
  for (auto& l : items)
    list.push_back({{"productId", lower_case(l.product_id)},
                    {"quantity", l.quantity},
                    {"priceCents", l.price_cents}});
  return list;
}

order read_order(const persistence::pg_result& r, int row) {
  order o{r.string(row, 0),  r.string(row, 1), {},
          r.integer(row, 3), r.string(row, 4), r.string(row, 5),
          r.string(row, 6),  r.string(row, 7)};
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

order_store::order_store(persistence::outbox_hooks outbox_hooks)
    : outbox_("orders", std::move(outbox_hooks)), random_(std::random_device{}()) {}

caf::expected<order> order_store::find(persistence::pg_connection& db, const std::string& id) {
  auto found = find_many(db, {id});
  if (found.empty())
    return not_found_error("order");
  return found.begin()->second;
}

caf::expected<std::optional<placed_order>> order_store::find_replay(persistence::pg_connection& db,
                                                                    const place_order& request) {
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

std::string order_store::new_order_id() {
  // A version 4 UUID: 122 random bits.
  std::uniform_int_distribution<uint64_t> bits;
  auto high = (bits(random_) & ~uint64_t(0xF000)) | uint64_t(0x4000);
  auto low = (bits(random_) & ~(uint64_t(0x3) << 62)) | (uint64_t(0x2) << 62);
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", unsigned(high >> 32),
                unsigned((high >> 16) & 0xFFFF), unsigned(high & 0xFFFF), unsigned(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return text;
}

std::vector<caf::expected<placed_order>>
order_store::place_all(persistence::pg_connection& db, const std::vector<place_order>& requests) {
  using persistence::pg_array;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < requests.size(); ++i)
    ids.push_back(new_order_id());
  // Idempotency keys first: a request whose key is taken already replays its order.
  std::vector<bool> replays(requests.size(), false);
  std::vector<std::string> keys, bodies, key_ids;
  for (std::size_t i = 0; i < requests.size(); ++i)
    if (!requests[i].idempotency_key.empty()) {
      keys.push_back(requests[i].idempotency_key);
      bodies.push_back(requests[i].request_body);
      key_ids.push_back(ids[i]);
    }
  if (!keys.empty()) {
    std::set<std::string> taken;
    auto rows = db.exec(take_keys, {pg_array(keys), pg_array(bodies), pg_array(key_ids)});
    for (int r = 0; r < rows.rows(); ++r)
      taken.insert(rows.string(r, 0));
    for (std::size_t i = 0; i < requests.size(); ++i)
      replays[i] = !requests[i].idempotency_key.empty() && !taken.count(ids[i]);
  }
  // The new orders, with one statement, and their order.created events, with another.
  std::vector<std::string> new_ids, customers, items;
  std::vector<int64_t> totals;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (replays[i])
      continue;
    int64_t total = 0;
    for (auto& l : requests[i].items)
      total += l.quantity * l.price_cents;
    new_ids.push_back(ids[i]);
    customers.push_back(requests[i].customer_id);
    items.push_back(items_json(requests[i].items).dump());
    totals.push_back(total);
  }
  std::map<std::string, order> created;
  if (!new_ids.empty()) {
    auto rows = db.exec(
        insert_orders, {pg_array(new_ids), pg_array(customers), pg_array(items), pg_array(totals)});
    for (int r = 0; r < rows.rows(); ++r) {
      auto o = read_order(rows, r);
      created.emplace(o.id, std::move(o));
    }
  }
  std::vector<persistence::new_event> events;
  std::vector<caf::expected<placed_order>> answers;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (replays[i]) { // after the inserts: a repeat within this group finds its order
      auto replay = find_replay(db, requests[i]);
      if (!replay)
        answers.emplace_back(replay.error());
      else if (*replay)
        answers.emplace_back(std::move(**replay));
      else
        answers.emplace_back(unavailable_error()); // the key vanished under us: retry
      continue;
    }
    auto& o = created.at(ids[i]);
    events::order_created_payload payload{o.id, o.customer_id, o.total_cents, {}};
    for (auto& l : o.items)
      payload.items.push_back({l.product_id, l.quantity, l.price_cents});
    events.push_back({events::order_created, o.id, requests[i].correlation_id, std::nullopt,
                      nlohmann::json(payload).dump()});
    answers.emplace_back(placed_order{o, false});
  }
  outbox_.append(db, events);
  return answers;
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
  outbox_.append(db, {{events::order_cancelled, cancelled.id, request.correlation_id, std::nullopt,
                       nlohmann::json(payload).dump()}});
  return cancelled;
}

caf::error
order_store::apply_reservation_outcomes(persistence::pg_connection& db,
                                        const std::vector<const event_envelope*>& events) {
  struct outcome {
    const event_envelope* cause;
    bool reserved;
    std::optional<std::string> reason;
  };
  std::map<std::string, outcome> by_order; // the first outcome of an order decides it
  std::vector<std::string> ids, statuses;
  std::vector<std::optional<std::string>> reasons;
  for (auto* e : events) {
    auto payload = nlohmann::json::parse(e->payload);
    auto order_id = lower_case(payload.at("orderId").get<std::string>());
    outcome o{e, e->event_name == inventory::events::inventory_reserved, std::nullopt};
    if (!o.reserved)
      o.reason = payload.at("reason").get<std::string>();
    if (!by_order.emplace(order_id, o).second)
      continue; // a later one finds the order decided: late or a duplicate
    ids.push_back(order_id);
    statuses.push_back(o.reserved ? "CONFIRMED" : "REJECTED");
    reasons.push_back(o.reason);
  }
  using persistence::pg_array;
  auto rows = db.exec(settle, {pg_array(ids), pg_array(statuses), pg_array(reasons)});
  std::map<std::string, std::string> customer_of; // orders that moved
  for (int i = 0; i < rows.rows(); ++i)
    customer_of.emplace(rows.string(i, 0), rows.string(i, 1));
  std::vector<persistence::new_event> next;
  for (auto& id : ids) { // in event order
    auto moved = customer_of.find(id);
    if (moved == customer_of.end())
      continue; // not PENDING any more: a late or duplicate event
    auto& o = by_order.at(id);
    events::order_status_payload payload{id, moved->second, o.reason.value_or("")};
    next.push_back({o.reserved ? events::order_confirmed : events::order_rejected, id,
                    o.cause->correlation_id, o.cause->id, nlohmann::json(payload).dump()});
  }
  outbox_.append(db, next);
  return {};
}

} // namespace orders
