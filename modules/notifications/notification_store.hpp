// The notifications module's SQL. Runs on detached workers' connections only.
#pragma once

#include "modules/notifications/api.hpp"

#include "persistence/pg.hpp"

#include <caf/error.hpp>

#include <vector>

namespace notifications {

// A batch from the sender's queue: the messages, and their queue positions to take off
// the queue once the messages have been handed on.
struct unsent_batch {
  std::vector<notification> messages;
  std::vector<std::string> positions;
  int64_t last_position = 0;
};

class notification_store {
public:
  // Consumer notifications.order-events: one notification per (event, template), for a
  // batch of events at once.
  caf::error record(persistence::pg_connection& db,
                    const std::vector<const event_envelope*>& events);
  std::vector<notification> list(persistence::pg_connection& db, const list_notifications& request);
  // Oldest first, for the sender.
  // Up to `limit` queued messages after position `after`, oldest first.
  unsent_batch unsent(persistence::pg_connection& db, int64_t after, int limit);
  void mark_sent(persistence::pg_connection& db, const unsent_batch& sent);
};

} // namespace notifications
