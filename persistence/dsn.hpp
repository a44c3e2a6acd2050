// Derives the DSNs of module roles from the bootstrap DSN (docs/architecture.md "Rules": a role per
// module).
#pragma once

#include <string>

namespace persistence {

// Each throws pg_error ("not a valid DSN: ...") when libpq cannot parse `dsn`.

// The database a DSN names (libpq's default: the user name).
std::string database_name(const std::string& dsn);

// "<database>_" made safe for a role name: lower case, [a-z0-9_] only.
std::string default_role_prefix(const std::string& dsn);

// The same server and database as `dsn`, as `role`, without the bootstrap password.
std::string dsn_for_role(const std::string& dsn, const std::string& role);

// "host:port/database" of a DSN, for operators (/ready, the topology): never the password.
std::string describe_server(const std::string& dsn);

} // namespace persistence
