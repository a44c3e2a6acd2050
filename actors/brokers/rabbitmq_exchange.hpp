// How events sit in RabbitMQ (backend `rabbitmq`):
// - one durable topic exchange `<prefix>.events`; a message's routing key is its event
//   name and partition (`order.created.3`, the partition chosen by aggregate id with
//   broker.hpp's partition_of), its body the envelope as JSON, its message id the event id
//   and its app id the publishing module;
// - per consumer and partition, a durable single-active-consumer queue
//   `<prefix>.<consumer>.<partition>` bound to the consumer's events of that partition: one
//   reader at a time per partition, in queue order, across every node;
// - a message the consumer gave up on (rejected) or that expired goes to the dead-letter
//   exchange `<prefix>.dead-letters`, which routes it by consumer name to the queue
//   `<prefix>.<consumer>.dead`; the consumer's reader hands it to the dead-letter table.
// Declarations are idempotent: the relay declares every consumer's queues before its first
// publish (so that no event is dropped for want of a queue, whichever node starts first),
// and each reader declares its own.
#pragma once

#include "actors/brokers/broker.hpp"
#include "actors/brokers/rabbitmq_connection.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace brokers {

std::string events_exchange(const config::bus_settings& bus);
std::string dead_letter_exchange(const config::bus_settings& bus);
std::string partition_queue(const config::bus_settings& bus, const std::string& consumer,
                            int partition);
std::string dead_letter_queue(const config::bus_settings& bus, const std::string& consumer);
std::string routing_key(const std::string& event_name, int partition);

// Declares both exchanges, and the consumer's partition queues (with their bindings) and
// dead-letter queue.
void declare_consumer_queues(rabbitmq_connection& amqp, const config::bus_settings& bus,
                             const std::string& consumer, const std::vector<std::string>& events);

// Publishes a module's events with publisher confirms: returns only once RabbitMQ has
// confirmed every one (the relay marks them published after that).
//
// Retention without loss: a partition queue holds at most app.bus.stream-maxlen ready
// messages. The publisher measures the depth of the queues its events go to about once a
// second and refuses a batch that would take one past it (broker_refused, naming the
// queue): the events stay pending in the outbox, in order. The configuration keeps
// app.bus.stream-maxlen >= app.relay.batch-size, so an empty queue takes any batch.
// RabbitMQ itself refuses (x-overflow = reject-publish, a nack) only a tenth beyond, as a backstop
// for depths measured too long ago; it never drops a message a consumer has not taken.
class rabbitmq_publisher : public event_publisher {
public:
  rabbitmq_publisher(const config::bus_settings& bus, std::string module,
                     const persistence::subscriptions& subscriptions);
  void publish(const std::vector<persistence::stored_event>& events) override;
  void ping() override;

private:
  void prepare(); // a new connection: topology and confirm mode
  void await_confirms(std::set<std::uint64_t>& outstanding);
  // Measures the depths of the queues this module's events go to, when a second passed.
  void measure_queues(bool now);

  config::bus_settings bus_;
  std::string module_;
  std::map<std::string, std::vector<std::string>> events_of_consumer_;
  std::map<std::string, std::vector<std::string>> consumers_of_event_;
  std::map<std::string, long long> depths_; // ready messages per queue, as last measured
  std::chrono::steady_clock::time_point measured_at_{};
  rabbitmq_connection amqp_;
  std::uint64_t prepared_generation_ = 0;
  std::uint64_t next_tag_ = 1; // publisher confirms count per channel, from 1
};

} // namespace brokers
