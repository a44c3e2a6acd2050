// See outbox_relay.hpp.
#include "actors/outbox_relay.hpp"

#include "actors/app_error.hpp"
#include "actors/brokers/broker.hpp"
#include "actors/delivery_chains.hpp"
#include "actors/delivery_retry.hpp"
#include "actors/directory.hpp"
#include "actors/log.hpp"
#include "persistence/pg_listener.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <memory>

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;   // work now
using timer_atom = caf::atom_constant<caf::atom("timer")>; // periodic
using due_atom = caf::atom_constant<caf::atom("due")>;     // look for due deliveries

using relay_actor = relay_api::extend<caf::reacts_to<tick_atom>, caf::reacts_to<timer_atom>,
                                      caf::reacts_to<due_atom>, caf::reacts_to<relay_wake_atom>>;

// How long a consumer may take to answer one delivery before it counts as failed.
constexpr std::chrono::seconds delivery_timeout{30};
// Deliveries held in memory at once (in flight or queued behind one of their own
// aggregate): enough to keep every consumer busy with large batches, few enough that a
// slow consumer is not flooded; the rest waits in the outbox, which is what it is for.
constexpr std::size_t max_in_memory = 4096;

// While the watermark trails the claims, the next round comes this soon at the latest.
constexpr std::chrono::milliseconds catch_up_delay{5};

// Keeps the doorbell pointing at this relay for as long as it lives, however it ends.
// Not copyable: a copy's end would detach the relay.
struct doorbell_attachment {
  doorbell_attachment() = default;
  doorbell_attachment(const doorbell_attachment&) = delete;
  doorbell_attachment& operator=(const doorbell_attachment&) = delete;
  std::shared_ptr<relay_doorbell> bell;
  caf::actor_addr relay;
  ~doorbell_attachment() {
    if (bell)
      bell->detach(relay);
  }
};

// The relay sends deliveries straight from memory, right after claiming their events, and
// writes no delivery row for them: an event is settled once every consumer has
// acknowledged it (or holds a row, see below), and the store's watermark passes it.
// After a crash or a change of leader, the events above the watermark go out again; the
// consumers' inbox makes that harmless.
//
// Claimed deliveries go out in messages per consumer, in sequence per (consumer,
// aggregate) (delivery_chains.hpp). Everything in rows (retries after backoff, events
// behind an open row, dead letters replayed) is found by the `due` query, which runs only
// when something may have become due, and on the timer as a safety net.
struct relay_state {
  relay_config cfg;
  doorbell_attachment doorbell;
  std::unique_ptr<persistence::pg_session> session;
  std::unique_ptr<persistence::relay_store> store;
  std::unique_ptr<persistence::pg_listener> listener;
  std::unique_ptr<brokers::event_publisher> publisher; // set on a broker backend
  bool broker_down = false;                            // logged once per outage
  std::string broker_refusal; // why the broker refuses events now (a full stream), or empty
  std::chrono::steady_clock::time_point broker_checked;
  std::optional<int64_t> fencing; // set while we hold the lease
  consumer_api bus;
  delivery_chains chains{1};        // sized by app.delivery.batch-size at the start
  std::map<int64_t, int> unsettled; // claimed events -> consumers yet to take them
  persistence::delivery_outcomes outcomes;
  std::chrono::steady_clock::time_point gauges_updated;
  bool tick_queued = false;
  std::chrono::steady_clock::time_point last_round;
  bool due_wanted = true;
  static inline const char* name = "outbox_relay";
};

using self_pointer = relay_actor::stateful_pointer<relay_state>;

void queue_tick(self_pointer self) {
  if (self->state.tick_queued)
    return;
  self->state.tick_queued = true;
  self->send(self, tick_atom::value);
}

delivery_retry retry_of(const relay_state& st) {
  return {st.cfg.delivery, st.cfg.metrics};
}

void answered(self_pointer self, std::uint64_t id, const delivery_ack* ack, const caf::error* err);

