// See notification_worker.hpp.
#include "notification_worker.hpp"

#include "consumers.hpp"
#include "notification_store.hpp"

#include "actors/db_worker.hpp"
#include "actors/inbox.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <memory>

namespace notifications {

worker::behavior_type notification_worker(worker::pointer self, std::string dsn) {
  struct state {
    persistence::pg_session session;
    notification_store store;
  };
  auto s = std::make_shared<state>(state{persistence::pg_session{std::move(dsn)}, {}});
  // notifications.order-events: one notification per (event, template).
  auto inbox = std::make_shared<inbox_batch>(
      "notifications",
      std::vector<consumer_binding>{
          {consumers::order_events(), [s](persistence::pg_connection& db, const auto& events) {
             return s->store.record(db, events);
           }}});
  return {
      [s](list_notifications& request) {
        return with_database<std::vector<notification>>(
            s->session, [&](auto& db) -> caf::expected<std::vector<notification>> {
              return s->store.list(db, request);
            });
      },
      [s](health_probe) { return database_health(s->session, "notifications"); },
      [s, self, inbox](delivery& d) {
        auto promise = self->make_response_promise<delivery_ack>();
        if (inbox->add(promise, std::move(d)))
          self->send(self, flush_inbox_atom::value);
        return promise;
      },
      [s, inbox](flush_inbox_atom) { inbox->flush(s->session); },
  };
}

} // namespace notifications
