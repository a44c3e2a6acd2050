// POST /products, GET /products/{id}, POST /products/{id}/restock (docs/openapi.yaml).
#include "http/json_fields.hpp"
#include "http/replies.hpp"
#include "http/routes.hpp"

#include "modules/inventory/api.hpp"

namespace http {

namespace {

nlohmann::json to_json(const inventory::product& p) {
  return {{"id", p.id},
          {"sku", p.sku},
          {"name", p.name},
          {"price", money_json(p.price_cents)},
          {"stock", p.stock},
          {"reserved", p.reserved},
          {"available", p.available()}};
}

} // namespace

void add_inventory_routes(router& routes, module_caller& modules) {
  using inventory::product;
  using inventory::service;
  routes.add("POST", "/products", true, [&modules](exchange& ex) {
    json_fields fields{ex.body};
    inventory::create_product request;
    request.sku = fields.string("sku");
    request.name = fields.string("name");
    request.price_cents = fields.money_cents("price");
    request.stock = fields.integer("stock");
    if (auto issues = fields.merge(inventory::check(request)); !issues.empty())
      return ex.fail(validation_error(issues));
    reply(ex, 201, modules.call<service, product>("inventory", std::move(request)), to_json,
          "/products");
  });
  routes.add("GET", "/products/{id}", false, [&modules](exchange& ex) {
    reply(ex, 200,
          modules.call<service, product>("inventory", inventory::get_product{ex.params[0]}),
          to_json);
  });
  routes.add("POST", "/products/{id}/restock", true, [&modules](exchange& ex) {
    json_fields fields{ex.body};
    inventory::restock_product request{ex.params[0], fields.integer("quantity"), {}};
    if (auto issues = fields.merge(inventory::check(request)); !issues.empty())
      return ex.fail(validation_error(issues));
    reply(ex, 200, modules.call<service, product>("inventory", std::move(request)), to_json);
  });
}

} // namespace http
