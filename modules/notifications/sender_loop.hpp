// The notification sender loop: hands the notifications queued in `unsent` to the sender
// (oldest first, in batches) and then takes them off the queue. A crash between the two sends a
// batch again: at least once, each message carrying its notification id.
#pragma once

#include "actors/module_definition.hpp"

namespace notifications {

caf::actor spawn_sender_loop(caf::actor_system& sys, const module_context& ctx);

} // namespace notifications
