// The inventory side of the order saga (consumer inventory.order-events): reserve every
// line of an order or none (order.created), release exactly what was reserved, once
// (order.cancelled). Runs inside the consumer's transaction (actors/inbox.hpp), so the
// stock changes, the reservation rows and the events they emit commit together.
#pragma once

#include "actors/event_delivery.hpp"
#include "persistence/outbox.hpp"
#include "persistence/pg.hpp"

#include <caf/error.hpp>

#include <functional>
#include <vector>

namespace inventory {

class reservation_store {
public:
  explicit reservation_store(persistence::outbox_hooks outbox_hooks = {});

  // Decides a batch of order.created and order.cancelled events in their order, under one
  // lock of every product involved taken in id order (so concurrent batches never
  // oversell and never deadlock), then writes the outcome with one statement per table.
  // order.created emits inventory.reserved, or inventory.rejected with INSUFFICIENT_STOCK
  // or UNKNOWN_PRODUCT and the first product at fault; an order decided before is left
  // as it is. order.cancelled emits inventory.released when the order held a reservation.
  caf::error apply(persistence::pg_connection& db,
                   const std::vector<const event_envelope*>& events);

private:
  persistence::outbox_writer outbox_;
};

} // namespace inventory
