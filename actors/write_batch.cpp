// See write_batch.hpp.
#include "actors/write_batch.hpp"

void write_batch::run_once(persistence::pg_connection& db) {
  persistence::pg_transaction tx{db};
  for (auto& c : commands_) {
    if (c.broke)
      continue;
    try {
      c.run(db);
      db.flush_deferred(); // a deferred write's failure belongs to this command
    } catch (const persistence::pg_error& e) {
      if (!e.connection_lost() && !e.is_retryable()) {
        logging::error("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
        c.broke = true;
      }
      throw;
    }
  }
  tx.commit();
}

void write_batch::flush(persistence::pg_session& session) {
  caf::error failure;
  int deadlocks = 0;
  for (;;) {
    try {
      run_once(session.connection());
      break;
    } catch (const persistence::pg_error& e) {
      if (e.connection_lost()) {
        session.discard();
        logging::warn("database unreachable", {{"error", e.what()}});
        failure = unavailable_error();
        break;
      }
      if (e.is_retryable() && ++deadlocks < 3)
        continue;
      bool one_command_broke = !e.is_retryable(); // it was marked: run the rest again
      if (!one_command_broke) {
        logging::error("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
        failure = make_app_error(app_error::internal, "INTERNAL", "internal error");
        break;
      }
    }
  }
  auto internal = make_app_error(app_error::internal, "INTERNAL", "internal error");
  for (auto& c : commands_) {
    if (c.broke)
      c.fail(internal);
    else if (failure)
      c.fail(failure);
    else
      c.answer();
  }
  commands_.clear();
}
