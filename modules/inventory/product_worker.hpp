// A detached actor that owns one database connection (as the inventory role) and
// serves the inventory interface from it. Blocking by design: it has its own thread.
#pragma once

#include "modules/inventory/api.hpp"

#include <string>

namespace inventory {

service::behavior_type product_worker(service::pointer self, std::string dsn);

} // namespace inventory
