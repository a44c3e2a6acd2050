// See broker.hpp: the partitioning every backend shares, and the one place that knows
// which backends exist.
#include "actors/brokers/broker.hpp"

#include "actors/brokers/nats_jetstream.hpp"
#include "actors/brokers/nats_reader.hpp"
#include "actors/brokers/rabbitmq_exchange.hpp"
#include "actors/brokers/rabbitmq_reader.hpp"
#include "actors/brokers/redis_reader.hpp"
#include "actors/brokers/redis_streams.hpp"

#include <cstdint>
#include <set>

namespace brokers {

int partition_of(const std::string& aggregate_id, int partitions) {
  std::uint32_t hash = 2166136261u; // FNV-1a
  for (unsigned char c : aggregate_id) {
    hash ^= c;
    hash *= 16777619u;
  }
  return int(hash % std::uint32_t(partitions));
}

std::unique_ptr<event_publisher> make_publisher(const config::bus_settings& bus,
                                                const std::string& module,
                                                const persistence::subscriptions& subscriptions,
                                                const std::vector<std::string>& publishes) {
  // The consumers that read this module's events: a broker keeps an entry until each of
  // them has it.
  std::set<std::string> readers;
  for (auto& event : publishes)
    if (auto found = subscriptions.find(event); found != subscriptions.end())
      readers.insert(found->second.begin(), found->second.end());
  std::vector<std::string> consumers{readers.begin(), readers.end()};
  if (bus.backend == "redis")
    return std::make_unique<redis_publisher>(bus, module, consumers);
  if (bus.backend == "nats")
    return std::make_unique<nats_publisher>(bus, module, consumers);
  if (bus.backend == "rabbitmq")
    return std::make_unique<rabbitmq_publisher>(bus, module, subscriptions);
  throw std::logic_error("no publisher for bus backend " + bus.backend);
}

caf::actor spawn_reader(caf::actor_system& sys, reader_config cfg) {
  if (cfg.bus.backend == "redis")
    return spawn_redis_reader(sys, std::move(cfg));
  if (cfg.bus.backend == "nats")
    return spawn_nats_reader(sys, std::move(cfg));
  if (cfg.bus.backend == "rabbitmq")
    return spawn_rabbitmq_reader(sys, std::move(cfg));
  throw std::logic_error("no reader for bus backend " + cfg.bus.backend);
}

} // namespace brokers
