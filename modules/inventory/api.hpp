// The inventory module's public face: its typed interface and message structs. Money is
// integer cents inside; the gateway converts to and from JSON numbers.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/event_delivery.hpp"
#include "actors/health.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace inventory {

// Stock may grow up to 2^53 - 1 so that every client's JSON number holds it exactly.
inline constexpr int64_t max_stock = (int64_t{1} << 53) - 1;

struct product {
  std::string id;
  std::string sku;
  std::string name;
  int64_t price_cents = 0;
  int64_t stock = 0;
  int64_t reserved = 0;

  int64_t available() const { return stock - reserved; }
};

struct create_product {
  std::string sku;
  std::string name;
  int64_t price_cents = 0;
  int64_t stock = 0;
  command_deadline deadline;
};

struct get_product {
  std::string id;
};

struct restock_product {
  std::string id;
  int64_t quantity = 0;
  command_deadline deadline;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("inventory.product"), x.id, x.sku, x.name, x.price_cents, x.stock,
           x.reserved);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_product& x) {
  return f(caf::meta::type_name("inventory.create_product"), x.sku, x.name, x.price_cents, x.stock,
           x.deadline);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, get_product& x) {
  return f(caf::meta::type_name("inventory.get_product"), x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restock_product& x) {
  return f(caf::meta::type_name("inventory.restock_product"), x.id, x.quantity, x.deadline);
}

// Errors: VALIDATION_FAILED (400), NOT_FOUND (404), SKU_TAKEN (409), UNAVAILABLE (503).
// Creating and restocking publish no events: no other module reacts to them. Deliveries
// are the event bus handing this module's consumers their events.
using service = caf::typed_actor<caf::replies_to<create_product>::with<product>,
                                 caf::replies_to<get_product>::with<product>,
                                 caf::replies_to<restock_product>::with<product>,
                                 caf::replies_to<health_probe>::with<std::string>,
                                 caf::replies_to<delivery>::with<delivery_ack>>;

// The module's rules (sku 1..64 and name 1..200 characters, price 0..1,000,000.00,
// stock 0..1e9, restock quantity 1..1e9). Enforced by the service; also called by the
// gateway so one response names every bad field.
field_issues check(const create_product& request);
field_issues check(const restock_product& request);

} // namespace inventory
