// See reservation_store.hpp.
#include "reservation_store.hpp"

#include "modules/inventory/events.hpp"
#include "modules/orders/events.hpp"

#include "actors/lookup_batch.hpp"
#include "actors/validation.hpp"

#include <algorithm>
#include <map>

namespace inventory {

namespace {

using persistence::pg_statement;

const pg_statement lock_products{
  "reservation_lock_products", "SELECT id, stock - reserved FROM inventory.products "
                               "WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"};

const pg_statement add_reserved{
  "reservation_add", "UPDATE inventory.products SET reserved = reserved + $2, updated_at = now() "
                     "WHERE id = $1::uuid"};

const pg_statement insert_reservation{
  "reservation_insert", "INSERT INTO inventory.reservations (order_id, status, lines) "
                        "VALUES ($1::uuid, $2, $3::jsonb) ON CONFLICT (order_id) DO NOTHING "
                        "RETURNING 1"};

const pg_statement take_reservation{
  "reservation_take", "UPDATE inventory.reservations SET status = 'RELEASED', updated_at = now() "
                      "WHERE order_id = $1::uuid AND status = 'RESERVED' RETURNING lines::text"};

const pg_statement remove_reserved{
  "reservation_remove", "UPDATE inventory.products SET reserved = reserved - $2, updated_at = now() "
                        "WHERE id = $1::uuid"};

nlohmann::json lines_json(const std::vector<events::reservation_line>& lines) {
  return lines;
}

} // namespace

reservation_store::reservation_store(std::function<void()> on_event_appended)
    : outbox_("inventory", std::move(on_event_appended)) {}

caf::error reservation_store::reserve(persistence::pg_connection& db, const event_envelope& e) {
  auto order = orders::events::parse_order_created(nlohmann::json::parse(e.payload));
  std::vector<events::reservation_line> lines;
  std::vector<std::string> ids;
  for (auto& item : order.items) {
    lines.push_back({lower_case(item.product_id), item.quantity});
    ids.push_back(lower_case(item.product_id));
  }
  std::map<std::string, int64_t> available;
  auto rows = db.exec(lock_products, {uuid_array(ids)});
  for (int i = 0; i < rows.rows(); ++i)
    available[rows.string(i, 0)] = rows.integer(i, 1);

  std::string reason, at_fault;
  for (auto& line : lines) {
    auto found = available.find(line.product_id);
    if (found == available.end()) {
      reason = "UNKNOWN_PRODUCT";
    } else if (found->second < line.quantity) {
      reason = "INSUFFICIENT_STOCK";
    }
    if (!reason.empty()) {
      at_fault = line.product_id;
      break;
    }
  }
  auto status = reason.empty() ? "RESERVED" : "REJECTED";
  if (db.exec(insert_reservation, {order.order_id, status, lines_json(lines).dump()}).empty())
    return {}; // this order was already decided
  if (reason.empty()) {
    for (auto& line : lines)
      db.exec(add_reserved, {line.product_id, line.quantity});
    nlohmann::json payload = events::reservation_payload{order.order_id, lines};
    outbox_.append(db, {events::inventory_reserved, order.order_id, e.correlation_id, e.id, payload.dump()});
  } else {
    nlohmann::json payload = events::inventory_rejected_payload{order.order_id, reason, at_fault};
    outbox_.append(db, {events::inventory_rejected, order.order_id, e.correlation_id, e.id, payload.dump()});
  }
  return {};
}

caf::error reservation_store::release(persistence::pg_connection& db, const event_envelope& e) {
  auto order_id = nlohmann::json::parse(e.payload).at("orderId").get<std::string>();
  auto taken = db.exec(take_reservation, {order_id});
  if (taken.empty())
    return {}; // rejected, already released, or never reserved: nothing is held
  std::vector<events::reservation_line> lines;
  for (auto& l : nlohmann::json::parse(taken.text(0, 0)))
    lines.push_back({l.at("productId").get<std::string>(), l.at("quantity").get<int64_t>()});
  std::sort(lines.begin(), lines.end(),
            [](auto& a, auto& b) { return a.product_id < b.product_id; }); // lock order
  for (auto& line : lines)
    db.exec(remove_reserved, {line.product_id, line.quantity});
  nlohmann::json payload = events::reservation_payload{order_id, lines};
  outbox_.append(db, {events::inventory_released, order_id, e.correlation_id, e.id, payload.dump()});
  return {};
}

} // namespace inventory
