// The event envelope as the brokers that carry one opaque body per message (NATS,
// RabbitMQ) hold it: a JSON object with the envelope's fields.
#pragma once

#include "actors/event_delivery.hpp"
#include "persistence/relay_store.hpp"

#include <string>

namespace brokers {

std::string envelope_json(const persistence::stored_event& e);
// Throws (nlohmann::json's exceptions, std::invalid_argument) on a body that is not such
// an object.
event_envelope envelope_from_json(const std::string& text);

} // namespace brokers
