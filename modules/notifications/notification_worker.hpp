// A detached actor that owns one database connection (as the notifications role): it
// records notifications from order events and answers queries.
#pragma once

#include "modules/notifications/api.hpp"

#include <string>

namespace notifications {

service::behavior_type notification_worker(service::pointer self, std::string dsn);

} // namespace notifications
