// Registration of the orders module: its migrations, its network message types and the
// children of its supervisor.
#include "module.hpp"

#include "consumers.hpp"
#include "events.hpp"

#include "order_service.hpp"

#include <caf/actor_system_config.hpp>

namespace orders {

std::vector<persistence::migration> migrations(); // generated from migrations/*.sql

namespace {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<order_line>("orders.order_line");
  cfg.add_message_type<order>("orders.order");
  cfg.add_message_type<place_order>("orders.place_order");
  cfg.add_message_type<placed_order>("orders.placed_order");
  cfg.add_message_type<get_order>("orders.get_order");
  cfg.add_message_type<list_orders>("orders.list_orders");
  cfg.add_message_type<cancel_order>("orders.cancel_order");
}

std::vector<child_spec> children(const module_context& ctx) {
  return {{"service", [ctx](caf::actor_system& sys) { return spawn_order_service(sys, ctx); }}};
}

} // namespace

module_definition definition() {
  return {"orders",
          migrations,
          register_types,
          children,
          "service",
          consumers::all(),
          {events::order_created, events::order_confirmed, events::order_rejected,
           events::order_cancelled},
          {{"idempotency_keys", "created_at", &config::retention_settings::idempotency_keys}}};
}

} // namespace orders
