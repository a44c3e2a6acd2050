// The orders module's request rules (declared in api.hpp).
#include "modules/orders/api.hpp"

#include "actors/validation.hpp"

#include <cctype>
#include <set>

namespace orders {

namespace {

bool valid_key(const std::string& key) {
  if (key.empty() || key.size() > 128)
    return false;
  for (unsigned char c : key)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
      return false;
  return true;
}

} // namespace

field_issues check(const place_order& request) {
  field_issues issues;
  if (!is_uuid(request.customer_id))
    issues.push_back({"customerId", "must be a UUID"});
  if (request.items.empty() || request.items.size() > max_order_lines)
    issues.push_back({"items", "must hold 1 to 100 items"});
  std::set<std::string> seen;
  for (std::size_t i = 0; i < request.items.size(); ++i) {
    auto& line = request.items[i];
    auto at = "items[" + std::to_string(i) + "].";
    if (!is_uuid(line.product_id))
      issues.push_back({at + "productId", "must be a UUID"});
    else if (!seen.insert(lower_case(line.product_id)).second)
      issues.push_back({at + "productId", "appears in more than one item"});
    check_range(issues, at + "quantity", line.quantity, 1, 10000,
                "must be an integer from 1 to 10000");
    check_range(issues, at + "price", line.price_cents, 0, 100000000,
                "must be a number from 0 to 1000000 with at most 2 decimal places");
  }
  if (!request.idempotency_key.empty() && !valid_key(request.idempotency_key))
    issues.push_back({"Idempotency-Key", "must be 1 to 128 characters of [A-Za-z0-9._:-]"});
  return issues;
}

field_issues check(const list_orders& request) {
  field_issues issues;
  if (!is_uuid(request.customer_id))
    issues.push_back({"customerId", "is required and must be a UUID"});
  check_range(issues, "limit", request.limit, 1, 100, "must be an integer from 1 to 100");
  return issues;
}

} // namespace orders
