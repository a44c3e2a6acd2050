// The inventory module's request rules (declared in api.hpp).
#include "modules/inventory/api.hpp"

#include "actors/validation.hpp"

namespace inventory {

field_issues check(const create_product& request) {
  field_issues issues;
  check_length(issues, "sku", request.sku, 1, 64);
  check_length(issues, "name", request.name, 1, 200);
  check_range(issues, "price", request.price_cents, 0, 100000000,
              "must be a number from 0 to 1000000 with at most 2 decimal places");
  check_range(issues, "stock", request.stock, 0, 1000000000,
              "must be an integer from 0 to 1000000000");
  return issues;
}

field_issues check(const restock_product& request) {
  field_issues issues;
  check_range(issues, "quantity", request.quantity, 1, 1000000000,
              "must be an integer from 1 to 1000000000");
  return issues;
}

} // namespace inventory
