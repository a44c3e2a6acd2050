// Events the inventory module publishes (docs/openapi.yaml, EventEnvelope). One reservation per
// order: the aggregate id of each event is the order id.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace inventory::events {

inline constexpr const char* inventory_reserved = "inventory.reserved";
inline constexpr const char* inventory_rejected = "inventory.rejected";
inline constexpr const char* inventory_released = "inventory.released";

struct reservation_line {
  std::string product_id;
  int64_t quantity = 0;
};

// inventory.reserved and inventory.released
struct reservation_payload {
  std::string order_id;
  std::vector<reservation_line> lines;
};

struct inventory_rejected_payload {
  std::string order_id;
  std::string reason; // "INSUFFICIENT_STOCK" | "UNKNOWN_PRODUCT"
  std::string product_id;
};

inline void to_json(nlohmann::json& j, const reservation_line& l) {
  j = {{"productId", l.product_id}, {"quantity", l.quantity}};
}

inline void to_json(nlohmann::json& j, const reservation_payload& p) {
  j = {{"orderId", p.order_id}, {"lines", p.lines}};
}

inline void to_json(nlohmann::json& j, const inventory_rejected_payload& p) {
  j = {{"orderId", p.order_id}, {"reason", p.reason}, {"productId", p.product_id}};
}

} // namespace inventory::events
