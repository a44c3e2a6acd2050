// See product_service.hpp.
#include "product_service.hpp"

#include "product_worker.hpp"

#include "actors/validation.hpp"
#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace inventory {

namespace {

struct service_state {
  worker_pool<worker> workers;
  static inline const char* name = "inventory.service";
};

service::behavior_type product_service(service::stateful_pointer<service_state> self,
                                       std::string dsn, int pool_size,
                                       persistence::outbox_hooks outbox_hooks) {
  self->state.workers.start(self, pool_size, product_worker, dsn, outbox_hooks);
  auto worker = [self] { return self->state.workers.next(); };
  return {
      [=](create_product& request) -> caf::result<product> {
        request.deadline.start();
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        return self->delegate(worker(), std::move(request));
      },
      [=](get_product& request) -> caf::result<product> {
        if (!is_uuid(request.id))
          return not_found_error("product");
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [=](restock_product& request) -> caf::result<product> {
        request.deadline.start();
        if (!is_uuid(request.id))
          return not_found_error("product");
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        return self->delegate(worker(), std::move(request));
      },
      [=](health_probe probe) -> caf::result<std::string> {
        return self->delegate(worker(), probe);
      },
      [=](delivery& d) -> caf::result<delivery_ack> {
        return self->delegate(self->state.workers.consumer(), std::move(d));
      },
  };
}

} // namespace

caf::actor spawn_product_service(caf::actor_system& sys, const module_context& ctx) {
  return caf::actor_cast<caf::actor>(
      sys.spawn(product_service, ctx.dsn, ctx.settings.database.pool_size, ctx.outbox_hooks()));
}

} // namespace inventory
