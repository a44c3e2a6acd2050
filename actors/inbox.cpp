// See inbox.hpp.
#include "actors/inbox.hpp"

caf::expected<delivery_ack> consume_once(persistence::pg_session& session, const std::string& schema,
                                         const delivery& d, const event_handler& handle) {
  try {
    auto& db = session.connection();
    persistence::pg_transaction tx{db};
    auto fresh = db.exec("INSERT INTO " + schema +
                           ".inbox (consumer, event_id) VALUES ($1, $2::uuid) "
                           "ON CONFLICT DO NOTHING RETURNING 1",
                         {d.consumer, d.event.id});
    if (!fresh.empty())
      if (auto err = handle(db, d.event))
        return err; // rolled back with the inbox row: retried later
    tx.commit();
    return delivery_ack{d.consumer, d.event.id};
  } catch (const persistence::pg_error& e) {
    if (e.connection_lost()) {
      session.discard();
      return unavailable_error();
    }
    logging::error("consumer failed", {{"consumer", d.consumer}, {"event", d.event.id},
                                        {"sqlstate", e.sqlstate()}, {"error", e.what()}});
    return make_app_error(app_error::internal, "CONSUMER_FAILED", "database error " + e.sqlstate());
  } catch (const std::exception& e) {
    // A consumer that throws must not take its worker down: the delivery is retried and
    // eventually dead-lettered with this text for operators.
    logging::error("consumer threw", {{"consumer", d.consumer}, {"event", d.event.id}, {"error", e.what()}});
    return make_app_error(app_error::internal, "CONSUMER_FAILED", e.what());
  }
}