void send(self_pointer self, std::vector<delivery_chains::message> messages) {
  for (auto& m : messages) {
    auto id = m.id;
    self->request(self->state.bus, delivery_timeout, std::move(m.d))
        .then([self, id](const delivery_ack& ack) { answered(self, id, &ack, nullptr); },
              [self, id](caf::error& err) { answered(self, id, nullptr, &err); });
  }
}

void route(self_pointer self, std::vector<persistence::due_delivery> deliveries) {
  send(self, self->state.chains.route(std::move(deliveries)));
}

// One consumer took a claimed event (or holds a row for it): once all have, the store
// may let the watermark pass it.
void settle(self_pointer self, int64_t position) {
  auto& st = self->state;
  auto event = st.unsettled.find(position);
  if (event != st.unsettled.end() && --event->second == 0) {
    st.unsettled.erase(event);
    st.store->settle(position);
  }
}

void delivered(self_pointer self, const persistence::due_delivery& d) {
  auto& st = self->state;
  if (auto m = st.cfg.metrics)
    m->events_delivered.labels({st.cfg.module, d.consumer}).inc();
  if (d.row.empty()) {
    settle(self, d.position);
  } else {
    st.outcomes.delivered.push_back(d.row);
    st.due_wanted = true; // deliveries behind it are found by the due query
  }
}

// A failed delivery becomes (or stays) a row with its backoff.
void failed(self_pointer self, persistence::due_delivery d, std::string error) {
  auto& st = self->state;
  auto verdict = retry_of(st).failed(d.attempts, st.cfg.module, d.consumer);
  if (d.row.empty())
    settle(self, d.position);
  st.outcomes.failed.emplace_back(std::move(d), std::move(error));
  if (!verdict.dead)
    self->delayed_send(self, verdict.wait, due_atom::value);
}

// A delivery behind a failure of its key goes to a row, in order behind it; a row stays
// pending. The due query sends them from now on.
void hold(self_pointer self, persistence::due_delivery d) {
  auto& st = self->state;
  if (d.row.empty()) {
    settle(self, d.position);
    st.outcomes.held.push_back(std::move(d));
  }
  st.due_wanted = true;
}

// What the consumer made of message `id` (delivery_chains::answered), recorded: settled
// events, rows for failures and what waited behind them; the chains' next messages out.
void answered(self_pointer self, std::uint64_t id, const delivery_ack* ack, const caf::error* err) {
  auto& st = self->state;
  if (err && err->category() != caf::atom("app"))
    st.bus = nullptr; // the bus itself may be gone: find it again
  auto result =
      st.chains.answered(id, ack, err ? operator_text(*err, self->system()) : "", !st.bus);
  for (auto& d : result.delivered)
    delivered(self, d);
  for (auto& f : result.failed)
    failed(self, std::move(f.first), std::move(f.second));
  for (auto& d : result.held)
    hold(self, std::move(d));
  send(self, std::move(result.next));
  queue_tick(self);
}

// Forgets everything in memory: the events above the watermark go out again from
// whoever leads next.
void forget_claims(self_pointer self) {
  auto& st = self->state;
  st.chains.clear();
  st.unsettled.clear();
  st.outcomes.clear();
}

void lost_lease(self_pointer self) {
  logging::warn("relay lost its lease", {{"module", self->state.cfg.module}});
  self->state.fencing.reset();
  self->state.cfg.doorbell->step_down();
  forget_claims(self);
}

// The broker takes events again (after a refusal: a full stream).
void refusal_over(self_pointer self) {
  auto& st = self->state;
  if (st.broker_refusal.empty())
    return;
  st.broker_refusal.clear();
  logging::info("relay: broker takes events again", {{"module", st.cfg.module}});
}

