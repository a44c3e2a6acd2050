// A detached actor that owns one database connection (as the inventory role) and
// serves the inventory interface from it. Blocking by design: it has its own thread.
#pragma once

#include "modules/inventory/api.hpp"

#include "actors/inbox.hpp"
#include "actors/lookup_batch.hpp"
#include "persistence/outbox.hpp"

#include <string>

namespace inventory {

// The service's interface plus the worker's own flushes of batched lookups and deliveries.
using worker =
    service::extend<caf::reacts_to<flush_lookups_atom>, caf::reacts_to<flush_inbox_atom>>;

worker::behavior_type product_worker(worker::pointer self, std::string dsn,
                                     persistence::outbox_hooks outbox_hooks);

} // namespace inventory
