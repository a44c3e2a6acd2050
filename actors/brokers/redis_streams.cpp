// See redis_streams.hpp.
#include "actors/brokers/redis_streams.hpp"

#include <cstdint>
#include <map>

namespace brokers {

std::string stream_key(const config::bus_settings& bus, const std::string& publisher,
                       int partition) {
  return bus.key_prefix + ":events:" + publisher + ":" + std::to_string(partition);
}

std::vector<std::string> envelope_fields(const persistence::stored_event& e) {
  return {"id",          e.id,
          "name",        e.event_name,
          "aggregate",   e.aggregate_id,
          "sequence",    std::to_string(e.sequence),
          "correlation", e.correlation_id,
          "causation",   e.causation_id,
          "payload",     e.payload,
          "timestamp",   e.created_at};
}

event_envelope envelope_of(const redis_value& fields) {
  std::map<std::string, std::string> f;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    f[fields[i].str()] = fields[i + 1].str();
  auto at = [&f](const char* name) -> const std::string& {
    auto found = f.find(name);
    if (found == f.end())
      throw std::runtime_error(std::string{"stream entry without field "} + name);
    return found->second;
  };
  return {at("id"),          at("name"),      at("aggregate"), std::stoll(at("sequence")),
          at("correlation"), at("causation"), at("payload"),   at("timestamp")};
}

redis_publisher::redis_publisher(config::bus_settings bus, std::string module)
    : bus_(std::move(bus)), module_(std::move(module)),
      redis_({bus_.redis_host, bus_.redis_port}, std::chrono::seconds{5}) {}

void redis_publisher::publish(const std::vector<persistence::stored_event>& events) {
  std::vector<std::vector<std::string>> commands;
  for (auto& e : events) {
    std::vector<std::string> args{
        "XADD",
        stream_key(bus_, module_, partition_of(e.aggregate_id, bus_.partitions)),
        "MAXLEN",
        "~",
        std::to_string(bus_.stream_maxlen),
        "*"};
    auto fields = envelope_fields(e);
    args.insert(args.end(), fields.begin(), fields.end());
    commands.push_back(std::move(args));
  }
  for (auto& outcome : redis_.pipeline(commands))
    if (!outcome.error.empty())
      throw redis_error(outcome.error);
}

} // namespace brokers

namespace brokers {

void redis_publisher::ping() {
  redis_.command({"PING"});
}

} // namespace brokers
