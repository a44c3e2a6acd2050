// A detached actor that owns one database connection (as the notifications role): it
// records notifications from order events and answers queries.
#pragma once

#include "modules/notifications/api.hpp"

#include "actors/inbox.hpp"

#include <string>

namespace notifications {

// The service's interface plus the worker's own flush of batched deliveries.
using worker = service::extend<caf::reacts_to<flush_inbox_atom>>;

worker::behavior_type notification_worker(worker::pointer self, std::string dsn);

} // namespace notifications