// A round on a broker backend: the next batch goes to the broker's streams, then is
// settled. A crash in between publishes the batch again; the consumers' inbox drops the
// repeats, and per aggregate the order holds because claims go in position order.
bool publish_to_broker(self_pointer self) {
  auto& st = self->state;
  auto& db = st.session->connection();
  auto limit = st.cfg.relay.batch_size;
  // (Rows replayed from dead letters go out through the actor bus: their outcomes are
  // written here too.)
  auto claimed =
      st.store->publish(db, *st.fencing, limit, nullptr, st.outcomes, retry_of(st).store_policy());
  if (!claimed) {
    lost_lease(self);
    return false;
  }
  st.outcomes.clear();
  if (claimed->events.empty())
    return false;
  std::vector<persistence::stored_event> events;
  for (auto& c : claimed->events)
    events.push_back(c.event);
  try {
    st.publisher->publish(events);
  } catch (...) {
    st.store->retry_claims(); // they go out again in the next round
    throw;
  }
  for (auto& c : claimed->events)
    st.store->settle(c.position);
  refusal_over(self);
  st.broker_checked = std::chrono::steady_clock::now();
  if (st.broker_down) {
    st.broker_down = false;
    logging::info("relay: broker reachable again", {{"module", st.cfg.module}});
  }
  if (auto m = st.cfg.metrics)
    m->events_relayed.labels({st.cfg.module}).inc(double(events.size()));
  return int(events.size()) == limit;
}

// One round: hold the lease, record outcomes, claim new events and send them, and send
// due deliveries when some may have become due. Returns whether there may be more work
// right away.
bool work(self_pointer self) {
  auto& st = self->state;
  auto& db = st.session->connection();
  if (!st.fencing) {
    st.fencing = st.store->acquire_lease(db);
    if (!st.fencing)
      return false; // a standby: another process relays this outbox
    logging::info("relay leader", {{"module", st.cfg.module}, {"fencing", *st.fencing}});
    st.cfg.doorbell->lead();
    st.due_wanted = true;
  }
  bool more = false;
  if (st.publisher) {
    // The broker's readers deliver; only rows (replayed dead letters) go out from here.
    more = publish_to_broker(self);
    if (!st.fencing)
      return false;
  } else {
    auto in_memory = st.chains.in_memory();
    int limit = 0;
    if (st.bus && in_memory < max_in_memory)
      limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    auto claimed = st.store->publish(db, *st.fencing, limit, &st.cfg.subscriptions, st.outcomes,
                                     retry_of(st).store_policy());
    if (!claimed) {
      lost_lease(self);
      return false;
    }
    st.outcomes.clear();
    if (st.cfg.metrics && !claimed->events.empty())
      st.cfg.metrics->events_relayed.labels({st.cfg.module}).inc(double(claimed->events.size()));
    for (auto& d : claimed->deliveries)
      ++st.unsettled[d.position];
    route(self, std::move(claimed->deliveries));
    more = limit > 0 && int(claimed->events.size()) == limit;
  }
  auto in_memory = st.chains.in_memory();
  if (st.due_wanted && st.bus && in_memory < max_in_memory) {
    st.due_wanted = false;
    auto limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    auto due = st.store->due(db, st.chains.rows_in_flight(), limit);
    std::vector<persistence::due_delivery> rows;
    for (auto& d : due)
      if (!st.chains.has_chain(d.consumer, d.event.aggregate_id))
        rows.push_back(std::move(d)); // (always, while the invariant holds: never out of order)
    route(self, std::move(rows));
    if (int(due.size()) == limit)
      st.due_wanted = more = true;
  }
  return more;
}

void find_bus(self_pointer self) {
  self->request(self->state.cfg.directory, std::chrono::seconds{2}, directory_get_atom::value,
                std::string{"@bus"})
      .then(
          [self](const caf::actor& bus) {
            self->state.bus = caf::actor_cast<consumer_api>(bus);
            self->state.due_wanted = true;
            queue_tick(self);
          },
          [](caf::error&) {});
}

