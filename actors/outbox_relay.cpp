// See outbox_relay.hpp.
#include "actors/outbox_relay.hpp"

#include "actors/app_error.hpp"
#include "actors/brokers/broker.hpp"
#include "actors/delivery_backoff.hpp"
#include "actors/directory.hpp"
#include "actors/log.hpp"
#include "persistence/pg_listener.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <deque>
#include <map>
#include <memory>

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;     // work now
using timer_atom = caf::atom_constant<caf::atom("timer")>;   // periodic
using due_atom = caf::atom_constant<caf::atom("due")>;       // look for due deliveries
using notify_atom = caf::atom_constant<caf::atom("notify")>; // the outbox got rows

using relay_actor = relay_api::extend<caf::reacts_to<tick_atom>, caf::reacts_to<timer_atom>,
                                      caf::reacts_to<due_atom>, caf::reacts_to<notify_atom>>;

// How long a consumer may take to answer one delivery before it counts as failed.
constexpr std::chrono::seconds delivery_timeout{30};
// Deliveries held in memory at once (in flight or queued behind one of their own
// aggregate): enough to keep every consumer busy, few enough that a slow consumer is not
// flooded; the rest waits in the outbox, which is what it is for.
constexpr std::size_t max_in_memory = 1024;

// Deliveries of one (consumer, aggregate) must go out one at a time, in sequence order.
using chain_key = std::pair<std::string, std::string>;

// The relay sends deliveries straight from memory, right after claiming their events, and
// writes no delivery row for them: an event is marked published once every consumer has
// acknowledged it (or holds a row, see below). After a crash or a change of leader, the
// events not yet marked are sent again; the consumers' inbox makes that harmless.
//
// A delivery whose (consumer, aggregate) has nothing open goes out at once, and later ones
// of the same key queue behind it in a chain, each sent when the one before was
// acknowledged. A failure becomes a delivery row (with its backoff), and so does the rest
// of its chain: from then on the `due` query sends that key's deliveries in order.
// Invariant: while a key has a chain, it has no open delivery row. Everything in rows
// (retries after backoff, events behind an open row, dead letters replayed) is found by
// the `due` query, which runs only when something may have become due, and on the timer
// as a safety net.
struct relay_state {
  relay_config cfg;
  std::unique_ptr<persistence::pg_session> session;
  std::unique_ptr<persistence::relay_store> store;
  std::unique_ptr<persistence::pg_listener> listener;
  std::unique_ptr<brokers::event_publisher> publisher; // set on a broker backend
  bool broker_down = false;                            // logged once per outage
  std::chrono::steady_clock::time_point broker_checked;
  std::optional<int64_t> fencing; // set while we hold the lease
  consumer_api bus;
  struct sent {
    std::uint64_t id; // tells a late answer from the one awaited now
    persistence::due_delivery delivery;
    std::optional<chain_key> chain; // set when it heads a chain
  };
  // By (event position, consumer): one delivery is in flight at most once.
  std::map<std::pair<int64_t, std::string>, sent> in_flight;
  std::map<chain_key, std::deque<persistence::due_delivery>> chains; // waiting behind the head
  std::size_t queued = 0;           // deliveries in chains, not yet sent
  std::map<int64_t, int> unsettled; // claimed events -> consumers yet to take them
  persistence::delivery_outcomes outcomes;
  std::uint64_t next_send = 0;
  std::chrono::steady_clock::time_point gauges_updated;
  bool tick_queued = false;
  std::shared_ptr<std::atomic<bool>> notify_posted; // a NOTIFY's wake-up is in the mailbox
  bool due_wanted = true;
  static inline const char* name = "outbox_relay";
};

using self_pointer = relay_actor::stateful_pointer<relay_state>;
using flight_key = std::pair<int64_t, std::string>;

void queue_tick(self_pointer self) {
  if (self->state.tick_queued)
    return;
  self->state.tick_queued = true;
  self->send(self, tick_atom::value);
}

void send_delivery(self_pointer self, persistence::due_delivery due,
                   std::optional<chain_key> chain);

// One consumer took a claimed event (or holds a row for it): once all have, it is
// marked published at the next record.
void settle(self_pointer self, int64_t position) {
  auto& st = self->state;
  auto event = st.unsettled.find(position);
  if (event != st.unsettled.end() && --event->second == 0) {
    st.outcomes.settled.push_back(position);
    st.unsettled.erase(event);
  }
}

// The rest of a chain goes to delivery rows, in order behind its failed (or stranded)
// head; the due query sends them from now on.
void hold_chain(self_pointer self, const chain_key& key) {
  auto& st = self->state;
  auto chain = st.chains.find(key);
  if (chain == st.chains.end())
    return;
  for (auto& d : chain->second) {
    settle(self, d.position);
    st.outcomes.held.push_back(std::move(d));
  }
  st.queued -= chain->second.size();
  st.chains.erase(chain);
  st.due_wanted = true;
}

