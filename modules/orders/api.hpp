// The orders module's public face: its typed interface and message structs. Money is
// integer cents inside; the gateway converts to and from JSON numbers.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/event_delivery.hpp"
#include "actors/health.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace orders {

struct order_line {
  std::string product_id;
  int64_t quantity = 0;
  int64_t price_cents = 0;
};

// docs/openapi.yaml, Order. status: PENDING | CONFIRMED | REJECTED | CANCELLED; rejection_reason is
// set only when REJECTED (INSUFFICIENT_STOCK | UNKNOWN_PRODUCT).
struct order {
  std::string id;
  std::string customer_id;
  std::vector<order_line> items;
  int64_t total_cents = 0;
  std::string status;
  std::string rejection_reason;
  std::string created_at;
  std::string updated_at;
};

struct place_order {
  std::string customer_id;
  std::vector<order_line> items;
  std::string idempotency_key; // empty: none
  std::string request_body;    // canonical JSON of the request, compared on a key's reuse
  std::string correlation_id;
  command_deadline deadline;
};

// The answer to place_order: the order, and whether it is a replay of an earlier request
// with the same Idempotency-Key.
struct placed_order {
  order placed;
  bool replayed = false;
};

struct get_order {
  std::string id;
};

struct list_orders {
  std::string customer_id;
  int64_t limit = 20;
};

struct cancel_order {
  std::string id;
  std::string correlation_id;
  command_deadline deadline;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order_line& x) {
  return f(caf::meta::type_name("orders.order_line"), x.product_id, x.quantity, x.price_cents);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("orders.order"), x.id, x.customer_id, x.items, x.total_cents,
           x.status, x.rejection_reason, x.created_at, x.updated_at);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, place_order& x) {
  return f(caf::meta::type_name("orders.place_order"), x.customer_id, x.items, x.idempotency_key,
           x.request_body, x.correlation_id, x.deadline);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, placed_order& x) {
  return f(caf::meta::type_name("orders.placed_order"), x.placed, x.replayed);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, get_order& x) {
  return f(caf::meta::type_name("orders.get_order"), x.id);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, list_orders& x) {
  return f(caf::meta::type_name("orders.list_orders"), x.customer_id, x.limit);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, cancel_order& x) {
  return f(caf::meta::type_name("orders.cancel_order"), x.id, x.correlation_id, x.deadline);
}

// Errors: VALIDATION_FAILED (400), NOT_FOUND (404), INVALID_STATE (409),
// UNKNOWN_CUSTOMER / CUSTOMER_INACTIVE / IDEMPOTENCY_KEY_REUSED (422), UNAVAILABLE (503).
using service = caf::typed_actor<
    caf::replies_to<place_order>::with<placed_order>, caf::replies_to<get_order>::with<order>,
    caf::replies_to<list_orders>::with<std::vector<order>>,
    caf::replies_to<cancel_order>::with<order>, caf::replies_to<health_probe>::with<std::string>,
    caf::replies_to<delivery>::with<delivery_ack>>;

// An order holds at most this many lines.
constexpr std::size_t max_order_lines = 100;

// The module's rules: customerId a UUID; 1..100 items, each with a UUID productId (no
// product twice), quantity 1..10000 and price 0..1,000,000.00; an Idempotency-Key of
// 1..128 characters of [A-Za-z0-9._:-]. Field names as in docs/openapi.yaml ("items[0].quantity").
field_issues check(const place_order& request);
field_issues check(const list_orders& request);

} // namespace orders
