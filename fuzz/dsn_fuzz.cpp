// The DSN of a module role, derived from the bootstrap DSN (persistence/dsn.cpp): any
// DSN text and role name (split at the first NUL byte), never a crash, and the derived
// DSN names the same database, as that role; describing a DSN's server never crashes.
#include "persistence/dsn.hpp"
#include "persistence/pg.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto split = input.find('\0');
  auto dsn = input.substr(0, split);
  auto role = split == std::string::npos ? std::string{"app_role"} : input.substr(split + 1);
  if (role.find('\0') != std::string::npos)
    return 0; // a C string cannot hold it, nor a role name
  try {
    persistence::default_role_prefix(dsn);
    persistence::describe_server(dsn);
    auto derived = persistence::dsn_for_role(dsn, role);
    if (persistence::database_name(derived) != persistence::database_name(dsn))
      std::abort();
  } catch (const persistence::pg_error&) {
    // not a DSN: the node refuses to start, naming the configuration key
  }
  return 0;
}
