// A detached actor that owns one database connection (as the customers role) and
// serves the customers interface from it. Blocking by design: it has its own thread.
#pragma once

#include "modules/customers/api.hpp"

#include <string>

namespace customers {

service::behavior_type customer_worker(service::pointer self, std::string dsn);

} // namespace customers
