// See event_json.hpp.
#include "actors/brokers/event_json.hpp"

#include <nlohmann/json.hpp>

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
  return {j.at("id"),          j.at("name"),      j.at("aggregate"), j.at("sequence"),
          j.at("correlation"), j.at("causation"), j.at("payload"),   j.at("timestamp")};
}

} // namespace brokers
