// See order_worker.hpp.
#include "order_worker.hpp"

#include "consumers.hpp"
#include "order_store.hpp"

#include "actors/db_worker.hpp"
#include "actors/inbox.hpp"
#include "actors/set_batch.hpp"
#include "actors/validation.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>

namespace orders {

worker::behavior_type order_worker(worker::pointer self, std::string dsn,
                                   persistence::outbox_hooks outbox_hooks) {
  struct state {
    persistence::pg_session session;
    order_store store;
    lookup_batch<order> lookups;
    write_batch writes;
    std::unique_ptr<set_batch<place_order, placed_order>> placements;
  };
  auto s = std::make_shared<state>(
      state{persistence::pg_session{std::move(dsn)}, order_store{outbox_hooks}, {}, {}, {}});
  s->placements = std::make_unique<set_batch<place_order, placed_order>>(
      [store = &s->store](persistence::pg_connection& db,
                          const std::vector<place_order>& requests) {
        return store->place_all(db, requests);
      });
  auto inbox = std::make_shared<inbox_batch>(
      "orders",
      std::vector<consumer_binding>{
          {consumers::inventory_events(), [s](persistence::pg_connection& db, const auto& events) {
             return s->store.apply_reservation_outcomes(db, events);
           }}});
  auto write = [s, self](auto promise, auto apply, const command_deadline& deadline) {
    if (s->writes.add(promise, apply, deadline))
      self->send(self, flush_writes_atom::value);
    return promise;
  };
  return {
      [s](find_replay& probe) -> caf::result<placed_order> {
        auto replay = with_database<std::optional<placed_order>>(
            s->session, [&](auto& db) { return s->store.find_replay(db, probe.request); });
        if (!replay)
          return replay.error();
        if (!*replay)
          return not_found_error("replay");
        return std::move(**replay);
      },
      [s, self](place_order& request) {
        auto promise = self->make_response_promise<placed_order>();
        auto deadline = request.deadline;
        if (s->placements->add(promise, std::move(request), deadline))
          self->send(self, flush_set_atom::value);
        return promise;
      },
      [s](flush_set_atom) { s->placements->flush(s->session); },
      [s, self](get_order& request) {
        auto promise = self->make_response_promise<order>();
        if (s->lookups.add(lower_case(request.id), promise))
          self->send(self, flush_lookups_atom::value);
        return promise;
      },
      [s](flush_lookups_atom) {
        flush_lookups(
            s->lookups, s->session,
            [s](auto& db, const auto& ids) { return s->store.find_many(db, ids); },
            not_found_error("order"));
      },
      [s](list_orders& request) {
        return with_database<std::vector<order>>(
            s->session, [&](auto& db) -> caf::expected<std::vector<order>> {
              return s->store.list(db, request);
            });
      },
      [s, self, write](cancel_order& request) {
        return write(
            self->make_response_promise<order>(),
            [s, request](auto& db) { return s->store.cancel(db, request); }, request.deadline);
      },
      [s](flush_writes_atom) { s->writes.flush(s->session); },
      [s, self, inbox](delivery& d) {
        auto promise = self->make_response_promise<delivery_ack>();
        if (inbox->add(promise, std::move(d)))
          self->send(self, flush_inbox_atom::value);
        return promise;
      },
      [s, inbox](flush_inbox_atom) { inbox->flush(s->session); },
      [s](health_probe) { return database_health(s->session, "orders"); },
  };
}

} // namespace orders
