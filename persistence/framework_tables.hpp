// Tables every module schema has, whatever the module: its outbox, the relay's delivery
// tracking and lease, and the inbox of its consumers. They are versioned
// like a module's own migrations, under the component name "framework".
#pragma once

#include <string>
#include <vector>

namespace persistence {

struct framework_migration {
  int version;
  const char* name;
  std::string sql; // with the schema name filled in
};

std::vector<framework_migration> framework_migrations(const std::string& schema);

} // namespace persistence
