// The notifications module's public face: its typed interface and message structs.
#pragma once

#include "actors/app_error.hpp"
#include "actors/event_delivery.hpp"
#include "actors/health.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <vector>

namespace notifications {

// docs/openapi.yaml, Notification; template is order-created | order-confirmed | order-rejected |
// order-cancelled, channel is "email".
struct notification {
  std::string id;
  std::string event_id;
  std::string event_name;
  std::string order_id;
  std::string customer_id;
  std::string channel;
  std::string template_name;
  std::string created_at;
};

// Exactly one of order_id and customer_id is set.
struct list_notifications {
  std::string order_id;
  std::string customer_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, notification& x) {
  return f(caf::meta::type_name("notifications.notification"), x.id, x.event_id, x.event_name,
           x.order_id, x.customer_id, x.channel, x.template_name, x.created_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_notifications& x) {
  return f(caf::meta::type_name("notifications.list_notifications"), x.order_id, x.customer_id);
}

// Errors: VALIDATION_FAILED (400), UNAVAILABLE (503).
using service =
    caf::typed_actor<caf::replies_to<list_notifications>::with<std::vector<notification>>,
                     caf::replies_to<health_probe>::with<std::string>,
                     caf::replies_to<delivery>::with<delivery_ack>>;

// Exactly one of orderId and customerId, as a UUID.
field_issues check(const list_notifications& request);

} // namespace notifications
