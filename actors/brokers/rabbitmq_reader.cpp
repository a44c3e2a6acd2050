// See rabbitmq_reader.hpp.
#include "actors/brokers/rabbitmq_reader.hpp"

#include "actors/app_error.hpp"
#include "actors/brokers/event_json.hpp"
#include "actors/brokers/rabbitmq_exchange.hpp"
#include "actors/brokers/reader_support.hpp"
#include "actors/delivery_retry.hpp"
#include "actors/directory.hpp"
#include "actors/event_delivery.hpp"
#include "actors/log.hpp"
#include "actors/outbox_relay.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <amqp_framing.h>

#include <algorithm>
#include <map>
#include <set>

namespace brokers {

namespace {

using read_atom = caf::atom_constant<caf::atom("read")>; // one round of reading

using clock = std::chrono::steady_clock;

// How long the consumer may take for one message before it counts as failed.
constexpr std::chrono::seconds delivery_timeout{30};
// Unacknowledged messages RabbitMQ sends ahead, per partition queue: enough to keep the
// consumer busy, few enough that a stuck aggregate stalls its partition soon.
constexpr std::uint16_t prefetch = 256;
constexpr int batch_size = 500;
// How long an idle round waits on the socket for the first delivery.
constexpr std::chrono::milliseconds idle_wait{200};
// A partition is handed over only after this long without a delivery, and only right after
// the socket was read empty: nothing of it can still be on the way to us, so its next
// reader starts where we stopped.
constexpr std::chrono::seconds idle_before_hand_over{1};
// Reasons remembered for messages we gave up on, until their dead letter is recorded.
constexpr std::size_t reasons_kept = 10000;
const std::string dead_letter_tag = "dead";

struct partition_slot {
  std::string queue;
  std::string tag;     // our consumer tag on it
  bool active = false; // known to be its active consumer
  clock::time_point last_delivery;
};

struct message {
  int partition = -1; // -1: from the dead-letter queue
  std::string publisher;
  event_envelope event;
  bool in_flight = false;
  int attempts = 0;
  clock::time_point next_at;
  std::string reason; // a dead letter's last error
};

struct reader_state {
  reader_config cfg;
  std::unique_ptr<rabbitmq_connection> amqp;
  std::uint64_t generation = 0; // the connection our consumers and delivery tags belong to
  caf::actor bus;
  std::set<std::string> handled;
  std::vector<partition_slot> partitions;
  std::map<std::uint64_t, message> messages; // by delivery tag, i.e. in arrival order
  std::map<std::string, std::pair<int, std::string>> gave_up; // event id -> attempts, error
  int in_flight = 0;
  // Rounds are asked for by replies, timers and the previous round; only the latest
  // request counts (ticket), so that they never pile up in the mailbox.
  std::uint64_t ticket = 0;
  bool woken = false; // an immediate round is asked for
  bool down = false;
  std::chrono::milliseconds down_backoff{100};
  clock::time_point housekeeping_due;
  static inline const char* name = "rabbitmq_reader";
};

using self_pointer = caf::stateful_actor<reader_state>*;

timeval timeval_of(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

void wake(self_pointer self) {
  auto& st = self->state;
  if (st.woken)
    return;
  st.woken = true;
  self->send(self, read_atom::value, ++st.ticket);
}

void round_in(self_pointer self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  st.woken = false;
  self->delayed_send(self, delay, read_atom::value, ++st.ticket);
}

// Whatever the connection carried is void: the broker requeues what we held.
void forget_connection(self_pointer self) {
  auto& st = self->state;
  st.generation = 0;
  st.messages.clear();
  st.in_flight = 0;
  for (auto& p : st.partitions)
    p.active = false;
}

// Acknowledges (or rejects towards the dead-letter exchange) one delivery, if the
// connection it came on is still ours; otherwise the broker redelivers it anyway.
void settle(self_pointer self, std::uint64_t tag, bool ack) {
  auto& st = self->state;
  if (!st.amqp->connected() || st.amqp->generation() != st.generation)
    return;
  try {
    auto* conn = st.amqp->state();
    st.amqp->check_status(ack ? amqp_basic_ack(conn, rabbitmq_connection::channel, tag, 0)
                              : amqp_basic_reject(conn, rabbitmq_connection::channel, tag, 0),
                          ack ? "RabbitMQ ack" : "RabbitMQ reject");
  } catch (const std::exception&) {
    forget_connection(self); // the next round reconnects
  }
}

void consume(self_pointer self, const std::string& queue, const std::string& tag) {
  auto& st = self->state;
  amqp_basic_consume(st.amqp->state(), rabbitmq_connection::channel, amqp_bytes_of(queue),
                     amqp_bytes_of(tag), 0, 0, 0, amqp_empty_table);
  st.amqp->check_last_rpc("RabbitMQ consume " + queue);
}

// On a new connection: the queues (declared again, in case the broker lost them), the
// prefetch window, and a consumer on every partition queue and on the dead-letter queue.
// A partition whose queue had no consumer before ours is ours at once; on the others we
// wait our turn, and learn that it came from the first delivery.
void subscribe(self_pointer self) {
  auto& st = self->state;
  st.amqp->state();
  if (st.generation == st.amqp->generation())
    return;
  forget_connection(self);
  declare_consumer_queues(*st.amqp, st.cfg.bus, st.cfg.consumer, st.cfg.events);
  amqp_basic_qos(st.amqp->state(), rabbitmq_connection::channel, 0, prefetch, 0);
  st.amqp->check_last_rpc("RabbitMQ prefetch");
  auto now = clock::now();
  for (auto& p : st.partitions) {
    auto consumers = st.amqp->queue_counts(p.queue).second;
    consume(self, p.queue, p.tag);
    p.active = consumers == 0;
    p.last_delivery = now;
    if (p.active)
      logging::info("reader leads partition", {{"consumer", st.cfg.consumer}, {"queue", p.queue}});
  }
  consume(self, dead_letter_queue(st.cfg.bus, st.cfg.consumer), dead_letter_tag);
  st.generation = st.amqp->generation();
}

// Why RabbitMQ dead-lettered a message we did not reject ourselves (it expired, say):
// the reason in its first x-death header entry.
std::string death_reason(const amqp_basic_properties_t& props) {
  if (!(props._flags & AMQP_BASIC_HEADERS_FLAG))
    return "unknown";
  for (int i = 0; i < props.headers.num_entries; ++i) {
    auto& entry = props.headers.entries[i];
    if (string_of(entry.key) != "x-death" || entry.value.kind != AMQP_FIELD_KIND_ARRAY ||
        entry.value.value.array.num_entries == 0)
      continue;
    auto& first = entry.value.value.array.entries[0];
    if (first.kind != AMQP_FIELD_KIND_TABLE)
      continue;
    for (int j = 0; j < first.value.table.num_entries; ++j) {
      auto& field = first.value.table.entries[j];
      if (string_of(field.key) == "reason" &&
          (field.value.kind == AMQP_FIELD_KIND_UTF8 || field.value.kind == AMQP_FIELD_KIND_BYTES))
        return string_of(field.value.value.bytes);
    }
  }
  return "unknown";
}

void accept(self_pointer self, const amqp_envelope_t& envelope) {
  auto& st = self->state;
  auto tag = envelope.delivery_tag;
  auto consumer_tag = string_of(envelope.consumer_tag);
  auto& props = envelope.message.properties;
  message m;
  if (props._flags & AMQP_BASIC_APP_ID_FLAG)
    m.publisher = string_of(props.app_id);
  try {
    m.event = envelope_from_json(string_of(envelope.message.body));
  } catch (const std::exception& e) {
    logging::error("unreadable RabbitMQ message",
                   {{"consumer", st.cfg.consumer}, {"tag", consumer_tag}, {"error", e.what()}});
    settle(self, tag, true);
    return;
  }
  if (consumer_tag == dead_letter_tag) {
    if (auto known = st.gave_up.find(m.event.id); known != st.gave_up.end()) {
      m.attempts = known->second.first;
      m.reason = known->second.second;
    } else { // rejected by a reader elsewhere that is gone, or expired
      m.attempts = st.cfg.delivery.max_attempts;
      m.reason = "dead-lettered by RabbitMQ (" + death_reason(props) + ")";
    }
    st.messages.emplace(tag, std::move(m));
    return;
  }
  auto slot = std::find_if(st.partitions.begin(), st.partitions.end(),
                           [&](const partition_slot& p) { return p.tag == consumer_tag; });
  if (slot == st.partitions.end()) {
    settle(self, tag, true);
    return;
  }
  if (!slot->active)
    logging::info("reader leads partition",
                  {{"consumer", st.cfg.consumer}, {"queue", slot->queue}});
  slot->active = true;
  slot->last_delivery = clock::now();
  if (!st.handled.count(m.event.event_name)) {
    settle(self, tag, true);
    return;
  }
  m.partition = int(slot - st.partitions.begin());
  st.messages.emplace(tag, std::move(m));
}

// Takes what the broker sent: waits up to `wait` for the first delivery, then takes what
// is there without waiting. Returns how many it took.
int take_deliveries(self_pointer self, std::chrono::milliseconds wait) {
  auto& st = self->state;
  int taken = 0;
  while (taken < batch_size) {
    auto* conn = st.amqp->state();
    amqp_maybe_release_buffers(conn);
    amqp_envelope_t envelope;
    auto tv = timeval_of(taken == 0 ? wait : std::chrono::milliseconds{0});
    auto reply = amqp_consume_message(conn, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_TIMEOUT)
      return taken;
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      // Not a delivery: the server closing the channel, or cancelling a consumer because
      // its queue was deleted (then a new connection declares and subscribes again).
      amqp_frame_t frame;
      st.amqp->check_status(amqp_simple_wait_frame(conn, &frame), "RabbitMQ read");
      st.amqp->throw_if_closing(frame);
      if (frame.frame_type == AMQP_FRAME_METHOD &&
          frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
        st.amqp->disconnect();
        throw broker_refused("RabbitMQ cancelled a consumer of " + st.cfg.consumer);
      }
      continue;
    }
    st.amqp->check(reply, "RabbitMQ read");
    accept(self, envelope);
    amqp_destroy_envelope(&envelope);
    ++taken;
  }
  return taken;
}

// Every half lease period: the backlog of the partitions we lead, for /metrics, and our
// fair share of partitions among the readers of this consumer (the queues' consumer
// count). Beyond it, idle partitions are handed over: subscribing again puts us at the
// back of the queue's line, and RabbitMQ activates the next reader. That only once the
// socket was `drained`: a reader that was frozen (or starved) finds deliveries waiting
// there, and its partitions only look idle by the clock; handing one over then would let
// the next reader start on later messages while these are still ours.
void housekeeping(self_pointer self, bool drained) {
  auto& st = self->state;
  auto now = clock::now();
  if (now < st.housekeeping_due)
    return;
  st.housekeeping_due = now + std::max<std::chrono::milliseconds>(std::chrono::milliseconds{250},
                                                                  st.cfg.bus.reader_lease_ttl / 2);
  std::size_t readers = 1, active = 0;
  std::vector<std::size_t> held(st.partitions.size(), 0);
  for (auto& [tag, m] : st.messages)
    if (m.partition >= 0)
      ++held[std::size_t(m.partition)];
  for (std::size_t i = 0; i < st.partitions.size(); ++i) {
    auto& p = st.partitions[i];
    auto [ready, consumers] = st.amqp->queue_counts(p.queue);
    readers = std::max<std::size_t>(readers, consumers);
    if (!p.active)
      continue;
    ++active;
    if (st.cfg.metrics)
      st.cfg.metrics->broker_backlog.labels({p.queue, st.cfg.consumer})
          .set(double(ready + held[i]));
  }
  auto share = (st.partitions.size() + readers - 1) / readers;
  for (std::size_t i = 0; drained && i < st.partitions.size() && active > share; ++i) {
    auto& p = st.partitions[i];
    if (!p.active || held[i] > 0 || now - p.last_delivery < idle_before_hand_over)
      continue;
    amqp_basic_cancel(st.amqp->state(), rabbitmq_connection::channel, amqp_bytes_of(p.tag));
    st.amqp->check_last_rpc("RabbitMQ cancel " + p.queue);
    consume(self, p.queue, p.tag);
    p.active = false;
    --active;
    logging::info("reader hands partition over",
                  {{"consumer", st.cfg.consumer}, {"queue", p.queue}});
  }
}

// The consumer gave up on a message for good, or RabbitMQ dead-lettered it: it becomes a
// dead letter in its publisher's outbox (that relay owns the table, and the admin API
// lists, replays and discards it there), and only then leaves the dead-letter queue. If
// the relay cannot be reached, it is tried again a second later.
void bury(self_pointer self, std::uint64_t tag, message& m) {
  auto& st = self->state;
  m.in_flight = true;
  ++st.in_flight;
  auto generation = st.generation;
  auto failed = [self, tag, generation](caf::error&) {
    auto& st = self->state;
    auto found = st.messages.find(tag);
    if (generation != st.generation || found == st.messages.end())
      return;
    found->second.in_flight = false;
    found->second.next_at = clock::now() + std::chrono::seconds{1};
    --st.in_flight;
  };
  auto buried = [self, tag, generation](bool known) {
    auto& st = self->state;
    auto found = st.messages.find(tag);
    if (generation != st.generation || found == st.messages.end())
      return;
    if (!known)
      logging::error("dead letter for an event its publisher does not know",
                     {{"consumer", st.cfg.consumer}, {"event", found->second.event.id}});
    st.gave_up.erase(found->second.event.id);
    st.messages.erase(found);
    --st.in_flight;
    settle(self, tag, true);
    wake(self);
  };
  auto request = [self, event_id = m.event.id, attempts = m.attempts, reason = m.reason, buried,
                  failed](const caf::actor& relay) {
    self->request(caf::actor_cast<relay_api>(relay), std::chrono::seconds{5}, bury_atom::value,
                  event_id, self->state.cfg.consumer, attempts, reason)
        .then(buried, failed);
  };
  self->request(st.cfg.directory, std::chrono::seconds{2}, directory_get_atom::value,
                "relay:" + m.publisher)
      .then(request, failed);
}

// What became of one message the consumer was handed (unless the connection it came on
// is gone since): acknowledged once handled; on a failure, retried after its backoff or,
// out of attempts, sent to the dead-letter queue.
void delivered(self_pointer self, std::uint64_t tag, std::uint64_t generation, caf::error err) {
  auto& st = self->state;
  auto found = st.messages.find(tag);
  if (generation != st.generation || found == st.messages.end())
    return;
  auto& m = found->second;
  --st.in_flight;
  if (!err) {
    if (auto metrics = st.cfg.metrics)
      metrics->events_delivered.labels({m.publisher, st.cfg.consumer}).inc();
    st.messages.erase(found);
    settle(self, tag, true);
    wake(self);
    return;
  }
  m.in_flight = false;
  auto verdict = delivery_retry{st.cfg.delivery, st.cfg.metrics}.failed(m.attempts, m.publisher,
                                                                        st.cfg.consumer);
  m.attempts = verdict.attempts;
  if (err.category() != caf::atom("app"))
    st.bus = nullptr; // the bus itself may be gone: find it again
  if (verdict.dead) {
    if (st.gave_up.size() >= reasons_kept)
      st.gave_up.erase(st.gave_up.begin());
    st.gave_up[m.event.id] = {m.attempts, operator_text(err, self->system())};
    st.messages.erase(found);
    settle(self, tag, false); // to the dead-letter exchange, then our dead queue
  } else {
    m.next_at = clock::now() + verdict.wait;
  }
  wake(self);
}

// Hands the messages (by delivery tag) to the consumer, in as few deliveries as
// app.delivery.batch-size allows.
void deliver(self_pointer self, std::vector<std::uint64_t> tags) {
  auto& st = self->state;
  if (tags.empty())
    return;
  std::vector<event_envelope> events;
  events.reserve(tags.size());
  for (auto tag : tags) {
    auto& m = st.messages.at(tag);
    m.in_flight = true;
    events.push_back(m.event);
  }
  st.in_flight += int(tags.size());
  deliver_all(self, st.cfg.consumer, std::move(events), st.cfg.delivery.batch_size,
              delivery_timeout,
              [self, tags, generation = st.generation](std::size_t i, caf::error err) {
                delivered(self, tags[i], generation, std::move(err));
              });
}

// Hands out what is due: per partition and aggregate, only the oldest message not done
// yet, and none while that one waits for its backoff; and the dead letters to bury.
void dispatch(self_pointer self) {
  auto& st = self->state;
  auto now = clock::now();
  std::set<std::pair<int, std::string>> taken; // (partition, aggregate)
  std::vector<std::uint64_t> due;
  for (auto& [tag, m] : st.messages) {
    if (m.partition < 0) {
      if (!m.in_flight && m.next_at <= now)
        bury(self, tag, m);
      continue;
    }
    if (!taken.emplace(m.partition, m.event.aggregate_id).second)
      continue; // behind an earlier message of its aggregate
    if (!m.in_flight && m.next_at <= now)
      due.push_back(tag);
  }
  deliver(self, std::move(due));
}

// Waiting for the first delivery is only worth it with nothing else to do: no message
// with the consumer and none due for a retry.
bool idle(const reader_state& st) {
  if (st.in_flight > 0)
    return false;
  auto now = clock::now();
  return std::none_of(st.messages.begin(), st.messages.end(),
                      [now](auto& entry) { return entry.second.next_at <= now; });
}

void schedule_next(self_pointer self, int taken, bool waited) {
  auto& st = self->state;
  if (taken > 0 || waited) {
    wake(self);
    return;
  }
  // Replies from the consumer wake us sooner; this keeps the connection served meanwhile.
  auto wait = std::chrono::milliseconds{100};
  auto now = clock::now();
  for (auto& [tag, m] : st.messages)
    if (!m.in_flight && m.next_at > now)
      wait = std::min(
          wait, std::max(std::chrono::milliseconds{1},
                         std::chrono::duration_cast<std::chrono::milliseconds>(m.next_at - now)));
  round_in(self, wait);
}

void round(self_pointer self) {
  auto& st = self->state;
  st.woken = false;
  if (!st.bus) {
    find_bus(self);
    round_in(self, std::chrono::milliseconds{100});
    return;
  }
  int taken = 0;
  bool waited = false;
  try {
    subscribe(self);
    waited = idle(st);
    taken = take_deliveries(self, waited ? idle_wait : std::chrono::milliseconds{0});
    housekeeping(self, taken < batch_size);
    if (st.down) {
      st.down = false;
      st.down_backoff = std::chrono::milliseconds{100};
      logging::info("reader: broker reachable again", {{"consumer", st.cfg.consumer}});
    }
  } catch (const std::exception& e) { // broker_unavailable, or a refused command
    if (!st.down)
      logging::warn("reader: broker unreachable",
                    {{"consumer", st.cfg.consumer}, {"error", e.what()}});
    st.down = true;
    st.amqp->disconnect();
    forget_connection(self);
    round_in(self, st.down_backoff);
    st.down_backoff = std::min(st.down_backoff * 2, std::chrono::milliseconds{2000});
    return;
  }
  dispatch(self);
  schedule_next(self, taken, waited);
}

caf::behavior rabbitmq_reader(caf::stateful_actor<reader_state>* self, reader_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.amqp = std::make_unique<rabbitmq_connection>(st.cfg.bus, std::chrono::seconds{5});
  st.handled.insert(st.cfg.events.begin(), st.cfg.events.end());
  for (int p = 0; p < st.cfg.bus.partitions; ++p)
    st.partitions.push_back(
        {partition_queue(st.cfg.bus, st.cfg.consumer, p), "p" + std::to_string(p), false, {}});
  wake(self);
  return {
      [self](read_atom, std::uint64_t ticket) {
        if (ticket == self->state.ticket) // only the latest round asked for
          round(self);
      },
  };
}

} // namespace

caf::actor spawn_rabbitmq_reader(caf::actor_system& sys, reader_config cfg) {
  return sys.spawn<caf::detached>(rabbitmq_reader, std::move(cfg));
}

} // namespace brokers
