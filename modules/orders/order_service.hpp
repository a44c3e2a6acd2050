// The orders module's front actor: checks requests, asks the customers module (a
// read-only query through its typed interface, docs/architecture.md "Rules") whether the
// customer may order, and hands the order to a database worker.
#pragma once

#include "modules/orders/api.hpp"

#include "actors/module_definition.hpp"

namespace orders {

caf::actor spawn_order_service(caf::actor_system& sys, const module_context& ctx);

} // namespace orders
