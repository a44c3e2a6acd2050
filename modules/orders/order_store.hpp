// The orders module's SQL. Runs on a detached worker's connection (order_worker.cpp);
// commands run inside the worker's group-commit transaction (write_batch), so an order,
// its Idempotency-Key and its event commit together or not at all.
#pragma once

#include "modules/orders/api.hpp"

#include "actors/event_delivery.hpp"
#include "persistence/outbox.hpp"
#include "persistence/pg.hpp"

#include <caf/expected.hpp>

#include <map>
#include <optional>
#include <random>
#include <vector>

namespace orders {

class order_store {
public:
  explicit order_store(persistence::outbox_hooks outbox_hooks = {});

  // The order an Idempotency-Key created, if any: replayed when the request is the same,
  // IDEMPOTENCY_KEY_REUSED when it is not.
  caf::expected<std::optional<placed_order>> find_replay(persistence::pg_connection& db,
                                                         const place_order& request);
  // Creates a group of orders (PENDING) and their order.created events with one statement
  // each, taking the requests' Idempotency-Keys in the same transaction (a key taken
  // before replays its order, or is IDEMPOTENCY_KEY_REUSED). One answer per request.
  std::vector<caf::expected<placed_order>> place_all(persistence::pg_connection& db,
                                                     const std::vector<place_order>& requests);
  std::map<std::string, order> find_many(persistence::pg_connection& db,
                                         const std::vector<std::string>& ids);
  std::vector<order> list(persistence::pg_connection& db, const list_orders& request);
  // PENDING or CONFIRMED -> CANCELLED with order.cancelled; INVALID_STATE otherwise.
  caf::expected<order> cancel(persistence::pg_connection& db, const cancel_order& request);

  // The orders side of the saga (consumer orders.inventory-events), for a batch of
  // events in one UPDATE that only moves PENDING orders: inventory.reserved turns an order
  // CONFIRMED (order.confirmed), inventory.rejected turns it REJECTED (order.rejected); in
  // any other state the event is late or a duplicate and changes nothing (the contract's state
  // machine).
  caf::error apply_reservation_outcomes(persistence::pg_connection& db,
                                        const std::vector<const event_envelope*>& events);

private:
  caf::expected<order> find(persistence::pg_connection& db, const std::string& id);

  // A new order's id (version 4 UUID), made here so that a group's rows map back to their
  // requests.
  std::string new_order_id();

  persistence::outbox_writer outbox_;
  std::mt19937_64 random_;
};

} // namespace orders
