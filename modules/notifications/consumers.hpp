// The events the notifications module consumes, declared once: the module's definition
// routes events to it by this declaration, and its worker's inbox refuses any event it
// does not name (actors/inbox.hpp). The event names come from their publishers' events.hpp.
#pragma once

#include "actors/event_delivery.hpp"
#include "modules/orders/events.hpp"

#include <vector>

namespace notifications::consumers {

// Every change of an order's state becomes a notification to its customer
// (notification_store::record).
inline consumer_spec order_events() {
  return {"notifications.order-events",
          {orders::events::order_created, orders::events::order_confirmed,
           orders::events::order_rejected, orders::events::order_cancelled}};
}

inline std::vector<consumer_spec> all() {
  return {order_events()};
}

} // namespace notifications::consumers
