// The event bus, backend `actors`: routes each delivery to the module that owns its
// consumer ("inventory.order-events" -> module inventory), wherever the directory says
// that module runs. Delivery tracking, retries and ordering live in the publishing
// module's relay (outbox_relay.hpp); the bus only finds the consumer and forwards, so a
// slow or missing consumer never holds up deliveries to others.
#pragma once

#include "actors/event_delivery.hpp"
#include "actors/trusted_nodes.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

// Serves deliveries from this node and its peers only (`trusted`; null: from anyone).
consumer_api spawn_event_bus(caf::actor_system& sys, caf::actor directory,
                             std::shared_ptr<const trusted_nodes> trusted = nullptr);
