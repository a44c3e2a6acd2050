// Versioned schema changes. Each module keeps its SQL in modules/<m>/migrations/
// (NNN_name.sql); the build embeds them as <m>::migrations().
#pragma once

#include <string>
#include <vector>

namespace persistence {

struct migration {
  int version;
  const char* name;
  const char* sql;
};

// What one module needs from the database: its schema, its role, its migrations.
struct module_schema {
  std::string schema; // == module name
  std::string role;   // <role-prefix><module>
  std::vector<migration> migrations;
};

// Creates each module's role and schema and applies pending migrations as that role,
// under one advisory lock so that nodes starting together do not race. Framework tables
// (the outbox) come first. Throws pg_error; refuses when an applied migration's text
// has changed since it was applied.
void migrate(const std::string& bootstrap_dsn, const std::vector<module_schema>& modules);

} // namespace persistence
