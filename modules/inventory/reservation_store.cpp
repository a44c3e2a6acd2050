// See reservation_store.hpp.
#include "reservation_store.hpp"

#include "modules/inventory/events.hpp"
#include "modules/orders/events.hpp"

#include "actors/validation.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

namespace inventory {

namespace {

using persistence::pg_array;
using persistence::pg_statement;

const pg_statement lock_reservations{
    "reservation_lock",
    "SELECT order_id, status, lines::text FROM inventory.reservations "
    "WHERE order_id = ANY($1::uuid[]) FOR UPDATE",
    true};

const pg_statement lock_products{"reservation_lock_products",
                                 "SELECT id, stock - reserved FROM inventory.products "
                                 "WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
                                 true};

const pg_statement insert_reservations{
    "reservation_insert", "INSERT INTO inventory.reservations (order_id, status, lines) "
                          "SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])"};

const pg_statement release_reservations{"reservation_release",
                                        "UPDATE inventory.reservations SET status = 'RELEASED', "
                                        "updated_at = now() WHERE order_id = ANY($1::uuid[])",
                                        true};

const pg_statement change_reserved{
    "reservation_change_reserved",
    "UPDATE inventory.products p SET reserved = p.reserved + d.delta, updated_at = now() "
    "FROM unnest($1::uuid[], $2::bigint[]) AS d(id, delta) WHERE p.id = d.id",
    true};

using lines_t = std::vector<events::reservation_line>;

// An order's reservation as the batch leaves it.
struct reservation {
  std::string status; // RESERVED, REJECTED or RELEASED
  lines_t lines;
  bool is_new = false;   // decided in this batch: inserted
  bool released = false; // existing and released in this batch: updated
};

lines_t parse_lines(std::string_view text) {
  lines_t lines;
  for (auto& l : nlohmann::json::parse(text))
    lines.push_back({l.at("productId").get<std::string>(), l.at("quantity").get<int64_t>()});
  return lines;
}

std::string dump(const nlohmann::json& j) {
  return j.dump();
}

} // namespace

reservation_store::reservation_store(persistence::outbox_hooks outbox_hooks)
    : outbox_("inventory", std::move(outbox_hooks)) {}

caf::error reservation_store::apply(persistence::pg_connection& db,
                                    const std::vector<const event_envelope*>& batch) {
  // What each event asks, read first so that every lock is taken up front.
  struct ask {
    const event_envelope* cause;
    std::string order_id;
    std::optional<lines_t> created; // order.created: the lines; order.cancelled: none
  };
  std::vector<ask> asks;
  std::vector<std::string> order_ids;
  for (auto* e : batch) {
    if (e->event_name == orders::events::order_created) {
      auto order = orders::events::parse_order_created(nlohmann::json::parse(e->payload));
      lines_t lines;
      for (auto& item : order.items)
        lines.push_back({lower_case(item.product_id), item.quantity});
      asks.push_back({e, lower_case(order.order_id), std::move(lines)});
    } else if (e->event_name == orders::events::order_cancelled) {
      auto id = nlohmann::json::parse(e->payload).at("orderId").get<std::string>();
      asks.push_back({e, lower_case(id), std::nullopt});
    } else { // the inbox lets through only what consumers::order_events() declares
      throw std::invalid_argument("inventory.order-events: unexpected " + e->event_name);
    }
    order_ids.push_back(asks.back().order_id);
  }
  if (asks.empty())
    return {};

  std::map<std::string, reservation> reservations;
  auto held = db.exec(lock_reservations, {pg_array(order_ids)});
  for (int i = 0; i < held.rows(); ++i)
    reservations[held.string(i, 0)] = {held.string(i, 1), parse_lines(held.text(i, 2))};
  std::vector<std::string> product_ids;
  for (auto& a : asks)
    for (auto& l : a.created ? *a.created : lines_t{})
      product_ids.push_back(l.product_id);
  for (auto& [id, r] : reservations)
    if (r.status == "RESERVED")
      for (auto& l : r.lines)
        product_ids.push_back(l.product_id);
  std::map<std::string, int64_t> available;
  auto products = db.exec(lock_products, {pg_array(product_ids)});
  for (int i = 0; i < products.rows(); ++i)
    available[products.string(i, 0)] = products.integer(i, 1);

  // Decide in event order against what is available now.
  std::map<std::string, int64_t> delta; // reserved change per product
  std::vector<persistence::new_event> emitted;
  for (auto& a : asks) {
    auto& e = *a.cause;
    auto known = reservations.find(a.order_id);
    if (a.created) {
      if (known != reservations.end())
        continue; // this order was already decided
      std::string reason, at_fault;
      for (auto& line : *a.created) {
        auto found = available.find(line.product_id);
        reason = found == available.end()        ? "UNKNOWN_PRODUCT"
                 : found->second < line.quantity ? "INSUFFICIENT_STOCK"
                                                 : "";
        if (!reason.empty()) {
          at_fault = line.product_id;
          break;
        }
      }
      reservations[a.order_id] = {reason.empty() ? "RESERVED" : "REJECTED", *a.created, true};
      if (reason.empty()) {
        for (auto& line : *a.created) {
          available[line.product_id] -= line.quantity;
          delta[line.product_id] += line.quantity;
        }
        emitted.push_back({events::inventory_reserved, a.order_id, e.correlation_id, e.id,
                           dump(events::reservation_payload{a.order_id, *a.created})});
      } else {
        emitted.push_back({events::inventory_rejected, a.order_id, e.correlation_id, e.id,
                           dump(events::inventory_rejected_payload{a.order_id, reason, at_fault})});
      }
      continue;
    }
    if (known == reservations.end() || known->second.status != "RESERVED")
      continue; // rejected, already released, or never reserved: nothing is held
    auto& r = known->second;
    r.status = "RELEASED";
    r.released = !r.is_new;
    auto lines = r.lines;
    std::sort(lines.begin(), lines.end(),
              [](auto& x, auto& y) { return x.product_id < y.product_id; });
    for (auto& line : lines) {
      available[line.product_id] += line.quantity;
      delta[line.product_id] -= line.quantity;
    }
    emitted.push_back({events::inventory_released, a.order_id, e.correlation_id, e.id,
                       dump(events::reservation_payload{a.order_id, lines})});
  }

  // Write the outcome: one statement per table.
  std::vector<std::string> new_ids, new_statuses, new_lines, released_ids;
  for (auto& [id, r] : reservations) {
    if (r.is_new) {
      new_ids.push_back(id);
      new_statuses.push_back(r.status);
      new_lines.push_back(dump(r.lines));
    } else if (r.released) {
      released_ids.push_back(id);
    }
  }
  if (!new_ids.empty())
    db.defer(insert_reservations, {pg_array(new_ids), pg_array(new_statuses), pg_array(new_lines)});
  if (!released_ids.empty())
    db.defer(release_reservations, {pg_array(released_ids)});
  std::vector<std::string> changed_ids;
  std::vector<int64_t> changes;
  for (auto& [id, change] : delta)
    if (change != 0) {
      changed_ids.push_back(id);
      changes.push_back(change);
    }
  if (!changed_ids.empty())
    db.defer(change_reserved, {pg_array(changed_ids), pg_array(changes)});
  outbox_.append(db, emitted);
  return {};
}

} // namespace inventory
