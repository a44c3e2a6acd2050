// How events sit in NATS JetStream (backend `nats`): one stream over the subjects
// `<prefix>.events.<publishing module>.<partition>`, the partition chosen by aggregate id
// (broker.hpp's partition_of); each message carries the event envelope as JSON and
// the event id as its MsgId, so a publish retried after a timeout is stored once. The
// relay publishes (nats_publisher); one reader per (consumer, partition) takes the
// messages out (nats_reader.hpp). A KV bucket holds the readers' leases.
#pragma once

#include "actors/brokers/broker.hpp"
#include "actors/brokers/event_json.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct __natsConnection;
struct __jsCtx;
struct jsConsumerConfig;

namespace brokers {

// The connection and its JetStream context; connects lazily and again after a failure.
// nats.c reconnects by itself while a connection lives; a dead one is dropped here.
class nats_session {
public:
  // `on_publish_error` (optional) is called, on a nats.c thread, for every asynchronous
  // publish the server did not acknowledge.
  explicit nats_session(const config::bus_settings& bus,
                        std::function<void()> on_publish_error = {});
  ~nats_session();
  nats_session(const nats_session&) = delete;
  nats_session& operator=(const nats_session&) = delete;

  __jsCtx* jetstream();           // throws broker_unavailable
  __natsConnection* connection(); // throws broker_unavailable
  void reset();
  // Creates the events stream (and the leases bucket) when missing.
  void ensure_stream();

  const config::bus_settings& bus() const { return bus_; }
  std::string stream_name() const;
  std::string subject(const std::string& publisher, int partition) const;

private:
  config::bus_settings bus_;
  std::function<void()> on_publish_error_;
  __natsConnection* connection_ = nullptr;
  __jsCtx* js_ = nullptr;
  bool stream_ready_ = false;
};

// Throws broker_unavailable for the statuses that mean "no server" (or no answer), and
// broker_refused for the others.
void nats_check(int status, const std::string& what);

// A name JetStream accepts for a consumer or a bucket ('.', '*', '>', ' ', ':' become '_').
std::string nats_name(std::string name);
// The durable pull consumer of `consumer` on one partition of `publisher`'s events.
std::string durable_name(const std::string& consumer, const std::string& publisher, int partition);
// Its settings, the same whoever creates it (the publisher, before its first message; the
// reader, binding to it): explicit acks, redelivery after the reader's lease time, no
// limit on deliveries (the reader counts attempts and buries), from the first message.
void set_reader_consumer_config(jsConsumerConfig& config, const config::bus_settings& bus);

// Publishes a batch asynchronously and waits for every ack once (one round trip per
// batch, not per event); any failed publish fails the batch, which the relay publishes
// again later (MsgId keeps what was stored from being stored twice).
//
// Retention without loss: the stream keeps a message until every consumer that reads its
// subject has acknowledged it (interest retention), holds at most app.bus.stream-maxlen
// messages per subject, and refuses new ones beyond (discard new, per subject): nothing
// is ever dropped to make room. A consumer must exist before a message for it arrives,
// or the stream would not keep it for that consumer: the publisher creates the durable
// consumers of every reader of its events before its first message. A full subject
// refuses the batch (broker_refused), and the events stay pending in the outbox.
class nats_publisher : public event_publisher {
public:
  // `consumers`: those that read this module's events.
  nats_publisher(const config::bus_settings& bus, std::string module,
                 std::vector<std::string> consumers);
  void publish(const std::vector<persistence::stored_event>& events) override;
  void ping() override;

private:
  void create_consumers(); // once per connection

  std::shared_ptr<std::atomic<int>> failed_ = std::make_shared<std::atomic<int>>(0);
  nats_session session_;
  std::string module_;
  std::vector<std::string> consumers_;
  __jsCtx* consumers_made_for_ = nullptr; // the JetStream context they were made with
};

} // namespace brokers
