// See product_worker.hpp.
#include "product_worker.hpp"

#include "product_store.hpp"

#include "actors/db_worker.hpp"

#include <memory>

namespace inventory {

service::behavior_type product_worker(service::pointer, std::string dsn) {
  struct state {
    persistence::pg_session session;
    product_store store;
  };
  auto s = std::make_shared<state>(state{persistence::pg_session{std::move(dsn)}, {}});
  return {
    [s](create_product& request) {
      return with_database<product>(s->session, [&](auto& db) { return s->store.create(db, request); });
    },
    [s](get_product& request) {
      return with_database<product>(s->session, [&](auto& db) { return s->store.find(db, request.id); });
    },
    [s](restock_product& request) {
      return with_database<product>(s->session, [&](auto& db) { return s->store.restock(db, request); });
    },
    [s](health_probe) {
      return with_database<std::string>(s->session, [](auto& db) -> caf::expected<std::string> {
        db.exec("SELECT 1");
        return std::string{"up"};
      });
    },
  };
}

} // namespace inventory
