// A detached actor that owns one database connection (as the customers role) and
// serves the customers interface from it. Blocking by design: it has its own thread.
#pragma once

#include "modules/customers/api.hpp"

#include "actors/lookup_batch.hpp"
#include "actors/write_batch.hpp"
#include "persistence/outbox.hpp"

#include <string>

namespace customers {

// The service's interface plus the worker's own flushes of batched lookups and writes.
using worker =
    service::extend<caf::reacts_to<flush_lookups_atom>, caf::reacts_to<flush_writes_atom>>;

worker::behavior_type customer_worker(worker::pointer self, std::string dsn,
                                      persistence::outbox_hooks outbox_hooks);

} // namespace customers
