// See customer_service.hpp.
#include "customer_service.hpp"

#include "customer_worker.hpp"

#include "actors/validation.hpp"
#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace customers {

namespace {

struct service_state {
  worker_pool<worker> workers;
  static inline const char* name = "customers.service";
};

service::behavior_type customer_service(service::stateful_pointer<service_state> self,
                                        std::string dsn, int pool_size,
                                        persistence::outbox_hooks outbox_hooks) {
  self->state.workers.start(self, pool_size, customer_worker, dsn, outbox_hooks);
  auto worker = [self] { return self->state.workers.next(); };
  return {
      [=](register_customer& request) -> caf::result<customer> {
        request.deadline.start();
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        return self->delegate(worker(), std::move(request));
      },
      [=](get_customer& request) -> caf::result<customer> {
        if (!is_uuid(request.id))
          return not_found_error("customer");
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [=](get_customers& request) -> caf::result<customers_found> {
        if (request.ids.size() > max_customers_per_query)
          return validation_error(
              {{"ids", "at most " + std::to_string(max_customers_per_query) + " ids"}});
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [=](deactivate_customer& request) -> caf::result<customer> {
        request.deadline.start();
        if (!is_uuid(request.id))
          return not_found_error("customer");
        return self->delegate(worker(), std::move(request));
      },
      [=](health_probe probe) -> caf::result<std::string> {
        return self->delegate(worker(), probe);
      },
  };
}

} // namespace

caf::actor spawn_customer_service(caf::actor_system& sys, const module_context& ctx) {
  return caf::actor_cast<caf::actor>(
      sys.spawn(customer_service, ctx.dsn, ctx.settings.database.pool_size, ctx.outbox_hooks()));
}

} // namespace customers
