// See outbox_relay.hpp.
#include "actors/outbox_relay.hpp"

#include "actors/app_error.hpp"
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

using tick_atom = caf::atom_constant<caf::atom("tick")>;   // work now
using timer_atom = caf::atom_constant<caf::atom("timer")>; // periodic
using due_atom = caf::atom_constant<caf::atom("due")>;     // look for due deliveries

using relay_actor = relay_api::extend<caf::reacts_to<tick_atom>, caf::reacts_to<timer_atom>,
                                      caf::reacts_to<due_atom>>;

// How long a consumer may take to answer one delivery before it counts as failed.
constexpr std::chrono::seconds delivery_timeout{30};
// Deliveries held in memory at once (in flight or queued behind one of their own
// aggregate): enough to keep every consumer busy, few enough that a slow consumer is not
// flooded; the rest waits in the outbox, which is what it is for.
constexpr std::size_t max_in_memory = 1024;

// Deliveries of one (consumer, aggregate) must go out one at a time, in sequence order.
using delivery_key = std::pair<std::string, std::string>;

// The relay sends most deliveries straight from memory, right after publishing them: a
// delivery whose (consumer, aggregate) has nothing open in the database goes out at once,
// and later ones of the same key queue behind it in a chain, each sent when the one
// before was acknowledged. Invariant: while a key has a chain, every open delivery of
// that key is in the chain. Everything else (retries after backoff, deliveries of a
// previous leader, those behind a dead letter) is found by the `due` query, which runs
// only when something may have become due, and on the timer as a safety net.
struct relay_state {
  relay_config cfg;
  std::unique_ptr<persistence::pg_session> session;
  std::unique_ptr<persistence::relay_store> store;
  std::unique_ptr<persistence::pg_listener> listener;
  std::optional<int64_t> fencing; // set while we hold the lease
  consumer_api bus;
  struct sent {
    std::string consumer;
    int attempts;                      // before this one
    std::optional<delivery_key> chain; // set when it heads a chain
  };
  std::map<std::string, sent> in_flight;                                // by delivery id
  std::map<delivery_key, std::deque<persistence::due_delivery>> chains; // front: in flight
  std::size_t queued = 0; // deliveries in chains, not yet sent
  std::chrono::steady_clock::time_point gauges_updated;
  std::vector<std::string> delivered;
  std::vector<persistence::delivery_failure> failed;
  bool tick_queued = false;
  bool due_wanted = true;
  static inline const char* name = "outbox_relay";
};

using self_pointer = relay_actor::stateful_pointer<relay_state>;

std::string operator_text(const caf::error& err, caf::actor_system& sys) {
  if (err.category() == caf::atom("app")) {
    auto& ctx = err.context();
    if (ctx.match_elements<std::string, std::string, field_issues>())
      return ctx.get_as<std::string>(1);
  }
  return sys.render(err);
}

void queue_tick(self_pointer self) {
  if (self->state.tick_queued)
    return;
  self->state.tick_queued = true;
  self->send(self, tick_atom::value);
}

// The wait before retrying after `attempts` failures, as relay_store::record computes it.
std::chrono::milliseconds backoff(const config::delivery_settings& policy, int attempts) {
  auto wait = policy.backoff_initial * (int64_t{1} << std::min(attempts, 30));
  return std::min<std::chrono::milliseconds>(wait, policy.backoff_max);
}

void send_delivery(self_pointer self, persistence::due_delivery due,
                   std::optional<delivery_key> chain);

// `id` was acknowledged: the next delivery of its chain may go.
void on_delivered(self_pointer self, const std::string& id) {
  auto& st = self->state;
  auto sent = st.in_flight.find(id);
  if (sent == st.in_flight.end())
    return;
  if (auto m = st.cfg.metrics)
    m->events_delivered.labels({st.cfg.module, sent->second.consumer}).inc();
  auto chain_key = sent->second.chain;
  st.in_flight.erase(sent);
  st.delivered.push_back(id);
  if (!chain_key) {
    st.due_wanted = true; // deliveries behind it are found by the due query
  } else if (auto chain = st.chains.find(*chain_key); chain != st.chains.end()) {
    chain->second.pop_front();
    if (chain->second.empty()) {
      st.chains.erase(chain);
    } else if (!st.bus) { // lost: the rest waits in the database for the due query
      st.queued -= chain->second.size();
      st.chains.erase(chain);
      st.due_wanted = true;
    } else {
      --st.queued;
      send_delivery(self, chain->second.front(), *chain_key);
    }
  }
  queue_tick(self);
}

