// Where notifications leave the system (an email or SMS service, say). A sender
// cannot join a database transaction, so delivery is at least once: every message
// carries its notification id, and a receiver recognises a repeat by it.
#pragma once

#include "modules/notifications/api.hpp"

#include <memory>
#include <string>
#include <vector>

namespace notifications {

class notification_sender {
public:
  virtual ~notification_sender() = default;
  // Hands the messages on; throws std::runtime_error when it could not (then none of
  // them counts as sent, and all are tried again).
  virtual void send(const std::vector<notification>& batch) = 0;
};

// Appends one JSON line per message to a file (app.notifications.outbox-file), flushed
// to disk before the message counts as sent.
std::unique_ptr<notification_sender> make_file_sender(const std::string& path);

} // namespace notifications
