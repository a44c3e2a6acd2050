// See rabbitmq_exchange.hpp.
#include "actors/brokers/rabbitmq_exchange.hpp"

#include "actors/brokers/event_json.hpp"

#include <amqp_framing.h>

#include <cstdint>
#include <map>

namespace brokers {

std::string events_exchange(const config::bus_settings& bus) {
  return bus.key_prefix + ".events";
}

std::string dead_letter_exchange(const config::bus_settings& bus) {
  return bus.key_prefix + ".dead-letters";
}

std::string partition_queue(const config::bus_settings& bus, const std::string& consumer,
                            int partition) {
  return bus.key_prefix + "." + consumer + "." + std::to_string(partition);
}

std::string dead_letter_queue(const config::bus_settings& bus, const std::string& consumer) {
  return bus.key_prefix + "." + consumer + ".dead";
}

std::string routing_key(const std::string& event_name, int partition) {
  return event_name + "." + std::to_string(partition);
}

namespace {

amqp_table_entry_t flag(const char* key, bool value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  e.value.value.boolean = value;
  return e;
}

amqp_table_entry_t number(const char* key, std::int64_t value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = value;
  return e;
}

amqp_table_entry_t text(const char* key, const std::string& value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = amqp_bytes_of(value);
  return e;
}

void declare_exchange(rabbitmq_connection& amqp, const std::string& name, const char* type) {
  amqp_exchange_declare(amqp.state(), rabbitmq_connection::channel, amqp_bytes_of(name),
                        amqp_cstring_bytes(type), 0, 1, 0, 0, amqp_empty_table);
  amqp.check_last_rpc("RabbitMQ exchange " + name);
}

void declare_queue(rabbitmq_connection& amqp, const std::string& name,
                   std::vector<amqp_table_entry_t> arguments) {
  amqp_table_t table{int(arguments.size()), arguments.data()};
  amqp_queue_declare(amqp.state(), rabbitmq_connection::channel, amqp_bytes_of(name), 0, 1, 0, 0,
                     table);
  amqp.check_last_rpc("RabbitMQ queue " + name);
}

void bind_queue(rabbitmq_connection& amqp, const std::string& queue, const std::string& exchange,
                const std::string& key) {
  amqp_queue_bind(amqp.state(), rabbitmq_connection::channel, amqp_bytes_of(queue),
                  amqp_bytes_of(exchange), amqp_bytes_of(key), amqp_empty_table);
  amqp.check_last_rpc("RabbitMQ binding " + queue + " <- " + key);
}

} // namespace

void declare_consumer_queues(rabbitmq_connection& amqp, const config::bus_settings& bus,
                             const std::string& consumer, const std::vector<std::string>& events) {
  auto events_x = events_exchange(bus);
  auto dead_x = dead_letter_exchange(bus);
  declare_exchange(amqp, events_x, "topic");
  declare_exchange(amqp, dead_x, "direct");
  auto dead_q = dead_letter_queue(bus, consumer);
  declare_queue(amqp, dead_q, {flag("x-single-active-consumer", true)});
  bind_queue(amqp, dead_q, dead_x, consumer);
  for (int p = 0; p < bus.partitions; ++p) {
    auto queue = partition_queue(bus, consumer, p);
    // Every declaration of a queue must carry the same arguments, or RabbitMQ refuses it.
    declare_queue(amqp, queue,
                  {flag("x-single-active-consumer", true), text("x-dead-letter-exchange", dead_x),
                   text("x-dead-letter-routing-key", consumer),
                   number("x-max-length", bus.stream_maxlen + bus.stream_maxlen / 10),
                   text("x-overflow", "reject-publish")});
    for (auto& event : events)
      bind_queue(amqp, queue, events_x, routing_key(event, p));
  }
}

rabbitmq_publisher::rabbitmq_publisher(const config::bus_settings& bus, std::string module,
                                       const persistence::subscriptions& subscriptions)
    : bus_(bus), module_(std::move(module)), amqp_(bus, std::chrono::seconds{5}) {
  for (auto& [event, consumers] : subscriptions)
    for (auto& consumer : consumers) {
      events_of_consumer_[consumer].push_back(event);
      consumers_of_event_[event].push_back(consumer);
    }
}

void rabbitmq_publisher::measure_queues(bool now) {
  auto t = std::chrono::steady_clock::now();
  if (!now && t - measured_at_ < std::chrono::seconds{1})
    return;
  for (auto& [queue, depth] : depths_)
    depth = amqp_.queue_counts(queue).first;
  measured_at_ = t;
}

void rabbitmq_publisher::prepare() {
  amqp_.state();
  if (prepared_generation_ == amqp_.generation())
    return;
  // Every consumer's queues, not only those of this module's events: declaring is cheap
  // and idempotent, and a queue must exist before an event for it is published.
  for (auto& [consumer, events] : events_of_consumer_)
    declare_consumer_queues(amqp_, bus_, consumer, events);
  amqp_confirm_select(amqp_.state(), rabbitmq_connection::channel);
  amqp_.check_last_rpc("RabbitMQ confirm mode");
  next_tag_ = 1;
  prepared_generation_ = amqp_.generation();
}

void rabbitmq_publisher::publish(const std::vector<persistence::stored_event>& events) {
  prepare();
  // The queues this batch goes to, and how many messages each would get.
  std::map<std::string, long long> adding;
  for (auto& e : events)
    if (auto c = consumers_of_event_.find(e.event_name); c != consumers_of_event_.end())
      for (auto& consumer : c->second)
        ++adding[partition_queue(bus_, consumer, partition_of(e.aggregate_id, bus_.partitions))];
  bool unknown = false;
  for (auto& [queue, n] : adding)
    unknown |= depths_.emplace(queue, 0).second;
  measure_queues(unknown);
  for (auto& [queue, n] : adding)
    if (depths_[queue] + n > bus_.stream_maxlen)
      throw broker_refused("queue " + queue + " is full (" + std::to_string(depths_[queue]) +
                           " messages, app.bus.stream-maxlen): its consumer has not taken them");
  auto exchange = events_exchange(bus_);
  std::set<std::uint64_t> outstanding;
  for (auto& e : events) {
    auto key = routing_key(e.event_name, partition_of(e.aggregate_id, bus_.partitions));
    auto body = envelope_json(e);
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_TYPE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = amqp_bytes_of(e.id);
    props.app_id = amqp_bytes_of(module_);
    props.type = amqp_bytes_of(e.event_name);
    amqp_.check_status(amqp_basic_publish(amqp_.state(), rabbitmq_connection::channel,
                                          amqp_bytes_of(exchange), amqp_bytes_of(key), 0, 0, &props,
                                          amqp_bytes_of(body)),
                       "RabbitMQ publish");
    outstanding.insert(next_tag_++);
  }
  await_confirms(outstanding);
  for (auto& [queue, n] : adding) // counted until the next measurement
    depths_[queue] += n;
}

// Reads the channel's confirms until every tag we published is acknowledged. A nack (the
// broker could not store a message) fails the batch: the relay publishes it again later.
void rabbitmq_publisher::await_confirms(std::set<std::uint64_t>& outstanding) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  bool refused = false;
  while (!outstanding.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      amqp_.disconnect();
      throw broker_unavailable("RabbitMQ: no publisher confirm within 5 s");
    }
    timeval tv{long(left.count() / 1000000), long(left.count() % 1000000)};
    amqp_frame_t frame;
    int status = amqp_simple_wait_frame_noblock(amqp_.state(), &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT)
      continue;
    amqp_.check_status(status, "RabbitMQ confirms");
    amqp_.throw_if_closing(frame);
    if (frame.frame_type != AMQP_FRAME_METHOD)
      continue;
    std::uint64_t tag = 0;
    bool multiple = false;
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      tag = ack->delivery_tag;
      multiple = ack->multiple;
    } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      tag = nack->delivery_tag;
      multiple = nack->multiple;
      refused = true;
    } else {
      continue;
    }
    if (multiple)
      outstanding.erase(outstanding.begin(), outstanding.upper_bound(tag));
    else
      outstanding.erase(tag);
  }
  if (refused)
    throw broker_refused("RabbitMQ did not take every event (publisher nack: a queue is full)");
}

void rabbitmq_publisher::ping() {
  prepare();
  // A round trip: a passive declare of our exchange answers only if the broker is there.
  amqp_exchange_declare(amqp_.state(), rabbitmq_connection::channel,
                        amqp_bytes_of(events_exchange(bus_)), amqp_cstring_bytes("topic"), 1, 0, 0,
                        0, amqp_empty_table);
  amqp_.check_last_rpc("RabbitMQ ping");
  measure_queues(false);
}

} // namespace brokers
