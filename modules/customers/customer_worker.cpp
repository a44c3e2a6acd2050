// See customer_worker.hpp.
#include "customer_worker.hpp"

#include "customer_store.hpp"

#include "actors/db_worker.hpp"
#include "actors/validation.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>

namespace customers {

worker::behavior_type customer_worker(worker::pointer self, std::string dsn,
                                      persistence::outbox_hooks outbox_hooks) {
  struct state {
    persistence::pg_session session;
    customer_store store;
    lookup_batch<customer> lookups;
    write_batch writes;
  };
  auto s = std::make_shared<state>(
      state{persistence::pg_session{std::move(dsn)}, customer_store{outbox_hooks}, {}, {}});
  auto write = [s, self](auto promise, auto apply, const command_deadline& deadline) {
    if (s->writes.add(promise, apply, deadline))
      self->send(self, flush_writes_atom::value);
    return promise;
  };
  return {
      [s, self, write](register_customer& request) {
        return write(
            self->make_response_promise<customer>(),
            [s, request](auto& db) { return s->store.register_customer(db, request); },
            request.deadline);
      },
      [s, self](get_customer& request) {
        auto promise = self->make_response_promise<customer>();
        if (s->lookups.add(lower_case(request.id), promise))
          self->send(self, flush_lookups_atom::value);
        return promise;
      },
      [s](get_customers& query) -> caf::result<customers_found> {
        std::vector<std::string> ids;
        for (auto& id : query.ids)
          if (is_uuid(id))
            ids.push_back(lower_case(id));
        auto found = with_database<std::map<std::string, customer>>(
            s->session, [&](auto& db) { return s->store.find_many(db, ids); });
        if (!found)
          return found.error();
        customers_found answer;
        for (auto& row : *found)
          answer.customers.push_back(std::move(row.second));
        return answer;
      },
      [s](flush_lookups_atom) {
        flush_lookups(
            s->lookups, s->session,
            [s](auto& db, const auto& ids) { return s->store.find_many(db, ids); },
            not_found_error("customer"));
      },
      [s, self, write](deactivate_customer& request) {
        return write(
            self->make_response_promise<customer>(),
            [s, request](auto& db) { return s->store.deactivate(db, request); }, request.deadline);
      },
      [s](flush_writes_atom) { s->writes.flush(s->session); },
      [s](health_probe) { return database_health(s->session, "customers"); },
  };
}

} // namespace customers
