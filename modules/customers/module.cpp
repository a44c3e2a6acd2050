// Registration of the customers module: its migrations, its network message types and
// the children of its supervisor.
#include "module.hpp"

#include "events.hpp"

#include "customer_service.hpp"

#include <caf/actor_system_config.hpp>

namespace customers {

std::vector<persistence::migration> migrations(); // generated from migrations/*.sql

namespace {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<customer>("customers.customer");
  cfg.add_message_type<register_customer>("customers.register_customer");
  cfg.add_message_type<get_customer>("customers.get_customer");
  cfg.add_message_type<get_customers>("customers.get_customers");
  cfg.add_message_type<customers_found>("customers.customers_found");
  cfg.add_message_type<deactivate_customer>("customers.deactivate_customer");
}

std::vector<child_spec> children(const module_context& ctx) {
  return {{"service", [ctx](caf::actor_system& sys) { return spawn_customer_service(sys, ctx); }}};
}

} // namespace

module_definition definition() {
  return {"customers",
          migrations,
          register_types,
          children,
          "service",
          {},
          {events::customer_registered, events::customer_deactivated}};
}

} // namespace customers
