// Applies framework and module migrations (see migration.hpp). Runs once at start, on
// the main thread, before any actor touches the database.
#include "persistence/framework_tables.hpp"
#include "persistence/migration.hpp"
#include "persistence/pg.hpp"

#include <regex>

namespace persistence {

namespace {

// Any fixed number: all nodes of one database serialise their migrations on it.
constexpr int64_t migration_lock_key = 0x6d6f6e6f6c697468; // "monolith"

void check_name(const std::string& what, const std::string& name) {
  static const std::regex safe{"[a-z_][a-z0-9_]{0,62}"};
  if (!std::regex_match(name, safe))
    throw pg_error(what + " name is not a plain identifier: " + name, "42602", "", false);
}

void ensure_role_and_schema(pg_connection& db, const module_schema& m) {
  check_name("schema", m.schema);
  check_name("role", m.role);
  auto role = db.quote_identifier(m.role);
  auto schema = db.quote_identifier(m.schema);
  // A module whose data scripts/move-module-data moved to another database leaves its
  // schema renamed behind: starting it afresh here would split its data in two.
  if (db.exec("SELECT 1 FROM pg_namespace WHERE nspname = $1", {m.schema}).empty()) {
    auto moved = db.exec("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1 "
                         "DESC LIMIT 1",
                         {m.schema + "\\_moved\\_%"});
    if (!moved.empty())
      throw pg_error("the data of module " + m.schema +
                         " was moved to another database (left behind here as schema " +
                         moved.string(0, 0) + "): set app.module-database." + m.schema +
                         " to the database it lives in now",
                     "42000", "", false);
  }
  if (db.exec("SELECT 1 FROM pg_roles WHERE rolname = $1", {m.role}).empty())
    db.exec("CREATE ROLE " + role + " LOGIN");
  // The bootstrap role must be able to act as the module role to create its objects.
  db.exec("GRANT " + role + " TO CURRENT_USER");
  db.exec("CREATE SCHEMA IF NOT EXISTS " + schema + " AUTHORIZATION " + role);
  db.exec("REVOKE ALL ON SCHEMA " + schema + " FROM PUBLIC");
  db.exec("CREATE TABLE IF NOT EXISTS " + schema +
          ".schema_migrations (component text NOT NULL, version int NOT NULL, name text NOT "
          "NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
          "PRIMARY KEY (component, version))");
  db.exec("ALTER TABLE " + schema + ".schema_migrations OWNER TO " + role);
}

void apply(pg_connection& db, const module_schema& m, const std::string& component, int version,
           const std::string& name, const std::string& sql) {
  auto schema = db.quote_identifier(m.schema);
  auto applied = db.exec("SELECT checksum = md5($3) FROM " + schema +
                             ".schema_migrations WHERE component = $1 AND version = $2",
                         {component, version, sql});
  if (!applied.empty()) {
    if (!applied.boolean(0, 0))
      throw pg_error("migration " + m.schema + "/" + name +
                         " was changed after it was applied; "
                         "add a new migration instead",
                     "42000", "", false);
    return;
  }
  pg_transaction tx{db};
  db.exec("SET LOCAL ROLE " + db.quote_identifier(m.role));
  db.exec_script(sql);
  db.exec(
      "INSERT INTO " + schema +
          ".schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, md5($4))",
      {component, version, name, sql});
  tx.commit();
}

} // namespace

void migrate(const std::string& bootstrap_dsn, const std::vector<module_schema>& modules) {
  pg_connection db{bootstrap_dsn};
  db.exec("SELECT pg_advisory_lock($1)", {migration_lock_key});
  try {
    for (auto& m : modules) {
      ensure_role_and_schema(db, m);
      for (auto& f : framework_migrations(m.schema))
        apply(db, m, "framework", f.version, f.name, f.sql);
      for (auto& mig : m.migrations)
        apply(db, m, "module", mig.version, mig.name, mig.sql);
    }
  } catch (...) {
    db.exec("SELECT pg_advisory_unlock($1)", {migration_lock_key});
    throw;
  }
  db.exec("SELECT pg_advisory_unlock($1)", {migration_lock_key});
}

} // namespace persistence
