// See customer_worker.hpp.
#include "customer_worker.hpp"

#include "customer_store.hpp"

#include "actors/db_worker.hpp"

#include <memory>

namespace customers {

service::behavior_type customer_worker(service::pointer, std::string dsn) {
  struct state {
    persistence::pg_session session;
    customer_store store;
  };
  auto s = std::make_shared<state>(state{persistence::pg_session{std::move(dsn)}, {}});
  return {
    [s](register_customer& request) {
      return with_database<customer>(s->session, [&](auto& db) {
        return s->store.register_customer(db, request);
      });
    },
    [s](get_customer& request) {
      return with_database<customer>(s->session, [&](auto& db) { return s->store.find(db, request.id); });
    },
    [s](deactivate_customer& request) {
      return with_database<customer>(s->session, [&](auto& db) { return s->store.deactivate(db, request); });
    },
    [s](health_probe) {
      return with_database<std::string>(s->session, [](auto& db) -> caf::expected<std::string> {
        db.exec("SELECT 1");
        return std::string{"up"};
      });
    },
  };
}

} // namespace customers
