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

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace orders {

namespace {

using check_customers_atom = caf::atom_constant<caf::atom("chkcust")>;

// The interface plus the service's own "check the customers of the orders queued so far".
using service_impl = service::extend<caf::reacts_to<check_customers_atom>>;

// An order waiting for the answer about its customer.
struct awaiting_customer {
  place_order request;
  caf::typed_response_promise<placed_order> promise;
};

using awaiting_batch = std::vector<awaiting_customer>;

struct service_state {
  worker_pool<worker> workers;
  caf::actor directory;
  customers::service customers; // cached; looked up again after an error
  std::chrono::milliseconds timeout{800};
  awaiting_batch awaiting; // orders for the next customer check
  static inline const char* name = "orders.service";
};

using self_pointer = service_impl::stateful_pointer<service_state>;

caf::error unknown_customer() {
  return make_app_error(app_error::unprocessable, "UNKNOWN_CUSTOMER", "the customer does not exist",
                        {{"customerId", "no such customer"}});
}

caf::error inactive_customer() {
  return make_app_error(app_error::unprocessable, "CUSTOMER_INACTIVE", "the customer is inactive",
                        {{"customerId", "customer is inactive"}});
}

// Places each order of `batch` whose customer is in `found` and ACTIVE; answers the
// others with why not.
void place_checked(self_pointer self, awaiting_batch& batch, customers::customers_found& found) {
  std::map<std::string, const customers::customer*> by_id;
  for (auto& c : found.customers)
    by_id.emplace(c.id, &c);
  for (auto& order : batch) {
    auto c = by_id.find(lower_case(order.request.customer_id));
    if (c == by_id.end())
      order.promise.deliver(unknown_customer());
    else if (c->second->status != "ACTIVE")
      order.promise.deliver(inactive_customer());
    else
      order.promise.delegate(self->state.workers.grouped(), std::move(order.request));
  }
}

// Asks the customers module about the customers of every order in `batch` with one
// request (and one timeout), then places those that may be placed. Under load the orders
// that arrive in one pass over the mailbox share it: a request, a reply and a timer per
// order were most of this actor's work.
void check_customers(self_pointer self, awaiting_batch orders) {
  auto batch = std::make_shared<awaiting_batch>(std::move(orders));
  auto fail = [batch](const caf::error& err) {
    for (auto& order : *batch)
      order.promise.deliver(err);
  };
  auto ask = [self, batch, fail](const customers::service& customers) {
    customers::get_customers query;
    for (auto& order : *batch)
      query.ids.push_back(lower_case(order.request.customer_id));
    std::sort(query.ids.begin(), query.ids.end());
    query.ids.erase(std::unique(query.ids.begin(), query.ids.end()), query.ids.end());
    self->request(customers, self->state.timeout, std::move(query))
        .then([self,
               batch](customers::customers_found& found) { place_checked(self, *batch, found); },
              [self, fail](caf::error&) {
                self->state.customers = nullptr; // maybe restarted: look it up again next time
                fail(unavailable_error());
              });
  };
  if (self->state.customers)
    return ask(self->state.customers);
  self->request(self->state.directory, self->state.timeout, directory_get_atom::value,
                std::string{"customers"})
      .then(
          [self, ask](const caf::actor& handle) {
            self->state.customers = caf::actor_cast<customers::service>(handle);
            ask(self->state.customers);
          },
          [fail](caf::error&) { fail(unavailable_error()); });
}

// Queues `request` for the next customer check. The first order of a batch sends the
// check to this actor's own mailbox, behind every order already waiting there.
void check_customer_then_place(self_pointer self, place_order request,
                               caf::typed_response_promise<placed_order> promise) {
  auto& awaiting = self->state.awaiting;
  awaiting.push_back({std::move(request), std::move(promise)});
  if (awaiting.size() == 1)
    self->send(self, check_customers_atom::value);
  else if (awaiting.size() >= customers::max_customers_per_query)
    check_customers(self, std::exchange(awaiting, {}));
}

service_impl::behavior_type order_service(self_pointer self, module_context ctx) {
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
      [self](check_customers_atom) {
        if (!self->state.awaiting.empty())
          check_customers(self, std::exchange(self->state.awaiting, {}));
      },
  };
}

} // namespace

caf::actor spawn_order_service(caf::actor_system& sys, const module_context& ctx) {
  return caf::actor_cast<caf::actor>(sys.spawn(order_service, ctx));
}

} // namespace orders
