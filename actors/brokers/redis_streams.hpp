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

#include <chrono>
#include <map>
#include <set>
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
//
// Retention without loss: an entry leaves a stream only once every consumer group that
// must read it has read and acknowledged it. The publisher creates those groups itself
// (before its first entry: a group created later would have missed what was trimmed),
// and about once a second trims each stream below the oldest entry some group still
// needs (XTRIM MINID: below every group's oldest pending entry and its last-read one).
// A stream still holding app.bus.stream-maxlen entries after that is full: a consumer is
// far behind or gone, and the publisher refuses the batch (broker_refused, naming the
// group) instead of dropping anything; the events stay pending in the outbox.
class redis_publisher : public event_publisher {
public:
  // `consumers`: the consumer groups that read this module's events.
  redis_publisher(config::bus_settings bus, std::string module, std::vector<std::string> consumers);
  void publish(const std::vector<persistence::stored_event>& events) override;
  void ping() override;

private:
  // Creates the groups, trims every stream and records its length, when a second passed.
  void keep_streams();
  // Throws broker_refused, naming the stream and the group holding it, if adding this many
  // entries (by partition) would take a stream past app.bus.stream-maxlen. The configuration
  // keeps the limit at least app.relay.batch-size, so an empty stream takes any batch.
  void refuse_if_full(const std::map<std::size_t, int64_t>& adding) const;

  config::bus_settings bus_;
  std::string module_;
  std::vector<std::string> consumers_;
  redis_connection redis_;
  std::vector<std::string> keys_;     // by partition
  std::vector<long long> lengths_;    // by partition, as of the last pass
  std::vector<std::string> laggards_; // by partition: the group holding the oldest entry
  std::chrono::steady_clock::time_point kept_at_{};
};

} // namespace brokers
