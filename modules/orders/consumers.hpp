// The events the orders module consumes, declared once: the module's definition routes
// events to it by this declaration, and its worker's inbox refuses any event it does not
// name (actors/inbox.hpp). The event names come from their publishers' events.hpp.
#pragma once

#include "actors/event_delivery.hpp"
#include "modules/inventory/events.hpp"

#include <vector>

namespace orders::consumers {

// A reservation's outcome settles its order (order_store::apply_reservation_outcomes).
inline consumer_spec inventory_events() {
  return {"orders.inventory-events",
          {inventory::events::inventory_reserved, inventory::events::inventory_rejected}};
}

inline std::vector<consumer_spec> all() {
  return {inventory_events()};
}

} // namespace orders::consumers