// `key` was acknowledged: the next delivery of its chain may go.
void on_delivered(self_pointer self, const flight_key& key, std::uint64_t id) {
  auto& st = self->state;
  auto entry = st.in_flight.find(key);
  if (entry == st.in_flight.end() || entry->second.id != id)
    return;
  auto sent = std::move(entry->second);
  st.in_flight.erase(entry);
  if (auto m = st.cfg.metrics)
    m->events_delivered.labels({st.cfg.module, sent.delivery.consumer}).inc();
  if (sent.delivery.row.empty()) {
    settle(self, sent.delivery.position);
  } else {
    st.outcomes.delivered.push_back(sent.delivery.row);
    st.due_wanted = true; // deliveries behind it are found by the due query
  }
  if (sent.chain) {
    auto chain = st.chains.find(*sent.chain);
    if (chain->second.empty()) {
      st.chains.erase(chain);
    } else if (!st.bus) { // lost: the rest waits in rows for the due query
      hold_chain(self, *sent.chain);
    } else {
      auto next = std::move(chain->second.front());
      chain->second.pop_front();
      --st.queued;
      send_delivery(self, std::move(next), *sent.chain);
    }
  }
  queue_tick(self);
}

// `key` failed: it becomes (or stays) a row with its backoff, and the rest of its chain
// goes to rows behind it, so that the due query keeps their order from now on.
void on_failed(self_pointer self, const flight_key& key, std::uint64_t id, const caf::error& err) {
  auto& st = self->state;
  auto entry = st.in_flight.find(key);
  if (entry == st.in_flight.end() || entry->second.id != id)
    return;
  auto sent = std::move(entry->second);
  st.in_flight.erase(entry);
  auto attempts = sent.delivery.attempts + 1;
  if (auto m = st.cfg.metrics) {
    auto& family =
        attempts >= st.cfg.delivery.max_attempts ? m->events_dead_lettered : m->deliveries_retried;
    family.labels({st.cfg.module, sent.delivery.consumer}).inc();
  }
  if (sent.delivery.row.empty())
    settle(self, sent.delivery.position);
  st.outcomes.failed.emplace_back(std::move(sent.delivery), operator_text(err, self->system()));
  if (sent.chain)
    hold_chain(self, *sent.chain);
  if (err.category() != caf::atom("app"))
    st.bus = nullptr; // the bus itself may be gone: find it again
  if (attempts < st.cfg.delivery.max_attempts)
    self->delayed_send(self, delivery_backoff(st.cfg.delivery, attempts - 1), due_atom::value);
  queue_tick(self);
}

void send_delivery(self_pointer self, persistence::due_delivery due,
                   std::optional<chain_key> chain) {
  auto& st = self->state;
  auto& e = due.event;
  delivery d{due.consumer,
             {e.id, e.event_name, e.aggregate_id, e.sequence, e.correlation_id, e.causation_id,
              e.payload, e.created_at}};
  flight_key key{due.position, due.consumer};
  auto id = ++st.next_send;
  st.in_flight.insert_or_assign(key, relay_state::sent{id, std::move(due), std::move(chain)});
  self->request(st.bus, delivery_timeout, std::move(d))
      .then([self, key, id](const delivery_ack&) { on_delivered(self, key, id); },
            [self, key, id](caf::error& err) { on_failed(self, key, id, err); });
}

// Deliveries of freshly claimed events: each goes out now or queues behind its chain.
void dispatch_claimed(self_pointer self, std::vector<persistence::due_delivery> claimed) {
  auto& st = self->state;
  for (auto& d : claimed)
    ++st.unsettled[d.position];
  for (auto& d : claimed) {
    chain_key key{d.consumer, d.event.aggregate_id};
    if (auto chain = st.chains.find(key); chain != st.chains.end()) {
      chain->second.push_back(std::move(d));
      ++st.queued;
    } else {
      st.chains.emplace(key, std::deque<persistence::due_delivery>{});
      send_delivery(self, std::move(d), key);
    }
  }
}

// Forgets everything in memory: the events not yet marked published go out again from
// whoever leads next.
void forget_claims(self_pointer self) {
  auto& st = self->state;
  st.in_flight.clear();
  st.chains.clear();
  st.queued = 0;
  st.unsettled.clear();
  st.outcomes.clear();
}

// A round on a broker backend: the next batch goes to the broker's streams, then is
// marked published. A crash in between publishes the batch again; the consumers' inbox
// drops the repeats, and per aggregate the order holds because a batch always starts at
// the oldest unpublished event.
bool publish_to_broker(self_pointer self) {
  auto& st = self->state;
  auto& db = st.session->connection();
  auto claimed = st.store->claim(db, *st.fencing, st.cfg.relay.batch_size);
  if (!claimed) {
    logging::warn("relay lost its lease", {{"module", st.cfg.module}});
    st.fencing.reset();
    return false;
  }
  if (claimed->empty())
    return false;
  std::vector<persistence::stored_event> events;
  std::vector<std::string> positions;
  for (auto& [position, event] : *claimed) {
    positions.push_back(std::to_string(position));
    events.push_back(std::move(event));
  }
  st.publisher->publish(events);
  st.broker_checked = std::chrono::steady_clock::now();
  if (st.broker_down) {
    st.broker_down = false;
    logging::info("relay: broker reachable again", {{"module", st.cfg.module}});
  }
  st.store->mark_published(db, positions);
  if (auto m = st.cfg.metrics)
    m->events_relayed.labels({st.cfg.module}).inc(double(events.size()));
  return int(events.size()) == st.cfg.relay.batch_size;
}

