// See notification_service.hpp.
#include "notification_service.hpp"

#include "notification_worker.hpp"

#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace notifications {

namespace {

struct service_state {
  worker_pool<worker> workers;
  static inline const char* name = "notifications.service";
};

service::behavior_type notification_service(service::stateful_pointer<service_state> self,
                                            std::string dsn, int pool_size) {
  self->state.workers.start(self, pool_size, notification_worker, dsn);
  return {
      [self](list_notifications& request) -> caf::result<std::vector<notification>> {
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [self](health_probe probe) -> caf::result<std::string> {
        return self->delegate(self->state.workers.next(), probe);
      },
      [self](delivery& d) -> caf::result<delivery_ack> {
        return self->delegate(self->state.workers.consumer(), std::move(d));
      },
  };
}

} // namespace

caf::actor spawn_notification_service(caf::actor_system& sys, const module_context& ctx) {
  return caf::actor_cast<caf::actor>(
      sys.spawn(notification_service, ctx.dsn, ctx.settings.database.pool_size));
}

} // namespace notifications
