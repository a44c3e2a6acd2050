// POST /customers, GET /customers/{id}, POST /customers/{id}/deactivate (docs/openapi.yaml).
#include "http/json_fields.hpp"
#include "http/replies.hpp"
#include "http/routes.hpp"

#include "modules/customers/api.hpp"

namespace http {

namespace {

nlohmann::json to_json(const customers::customer& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"email", c.email},
          {"status", c.status},
          {"createdAt", c.created_at}};
}

} // namespace

void add_customers_routes(router& routes, module_caller& modules) {
  using customers::customer;
  using customers::service;
  routes.add("POST", "/customers", true, [&modules](exchange& ex) {
    json_fields fields{ex.body};
    customers::register_customer request{
        fields.string("name"), fields.string("email"), ex.correlation_id, {}};
    if (auto issues = fields.merge(customers::check(request)); !issues.empty())
      return ex.fail(validation_error(issues));
    reply(ex, 201, modules.call<service, customer>("customers", std::move(request)), to_json,
          "/customers");
  });
  routes.add("GET", "/customers/{id}", false, [&modules](exchange& ex) {
    reply(ex, 200,
          modules.call<service, customer>("customers", customers::get_customer{ex.params[0]}),
          to_json);
  });
  routes.add("POST", "/customers/{id}/deactivate", false, [&modules](exchange& ex) {
    reply(ex, 200,
          modules.call<service, customer>(
              "customers", customers::deactivate_customer{ex.params[0], ex.correlation_id, {}}),
          to_json);
  });
}

} // namespace http
