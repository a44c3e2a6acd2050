// Registration of the notifications module: its migrations, its network message types,
// the children of its supervisor (service and sender loop) and its consumer.
#include "module.hpp"

#include "consumers.hpp"
#include "notification_service.hpp"
#include "sender_loop.hpp"

#include <caf/actor_system_config.hpp>

namespace notifications {

std::vector<persistence::migration> migrations(); // generated from migrations/*.sql

namespace {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<notification>("notifications.notification");
  cfg.add_message_type<list_notifications>("notifications.list_notifications");
}

std::vector<child_spec> children(const module_context& ctx) {
  return {
      {"service", [ctx](caf::actor_system& sys) { return spawn_notification_service(sys, ctx); }},
      {"sender", [ctx](caf::actor_system& sys) { return spawn_sender_loop(sys, ctx); }}};
}

} // namespace

module_definition definition() {
  return {"notifications", migrations, register_types, children, "service", consumers::all(), {}};
}

} // namespace notifications
