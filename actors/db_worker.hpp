// Runs one unit of database work for a detached worker actor (one connection each,
// never on CAF's shared scheduler) and turns database failures into app errors:
// an unreachable server is UNAVAILABLE (503) and the connection is replaced on the next
// call; anything else is INTERNAL, logged with its SQLSTATE and never shown to clients.
#pragma once

#include "actors/app_error.hpp"
#include "actors/command_deadline.hpp"
#include "actors/log.hpp"
#include "actors/lookup_batch.hpp"
#include "persistence/pg.hpp"

#include <caf/expected.hpp>

template <class T, class Work>
caf::expected<T> with_database(persistence::pg_session& session, Work&& work) {
  try {
    return work(session.connection());
  } catch (const persistence::pg_error& e) {
    if (e.connection_lost()) {
      session.discard();
      logging::warn("database unreachable", {{"error", e.what()}});
      return unavailable_error();
    }
    logging::error("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
    return make_app_error(app_error::internal, "INTERNAL", "internal error");
  }
}

// A command alone in its own transaction, within its caller's deadline: not begun once the
// deadline has passed, rolled back (UNAVAILABLE) if it passes before COMMIT. `work`
// returns an error value only before it has written anything.
template <class T, class Work>
caf::expected<T> command_in_transaction(persistence::pg_session& session,
                                        const command_deadline& deadline, Work&& work) {
  if (deadline.passed())
    return unavailable_error();
  return with_database<T>(session, [&](persistence::pg_connection& db) -> caf::expected<T> {
    persistence::pg_transaction tx{db};
    auto result = work(db);
    if (!result)
      return result;
    if (deadline.passed())
      return unavailable_error();
    tx.commit();
    return result;
  });
}

// The health probe every module worker answers: its connection reaches the database and
// its module's schema is there (a module pointed at a database it was never migrated on,
// or whose data was moved away, is not up): "up", else UNAVAILABLE, with the code
// SCHEMA_MISSING for a missing schema.
inline caf::expected<std::string> database_health(persistence::pg_session& session,
                                                  const std::string& schema) {
  return with_database<std::string>(
      session, [&schema](persistence::pg_connection& db) -> caf::expected<std::string> {
        auto found = db.exec("SELECT to_regclass($1) IS NOT NULL", {schema + ".schema_migrations"});
        if (!found.boolean(0, 0))
          return make_app_error(app_error::unavailable, "SCHEMA_MISSING",
                                "the module's schema is missing from its database");
        return std::string{"up"};
      });
}

// Answers every lookup queued in `lookups` with one query, `find_many(db, keys)` returning
// the rows found by key; a key without a row gets `missing`.
template <class T, class FindMany>
void flush_lookups(lookup_batch<T>& lookups, persistence::pg_session& session, FindMany&& find_many,
                   const caf::error& missing) {
  auto keys = lookups.keys();
  auto found = with_database<std::map<std::string, T>>(
      session, [&](persistence::pg_connection& db) { return find_many(db, keys); });
  if (found)
    lookups.deliver(*found, missing);
  else
    lookups.fail(found.error());
}
