// The inventory side of the order saga (consumer inventory.order-events): reserve every
// line of an order or none (order.created), release exactly what was reserved, once
// (order.cancelled). Runs inside the consumer's transaction (actors/inbox.hpp), so the
// stock change, the reservation row and the event it emits commit together.
#pragma once

#include "actors/event_delivery.hpp"
#include "persistence/outbox.hpp"
#include "persistence/pg.hpp"

#include <caf/error.hpp>

namespace inventory {

class reservation_store {
public:
  explicit reservation_store(std::function<void()> on_event_appended = {});

  // Emits inventory.reserved, or inventory.rejected with INSUFFICIENT_STOCK or
  // UNKNOWN_PRODUCT and the first product at fault. Products are locked in id order, so
  // concurrent reservations never oversell and never deadlock.
  caf::error reserve(persistence::pg_connection& db, const event_envelope& order_created);
  // Emits inventory.released when the order held a reservation.
  caf::error release(persistence::pg_connection& db, const event_envelope& order_cancelled);

private:
  persistence::outbox_writer outbox_;
};

} // namespace inventory