void run(self_pointer self) {
  auto& st = self->state;
  st.last_round = std::chrono::steady_clock::now();
  if (!st.bus)
    find_bus(self);
  try {
    auto started = std::chrono::steady_clock::now();
    bool more = work(self);
    if (auto m = st.cfg.metrics) {
      auto now = std::chrono::steady_clock::now();
      m->relay_batch_duration.labels({st.cfg.module})
          .observe(std::chrono::duration<double>(now - started).count());
      if (st.fencing && now - st.gauges_updated > std::chrono::seconds{1}) {
        auto c = st.store->pending_counts(st.session->connection());
        m->outbox_pending.labels({st.cfg.module}).set(double(c.pending));
        m->outbox_oldest_pending_age.labels({st.cfg.module})
            .set(double(c.oldest_pending_age_ms) / 1000);
        st.gauges_updated = now;
      }
    }
    // Idle or standby, the relay still checks the broker now and then, for /ready.
    if (st.publisher &&
        std::chrono::steady_clock::now() - st.broker_checked > std::chrono::seconds{1}) {
      st.broker_checked = std::chrono::steady_clock::now();
      st.publisher->ping();
      if (st.broker_down) {
        st.broker_down = false;
        logging::info("relay: broker reachable again", {{"module", st.cfg.module}});
      }
    }
    if (more) {
      queue_tick(self);
    } else if (st.fencing && st.store->behind() && !st.tick_queued) {
      // The watermark catches up within a few rounds; a little later, not at once, so
      // that a transaction holding a position open does not make the relay spin.
      st.tick_queued = true;
      self->delayed_send(self, catch_up_delay, tick_atom::value);
    }
  } catch (const brokers::broker_unavailable& e) {
    // The events stay pending in the outbox; the timer tries again.
    if (!st.broker_down)
      logging::warn("relay: broker unreachable", {{"module", st.cfg.module}, {"error", e.what()}});
    st.broker_down = true;
  } catch (const brokers::broker_refused& e) {
    // The events stay pending in the outbox, and /ready says why, until it takes them.
    if (st.broker_refusal != e.what())
      logging::error("relay: broker refused events",
                     {{"module", st.cfg.module}, {"error", e.what()}});
    st.broker_refusal = e.what();
  } catch (const persistence::pg_error& e) {
    st.session->discard();
    if (e.sqlstate() == "55P03") // lock_timeout: another relay is busy with the lease row
      return;
    if (e.connection_lost())
      logging::warn("relay: database unreachable", {{"module", st.cfg.module}});
    else
      logging::error("relay: database error",
                     {{"module", st.cfg.module}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
  }
}

template <class T, class F> caf::result<T> query(self_pointer self, F&& f) {
  // Operators' calls come through a gateway of this cluster, and buried deliveries from
  // its readers: from this node or a peer, never from a stranger on the node port.
  auto& trusted = self->state.cfg.trusted;
  if (trusted && !trusted->admits(self->current_sender()))
    return trusted->refuse("relay:" + self->state.cfg.module);
  try {
    return f(*self->state.store, self->state.session->connection());
  } catch (const persistence::pg_error& e) {
    if (!e.connection_lost())
      logging::error(
          "relay: database error",
          {{"module", self->state.cfg.module}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
    self->state.session->discard();
    return unavailable_error();
  }
}

relay_actor::behavior_type outbox_relay(self_pointer self, relay_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.chains = delivery_chains{std::size_t(std::max(1, st.cfg.delivery.batch_size))};
  st.session = std::make_unique<persistence::pg_session>(st.cfg.dsn);
  // A holder frozen inside a transaction would keep the lease row locked and stop any
  // standby from taking over: the server ends such a session well within the lease's
  // lifetime, and a standby never waits long for the row.
  auto ttl_ms = st.cfg.relay.lease_ttl.count();
  st.session->set_on_connect(
      {{"idle_in_transaction_session_timeout", std::to_string(std::max<int64_t>(ttl_ms / 4, 50))},
       {"lock_timeout", std::to_string(std::max<int64_t>(ttl_ms / 10, 20))}});
  st.store = std::make_unique<persistence::relay_store>(st.cfg.module, st.cfg.holder,
                                                        st.cfg.relay.lease_ttl);
  if (st.cfg.bus.on_broker())
    st.publisher =
        brokers::make_publisher(st.cfg.bus, st.cfg.module, st.cfg.subscriptions, st.cfg.publishes);
  // Writers here ring the doorbell after their COMMIT; writers in other processes NOTIFY,
  // and the listener's thread rings it then. Either way only a message is posted: all
  // work stays on this actor.
  if (!st.cfg.doorbell)
    st.cfg.doorbell = std::make_shared<relay_doorbell>();
  st.cfg.doorbell->attach(self->address());
  st.doorbell.bell = st.cfg.doorbell;
  st.doorbell.relay = self->address();
  st.listener = std::make_unique<persistence::pg_listener>(
      st.cfg.dsn, st.cfg.module + "_outbox", [bell = st.cfg.doorbell] { bell->ring(); });
  // Standbys check often, so that they take over soon after the lease expires.
  auto period = std::min(st.cfg.relay.poll_interval, st.cfg.relay.lease_ttl / 5);
  self->send(self, timer_atom::value);
  // A clean stop hands the lease on at once: a standby elsewhere takes over at its next
  // check instead of waiting the lease out (a crash still leaves it to expire). Events
  // sent but not yet marked published go out again from the new leader; inboxes drop them.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.fencing && st.session && st.store) {
      st.cfg.doorbell->step_down(); // writers NOTIFY again, for whoever takes over
      try {
        st.store->release_lease(st.session->connection());
        logging::info("relay lease released", {{"module", st.cfg.module}});
      } catch (const std::exception&) {
        // it expires by itself
      }
    }
    if (msg.reason != caf::exit_reason::normal)
      self->quit(msg.reason);
  });
  return {
      [self](tick_atom) {
        self->state.tick_queued = false;
        run(self);
      },
      [self](relay_wake_atom) {
        auto& st = self->state;
        st.cfg.doorbell->heard();
        // A round costs a few statements whatever it finds: under load, rounds that each
        // took the events of one commit would cost more database time than the events
        // themselves, so the commits of app.relay.round-spacing share one.
        auto since = std::chrono::steady_clock::now() - st.last_round;
        auto spacing = st.cfg.relay.round_spacing;
        if (since >= spacing) {
          queue_tick(self);
        } else if (!st.tick_queued) {
          st.tick_queued = true;
          self->delayed_send(self, spacing - since, tick_atom::value);
        }
      },
      [self, period](timer_atom) {
        self->state.due_wanted = true;
        run(self);
        self->delayed_send(self, period, timer_atom::value);
      },
      [self](due_atom) {
        self->state.due_wanted = true;
        run(self);
      },
      [self](outbox_status_atom) -> caf::result<outbox_status> {
        return query<outbox_status>(self, [self](auto& store, auto& db) {
          auto c = store.counts(db);
          auto& st = self->state;
          std::string broker = !st.publisher                ? ""
                               : st.broker_down             ? "down: broker unreachable"
                               : !st.broker_refusal.empty() ? "down: " + st.broker_refusal
                                                            : "up";
          return outbox_status{st.cfg.module, c.pending,       c.oldest_pending_age_ms,
                               c.published,   c.dead_lettered, broker};
        });
      },
      [self](dead_letters_atom) -> caf::result<std::vector<dead_letter>> {
        return query<std::vector<dead_letter>>(self, [](auto& store, auto& db) {
          std::vector<dead_letter> result;
          for (auto& r : store.dead_letters(db))
            result.push_back({r.id, r.event_id, r.event_name, r.consumer, r.attempts, r.last_error,
                              r.failed_at});
          return result;
        });
      },
      [self](replay_atom, const std::string& id) -> caf::result<bool> {
        auto done = query<bool>(self, [&](auto& store, auto& db) { return store.replay(db, id); });
        self->state.due_wanted = true;
        queue_tick(self);
        return done;
      },
      [self](bury_atom, const std::string& event_id, const std::string& consumer, int attempts,
             const std::string& error) -> caf::result<bool> {
        return query<bool>(self, [&](auto& store, auto& db) {
          return store.bury(db, event_id, consumer, attempts, error);
        });
      },
      [self](discard_atom, const std::string& id) -> caf::result<bool> {
        auto done = query<bool>(self, [&](auto& store, auto& db) { return store.discard(db, id); });
        self->state.due_wanted = true;
        queue_tick(self);
        return done;
      },
  };
}

} // namespace

relay_api spawn_outbox_relay(caf::actor_system& sys, relay_config cfg) {
  return caf::actor_cast<relay_api>(sys.spawn<caf::detached>(outbox_relay, std::move(cfg)));
}
