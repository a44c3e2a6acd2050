// The notifications module's request rules (declared in api.hpp).
#include "modules/notifications/api.hpp"

#include "actors/validation.hpp"

namespace notifications {

field_issues check(const list_notifications& request) {
  field_issues issues;
  bool by_order = !request.order_id.empty(), by_customer = !request.customer_id.empty();
  if (by_order == by_customer) {
    issues.push_back({"orderId", "give exactly one of orderId and customerId"});
    return issues;
  }
  if (by_order && !is_uuid(request.order_id))
    issues.push_back({"orderId", "must be a UUID"});
  if (by_customer && !is_uuid(request.customer_id))
    issues.push_back({"customerId", "must be a UUID"});
  return issues;
}

} // namespace notifications
