// The notifications module's front actor: checks queries and hands them, and deliveries
// of order events, to the module's database workers.
#pragma once

#include "modules/notifications/api.hpp"

#include "actors/module_definition.hpp"

namespace notifications {

caf::actor spawn_notification_service(caf::actor_system& sys, const module_context& ctx);

} // namespace notifications
