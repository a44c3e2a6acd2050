// See order_service.hpp.
#include "order_service.hpp"

#include "order_worker.hpp"

#include "modules/customers/api.hpp"

#include "actors/directory.hpp"
#include "actors/validation.hpp"
#include "actors/worker_pool.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace orders {

namespace {

struct service_state {
  worker_pool<worker> workers;
  caf::actor directory;
  customers::service customers; // cached; looked up again after an error
  std::chrono::milliseconds timeout{800};
  static inline const char* name = "orders.service";
};

using self_pointer = service::stateful_pointer<service_state>;

caf::error unknown_customer() {
  return make_app_error(app_error::unprocessable, "UNKNOWN_CUSTOMER", "the customer does not exist",
                        {{"customerId", "no such customer"}});
}

// Asks the customers module about `request.customer_id`, then places the order.
void check_customer_then_place(self_pointer self, place_order request,
                               caf::typed_response_promise<placed_order> promise) {
  auto place = [self, request, promise](const customers::customer& c) mutable {
    if (c.status != "ACTIVE")
      promise.deliver(make_app_error(app_error::unprocessable, "CUSTOMER_INACTIVE",
                                     "the customer is inactive",
                                     {{"customerId", "customer is inactive"}}));
    else
      promise.delegate(self->state.workers.grouped(), std::move(request));
  };
  auto ask = [self, request, promise, place](const customers::service& customers) mutable {
    self->request(customers, self->state.timeout, customers::get_customer{request.customer_id})
        .then(place, [self, promise](caf::error& err) mutable {
          if (describe(err).kind == app_error::not_found) {
            promise.deliver(unknown_customer());
            return;
          }
          self->state.customers = nullptr; // maybe restarted: look it up again next time
          promise.deliver(unavailable_error());
        });
  };
  if (self->state.customers)
    return ask(self->state.customers);
  self->request(self->state.directory, self->state.timeout, directory_get_atom::value,
                std::string{"customers"})
      .then(
          [self, ask](const caf::actor& handle) mutable {
            self->state.customers = caf::actor_cast<customers::service>(handle);
            ask(self->state.customers);
          },
          [promise](caf::error&) mutable { promise.deliver(unavailable_error()); });
}

service::behavior_type order_service(self_pointer self, module_context ctx) {
  self->state.workers.start(self, ctx.settings.database.pool_size, order_worker, ctx.dsn,
                            ctx.outbox_hooks());
  self->state.directory = ctx.directory;
  self->state.timeout = ctx.settings.remote_request_timeout;
  return {
      [self](place_order& request) -> caf::result<placed_order> {
        request.deadline.start();
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        auto promise = self->make_response_promise<placed_order>();
        if (request.idempotency_key.empty()) {
          check_customer_then_place(self, std::move(request), promise);
          return promise;
        }
        // A replay answers with the order as it is now, whatever its customer became since.
        self->request(self->state.workers.reader(), caf::infinite, find_replay{request})
            .then([promise](placed_order& replay) mutable { promise.deliver(std::move(replay)); },
                  [self, request, promise](caf::error& err) mutable {
                    if (describe(err).kind == app_error::not_found)
                      check_customer_then_place(self, std::move(request), promise);
                    else
                      promise.deliver(err);
                  });
        return promise;
      },
      [self](get_order& request) -> caf::result<order> {
        if (!is_uuid(request.id))
          return not_found_error("order");
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [self](list_orders& request) -> caf::result<std::vector<order>> {
        if (auto issues = check(request); !issues.empty())
          return validation_error(std::move(issues));
        return self->delegate(self->state.workers.reader(), std::move(request));
      },
      [self](cancel_order& request) -> caf::result<order> {
        request.deadline.start();
        if (!is_uuid(request.id))
          return not_found_error("order");
        return self->delegate(self->state.workers.next(), std::move(request));
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

caf::actor spawn_order_service(caf::actor_system& sys, const module_context& ctx) {
  return caf::actor_cast<caf::actor>(sys.spawn(order_service, ctx));
}

} // namespace orders
