// See event_json.hpp.
#include "actors/brokers/event_json.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace brokers {

std::string envelope_json(const persistence::stored_event& e) {
  return nlohmann::json{{"id", e.id},
                        {"name", e.event_name},
                        {"aggregate", e.aggregate_id},
                        {"sequence", e.sequence},
                        {"correlation", e.correlation_id},
                        {"causation", e.causation_id},
                        {"payload", e.payload},
                        {"timestamp", e.created_at}}
      .dump();
}

event_envelope envelope_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  auto& sequence = j.at("sequence");
  if (!sequence.is_number_integer()) // a float's conversion could overflow
    throw std::invalid_argument("event envelope: the sequence is not an integer");
  return {j.at("id"),          j.at("name"),      j.at("aggregate"), sequence.get<int64_t>(),
          j.at("correlation"), j.at("causation"), j.at("payload"),   j.at("timestamp")};
}

} // namespace brokers
