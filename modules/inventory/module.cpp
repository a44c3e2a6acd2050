// Registration of the inventory module: its migrations, its network message types and
// the children of its supervisor.
#include "module.hpp"

#include "consumers.hpp"
#include "events.hpp"

#include "product_service.hpp"

#include <caf/actor_system_config.hpp>

namespace inventory {

std::vector<persistence::migration> migrations(); // generated from migrations/*.sql

namespace {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<product>("inventory.product");
  cfg.add_message_type<create_product>("inventory.create_product");
  cfg.add_message_type<get_product>("inventory.get_product");
  cfg.add_message_type<restock_product>("inventory.restock_product");
}

std::vector<child_spec> children(const module_context& ctx) {
  return {{"service", [ctx](caf::actor_system& sys) { return spawn_product_service(sys, ctx); }}};
}

} // namespace

module_definition definition() {
  return {"inventory",
          migrations,
          register_types,
          children,
          "service",
          consumers::all(),
          {events::inventory_reserved, events::inventory_rejected, events::inventory_released}};
}

} // namespace inventory
