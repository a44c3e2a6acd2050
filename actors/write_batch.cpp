// See write_batch.hpp.
#include "actors/write_batch.hpp"

#include <algorithm>

bool write_batch::mark_expired() {
  bool marked = false;
  for (auto& c : commands_)
    if (!c.broke && !c.expired && c.deadline.passed())
      marked = c.expired = true;
  return marked;
}

bool write_batch::run_once(persistence::pg_connection& db) {
  mark_expired();
  if (std::all_of(commands_.begin(), commands_.end(),
                  [](const command& c) { return c.broke || c.expired; }))
    return true;
  persistence::pg_transaction tx{db};
  for (auto& c : commands_) {
    if (c.broke || c.expired)
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
  if (mark_expired())
    return false; // rolled back as `tx` goes
  tx.commit();
  return true;
}

void write_batch::flush(persistence::pg_session& session) {
  caf::error failure;
  int deadlocks = 0;
  for (;;) {
    try {
      if (run_once(session.connection()))
        break;
      continue; // without the commands whose callers gave up
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
    else if (c.expired)
      c.fail(unavailable_error());
    else if (failure)
      c.fail(failure);
    else
      c.answer();
  }
  commands_.clear();
}
