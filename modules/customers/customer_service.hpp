// The customers module's front actor: checks each request against the module's rules
// and hands it to one of the module's database workers.
#pragma once

#include "modules/customers/api.hpp"

#include "actors/module_definition.hpp"

namespace customers {

caf::actor spawn_customer_service(caf::actor_system& sys, const module_context& ctx);

} // namespace customers