// One round: hold the lease, record outcomes, publish new events and send them, and
// send due deliveries when some may have become due. Returns whether there may be more
// work right away.
bool work(self_pointer self) {
  auto& st = self->state;
  auto& db = st.session->connection();
  if (!st.fencing) {
    st.fencing = st.store->acquire_lease(db);
    if (!st.fencing)
      return false; // a standby: another process relays this outbox
    logging::info("relay leader", {{"module", st.cfg.module}, {"fencing", *st.fencing}});
    st.due_wanted = true;
  }
  if (!st.outcomes.empty()) {
    auto marked = st.store->record(db, st.outcomes,
                                   {st.cfg.delivery.backoff_initial, st.cfg.delivery.backoff_max,
                                    st.cfg.delivery.max_attempts});
    st.outcomes.clear();
    if (st.cfg.metrics && marked > 0)
      st.cfg.metrics->events_relayed.labels({st.cfg.module}).inc(marked);
  }
  bool more = false;
  auto in_memory = st.in_flight.size() + st.queued;
  if (st.publisher) {
    // The broker's readers deliver; only rows (replayed dead letters) go out from here.
    more = publish_to_broker(self);
    if (!st.fencing)
      return false;
  } else if (st.bus && in_memory < max_in_memory) {
    auto limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    std::vector<int64_t> claimed;
    for (auto& entry : st.unsettled)
      claimed.push_back(entry.first);
    auto published = st.store->publish(db, *st.fencing, limit, st.cfg.subscriptions, claimed);
    if (!published) {
      logging::warn("relay lost its lease", {{"module", st.cfg.module}});
      st.fencing.reset();
      forget_claims(self);
      return false;
    }
    if (st.cfg.metrics && published->marked > 0)
      st.cfg.metrics->events_relayed.labels({st.cfg.module}).inc(published->marked);
    dispatch_claimed(self, std::move(published->deliveries));
    more = published->events == limit;
  }
  in_memory = st.in_flight.size() + st.queued;
  if (st.due_wanted && st.bus && in_memory < max_in_memory) {
    st.due_wanted = false;
    std::vector<std::string> rows_in_flight;
    for (auto& entry : st.in_flight)
      if (!entry.second.delivery.row.empty())
        rows_in_flight.push_back(entry.second.delivery.row);
    auto limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    auto due = st.store->due(db, rows_in_flight, limit);
    for (auto& d : due) {
      if (st.chains.count({d.consumer, d.event.aggregate_id}) ||
          st.in_flight.count({d.position, d.consumer}))
        continue; // cannot happen while the invariant holds; never send out of order
      send_delivery(self, std::move(d), std::nullopt);
    }
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
    if (more)
      queue_tick(self);
  } catch (const brokers::broker_unavailable& e) {
    // The events stay pending in the outbox; the timer tries again.
    if (!st.broker_down)
      logging::warn("relay: broker unreachable", {{"module", st.cfg.module}, {"error", e.what()}});
    st.broker_down = true;
  } catch (const brokers::broker_refused& e) {
    logging::error("relay: broker refused events",
                   {{"module", st.cfg.module}, {"error", e.what()}});
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
  try {
    return f(*self->state.store, self->state.session->connection());
  } catch (const persistence::pg_error& e) {
    self->state.session->discard();
    return unavailable_error();
  }
}

relay_actor::behavior_type outbox_relay(self_pointer self, relay_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
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
    st.publisher = brokers::make_publisher(st.cfg.bus, st.cfg.module, st.cfg.subscriptions);
  // The listener's thread only posts a message: all work stays on this actor. One posted
  // tick at a time: under load NOTIFYs come faster than rounds, and piled-up ticks would
  // delay everything else in the mailbox (a shutdown among it).
  auto handle = caf::actor_cast<caf::actor>(self);
  st.notify_posted = std::make_shared<std::atomic<bool>>(false);
  st.listener = std::make_unique<persistence::pg_listener>(
      st.cfg.dsn, st.cfg.module + "_outbox", [handle, posted = st.notify_posted] {
        if (!posted->exchange(true))
          caf::anon_send(handle, notify_atom::value);
      });
  // Standbys check often, so that they take over soon after the lease expires.
  auto period = std::min(st.cfg.relay.poll_interval, st.cfg.relay.lease_ttl / 5);
  self->send(self, timer_atom::value);
  // A clean stop hands the lease on at once: a standby elsewhere takes over at its next
  // check instead of waiting the lease out (a crash still leaves it to expire). Events
  // sent but not yet marked published go out again from the new leader; inboxes drop them.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.fencing && st.session && st.store) {
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
      [self](notify_atom) {
        self->state.notify_posted->store(false);
        queue_tick(self);
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
          std::string broker = !st.publisher ? "" : st.broker_down ? "down: unreachable" : "up";
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
