// A detached actor that owns one database connection (as the orders role) and serves the
// orders interface from it: lookups in batches, commands in group commits.
#pragma once

#include "modules/orders/api.hpp"

#include "actors/inbox.hpp"
#include "actors/lookup_batch.hpp"
#include "actors/set_batch.hpp"
#include "actors/write_batch.hpp"
#include "persistence/outbox.hpp"

#include <string>

namespace orders {

// Asks whether an Idempotency-Key already created an order (answered with the replay,
// or with a not_found error when the key is new).
struct find_replay {
  place_order request;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, find_replay& x) {
  return f(caf::meta::type_name("orders.find_replay"), x.request);
}

// The service's interface plus what only the service asks of its workers.
using worker =
    service::extend<caf::replies_to<find_replay>::with<placed_order>,
                    caf::reacts_to<flush_lookups_atom>, caf::reacts_to<flush_writes_atom>,
                    caf::reacts_to<flush_inbox_atom>, caf::reacts_to<flush_set_atom>>;

worker::behavior_type order_worker(worker::pointer self, std::string dsn,
                                   persistence::outbox_hooks outbox_hooks);

} // namespace orders
