// The events the inventory module consumes, declared once: the module's definition routes
// events to it by this declaration, and its worker's inbox refuses any event it does not
// name (actors/inbox.hpp). The event names come from their publishers' events.hpp.
#pragma once

#include "actors/event_delivery.hpp"
#include "modules/orders/events.hpp"

#include <vector>

namespace inventory::consumers {

// A new order reserves its stock; a cancelled one releases it (reservation_store::apply).
inline consumer_spec order_events() {
  return {"inventory.order-events",
          {orders::events::order_created, orders::events::order_cancelled}};
}

inline std::vector<consumer_spec> all() {
  return {order_events()};
}

} // namespace inventory::consumers
