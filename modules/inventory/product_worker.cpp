// See product_worker.hpp.
#include "product_worker.hpp"

#include "consumers.hpp"
#include "product_store.hpp"
#include "reservation_store.hpp"

#include "actors/db_worker.hpp"
#include "actors/inbox.hpp"
#include "actors/validation.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>

namespace inventory {

worker::behavior_type product_worker(worker::pointer self, std::string dsn,
                                     persistence::outbox_hooks outbox_hooks) {
  struct state {
    persistence::pg_session session;
    product_store store;
    lookup_batch<product> lookups;
    reservation_store reservations;
  };
  auto s = std::make_shared<state>(
      state{persistence::pg_session{std::move(dsn)}, {}, {}, reservation_store{outbox_hooks}});
  // inventory.order-events: reserve on order.created, release on order.cancelled.
  auto inbox = std::make_shared<inbox_batch>(
      "inventory",
      std::vector<consumer_binding>{
          {consumers::order_events(), [s](persistence::pg_connection& db, const auto& events) {
             return s->reservations.apply(db, events);
           }}});
  return {
      [s](create_product& request) {
        return command_in_transaction<product>(
            s->session, request.deadline, [&](auto& db) { return s->store.create(db, request); });
      },
      [s, self](get_product& request) {
        auto promise = self->make_response_promise<product>();
        if (s->lookups.add(lower_case(request.id), promise))
          self->send(self, flush_lookups_atom::value);
        return promise;
      },
      [s](flush_lookups_atom) {
        flush_lookups(
            s->lookups, s->session,
            [s](auto& db, const auto& ids) { return s->store.find_many(db, ids); },
            not_found_error("product"));
      },
      [s](restock_product& request) {
        return command_in_transaction<product>(
            s->session, request.deadline, [&](auto& db) { return s->store.restock(db, request); });
      },
      [s, self, inbox](delivery& d) {
        auto promise = self->make_response_promise<delivery_ack>();
        if (inbox->add(promise, std::move(d)))
          self->send(self, flush_inbox_atom::value);
        return promise;
      },
      [s, inbox](flush_inbox_atom) { inbox->flush(s->session); },
      [s](health_probe) { return database_health(s->session, "inventory"); },
  };
}

} // namespace inventory
