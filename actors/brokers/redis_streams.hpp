// How events sit in Redis Streams (backend `redis`): one stream per (publishing module,
// partition), the partition chosen by aggregate id so that one aggregate's events stay in
// one stream, in order; each entry carries the event envelope as fields. The relay
// appends (redis_publisher); one reader per (consumer, stream) takes them out
// (redis_reader.hpp).
#pragma once

#include "actors/brokers/redis_connection.hpp"
#include "actors/event_delivery.hpp"
#include "config/app_settings.hpp"
#include "persistence/relay_store.hpp"

#include <string>
#include <vector>

namespace brokers {

std::string stream_key(const config::bus_settings& bus, const std::string& publisher,
                       int partition);

// Entry fields <-> envelope. Throws std::runtime_error on an entry that lacks a field.
std::vector<std::string> envelope_fields(const persistence::stored_event& e);
event_envelope envelope_of(const redis_value& fields);

// Appends a module's events to its streams, and returns only once Redis has them (the
// relay marks them published after that). Throws redis_unavailable or redis_error.
class redis_publisher : public event_publisher {
public:
  redis_publisher(config::bus_settings bus, std::string module);
  void publish(const std::vector<persistence::stored_event>& events) override;
  void ping() override;

private:
  config::bus_settings bus_;
  std::string module_;
  redis_connection redis_;
};

} // namespace brokers
