// A request body as the gateway reads it into a module's request (http/json_fields.cpp)
// and as the module judges it (each module's check()): any bytes, never a crash, and
// never an accepted request outside the rules.
#include "http/json_body.hpp"
#include "http/json_fields.hpp"
#include "modules/customers/api.hpp"
#include "modules/inventory/api.hpp"
#include "modules/orders/api.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void place_order(const nlohmann::json& body) {
  http::json_fields fields{body};
  orders::place_order request;
  request.customer_id = fields.string("customerId");
  if (auto list = fields.array("items", "an array");
      list && list->size() <= orders::max_order_lines)
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto& element = (*list)[i];
      if (!element.is_object())
        continue;
      http::json_fields line{element, "items[" + std::to_string(i) + "]."};
      request.items.push_back(
          {line.string("productId"), line.integer("quantity"), line.money_cents("price")});
    }
  auto issues = fields.merge(orders::check(request));
  if (issues.empty() && (request.items.empty() || request.items.size() > orders::max_order_lines))
    std::abort();
  for (auto& line : request.items)
    if (issues.empty() && (line.quantity < 1 || line.quantity > 10000 || line.price_cents < 0))
      std::abort();
}

void register_customer(const nlohmann::json& body) {
  http::json_fields fields{body};
  customers::register_customer request{fields.string("name"), fields.string("email"), "", {}};
  fields.merge(customers::check(request));
}

void create_product(const nlohmann::json& body) {
  http::json_fields fields{body};
  inventory::create_product request{fields.string("sku"),
                                    fields.string("name"),
                                    fields.money_cents("price"),
                                    fields.integer("stock"),
                                    {}};
  auto issues = fields.merge(inventory::check(request));
  if (issues.empty() && (request.price_cents < 0 || request.stock < 0))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = http::parse_json_object(std::string(reinterpret_cast<const char*>(data), size));
  if (!body)
    return 0;
  place_order(*body);
  register_customer(*body);
  create_product(*body);
  return 0;
}
