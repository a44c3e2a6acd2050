// See broker.hpp: the one place that knows which backends exist.
#include "actors/brokers/broker.hpp"

#include "actors/brokers/nats_jetstream.hpp"
#include "actors/brokers/nats_reader.hpp"
#include "actors/brokers/redis_reader.hpp"
#include "actors/brokers/redis_streams.hpp"

namespace brokers {

std::unique_ptr<event_publisher> make_publisher(const config::bus_settings& bus,
                                                const std::string& module) {
  if (bus.backend == "redis")
    return std::make_unique<redis_publisher>(bus, module);
  if (bus.backend == "nats")
    return std::make_unique<nats_publisher>(bus, module);
  throw std::logic_error("no publisher for bus backend " + bus.backend);
}

caf::actor spawn_reader(caf::actor_system& sys, reader_config cfg) {
  if (cfg.bus.backend == "redis")
    return spawn_redis_reader(sys, std::move(cfg));
  if (cfg.bus.backend == "nats")
    return spawn_nats_reader(sys, std::move(cfg));
  throw std::logic_error("no reader for bus backend " + cfg.bus.backend);
}

} // namespace brokers
