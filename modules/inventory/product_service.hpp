// The inventory module's front actor: checks each request against the module's rules
// and hands it to one of the module's database workers.
#pragma once

#include "modules/inventory/api.hpp"

#include "actors/module_definition.hpp"

namespace inventory {

caf::actor spawn_product_service(caf::actor_system& sys, const module_context& ctx);

} // namespace inventory
