// Events the orders module publishes (docs/openapi.yaml, EventEnvelope); the aggregate is the
// order.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace orders::events {

inline constexpr const char* order_created = "order.created";
inline constexpr const char* order_confirmed = "order.confirmed";
inline constexpr const char* order_rejected = "order.rejected";
inline constexpr const char* order_cancelled = "order.cancelled";

struct created_line {
  std::string product_id;
  int64_t quantity = 0;
  int64_t price_cents = 0;
};

struct order_created_payload {
  std::string order_id;
  std::string customer_id;
  int64_t total_cents = 0;
  std::vector<created_line> items;
};

// order.confirmed, order.cancelled (and order.rejected with a reason)
struct order_status_payload {
  std::string order_id;
  std::string customer_id;
  std::string reason; // order.rejected only
};

// Money as the contract writes it: whole amounts as integers, others with their cents.
inline nlohmann::json money(int64_t cents) {
  if (cents % 100 == 0)
    return cents / 100;
  return double(cents) / 100.0;
}

inline void to_json(nlohmann::json& j, const created_line& l) {
  j = {{"productId", l.product_id}, {"quantity", l.quantity}, {"price", money(l.price_cents)}};
}

inline void to_json(nlohmann::json& j, const order_created_payload& p) {
  j = {{"orderId", p.order_id},
       {"customerId", p.customer_id},
       {"totalAmount", money(p.total_cents)},
       {"items", p.items}};
}

inline void to_json(nlohmann::json& j, const order_status_payload& p) {
  j = {{"orderId", p.order_id}, {"customerId", p.customer_id}};
  if (!p.reason.empty())
    j["reason"] = p.reason;
}

// Readers of order.created (inventory, notifications) parse it back with this. A payload
// off the contract (it may come from a broker) throws, as a missing field does
// (nlohmann::json's exceptions): its consumer fails the event, never computes on it.
inline order_created_payload parse_order_created(const nlohmann::json& j) {
  order_created_payload p;
  p.order_id = j.at("orderId").get<std::string>();
  p.customer_id = j.at("customerId").get<std::string>();
  for (auto& item : j.at("items")) {
    auto price = item.at("price").get<double>();
    auto& quantity_value = item.at("quantity");
    if (!quantity_value.is_number_integer()) // a float's conversion could overflow
      throw std::invalid_argument("order.created: an item's quantity is not an integer");
    auto quantity = quantity_value.get<int64_t>();
    // An order's rules (api.hpp): quantity 1..10000, price 0..1,000,000.00.
    if (!(price >= 0 && price <= 1e6) || quantity < 1 || quantity > 10000)
      throw std::invalid_argument("order.created: an item's price or quantity is out of range");
    p.items.push_back({item.at("productId").get<std::string>(), quantity,
                       static_cast<int64_t>(price * 100 + 0.5)});
  }
  p.total_cents = 0;
  for (auto& l : p.items)
    p.total_cents += l.quantity * l.price_cents;
  return p;
}

} // namespace orders::events