// `id` failed: it goes back to the database with its backoff, and the rest of its chain
// with it, so that the due query keeps their order from now on.
void on_failed(self_pointer self, const std::string& id, const caf::error& err) {
  auto& st = self->state;
  auto sent = st.in_flight.find(id);
  if (sent == st.in_flight.end())
    return;
  auto attempts = sent->second.attempts + 1;
  if (auto m = st.cfg.metrics) {
    auto& family =
        attempts >= st.cfg.delivery.max_attempts ? m->events_dead_lettered : m->deliveries_retried;
    family.labels({st.cfg.module, sent->second.consumer}).inc();
  }
  if (auto key = sent->second.chain) {
    if (auto chain = st.chains.find(*key); chain != st.chains.end()) {
      st.queued -= chain->second.size() - 1;
      st.chains.erase(chain);
    }
  }
  st.in_flight.erase(sent);
  st.failed.push_back({id, operator_text(err, self->system())});
  if (err.category() != caf::atom("app"))
    st.bus = nullptr; // the bus itself may be gone: find it again
  if (attempts < st.cfg.delivery.max_attempts)
    self->delayed_send(self, backoff(st.cfg.delivery, attempts - 1), due_atom::value);
  queue_tick(self);
}

void send_delivery(self_pointer self, persistence::due_delivery due,
                   std::optional<delivery_key> chain) {
  auto& st = self->state;
  st.in_flight.emplace(due.delivery_id,
                       relay_state::sent{due.consumer, due.attempts, std::move(chain)});
  auto& e = due.event;
  delivery d{due.consumer,
             {e.id, e.event_name, e.aggregate_id, e.sequence, e.correlation_id, e.causation_id,
              e.payload, e.created_at}};
  auto id = due.delivery_id;
  self->request(st.bus, delivery_timeout, std::move(d))
      .then([self, id](const delivery_ack&) { on_delivered(self, id); },
            [self, id](caf::error& err) { on_failed(self, id, err); });
}

// Deliveries just created by publish: each goes out now, queues behind its chain, or
// (behind an open delivery the relay does not hold) is left to the due query.
void dispatch_published(self_pointer self, std::vector<persistence::published_delivery> created) {
  auto& st = self->state;
  for (auto& p : created) {
    delivery_key key{p.delivery.consumer, p.delivery.event.aggregate_id};
    if (auto chain = st.chains.find(key); chain != st.chains.end()) {
      chain->second.push_back(std::move(p.delivery));
      ++st.queued;
    } else if (!p.behind_open && st.bus) {
      st.chains[key].push_back(p.delivery);
      send_delivery(self, std::move(p.delivery), key);
    }
  }
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
  if (!st.delivered.empty() || !st.failed.empty()) {
    st.store->record(db, st.delivered, st.failed,
                     {st.cfg.delivery.backoff_initial, st.cfg.delivery.backoff_max,
                      st.cfg.delivery.max_attempts});
    st.delivered.clear();
    st.failed.clear();
  }
  bool more = false;
  auto in_memory = st.in_flight.size() + st.queued;
  if (in_memory < max_in_memory) {
    auto limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    auto published = st.store->publish(db, *st.fencing, limit, st.cfg.subscriptions);
    if (!published) {
      logging::warn("relay lost its lease", {{"module", st.cfg.module}});
      st.fencing.reset();
      st.chains.clear();
      st.queued = 0;
      return false;
    }
    if (st.cfg.metrics && published->events > 0)
      st.cfg.metrics->events_relayed.labels({st.cfg.module}).inc(published->events);
    dispatch_published(self, std::move(published->deliveries));
    more = published->events == limit;
  }
  in_memory = st.in_flight.size() + st.queued;
  if (st.due_wanted && st.bus && in_memory < max_in_memory) {
    st.due_wanted = false;
    std::vector<std::string> in_flight;
    for (auto& entry : st.in_flight)
      in_flight.push_back(entry.first);
    auto limit = std::min<int>(st.cfg.relay.batch_size, int(max_in_memory - in_memory));
    auto due = st.store->due(db, in_flight, limit);
    for (auto& d : due) {
      if (st.chains.count({d.consumer, d.event.aggregate_id}))
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
    if (more)
      queue_tick(self);
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
  // The listener's thread only posts a message: all work stays on this actor.
  auto handle = caf::actor_cast<caf::actor>(self);
  st.listener =
      std::make_unique<persistence::pg_listener>(st.cfg.dsn, st.cfg.module + "_outbox", [handle] {
        caf::anon_send(handle, tick_atom::value);
      });
  // Standbys check often, so that they take over soon after the lease expires.
  auto period = std::min(st.cfg.relay.poll_interval, st.cfg.relay.lease_ttl / 5);
  self->send(self, timer_atom::value);
  return {
      [self](tick_atom) {
        self->state.tick_queued = false;
        run(self);
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
          return outbox_status{self->state.cfg.module, c.pending, c.oldest_pending_age_ms,
                               c.published, c.dead_lettered};
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
