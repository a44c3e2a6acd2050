// How a broker's reader hands a round's events to its consumer (brokers::deliver_all in
// actors/brokers/reader_support.hpp), under CAF's test coordinator: the scheduler runs
// one message at a time and time moves only when the test says so, so batching, per-event
// outcomes and a consumer that never answers are checked step by step, without sleeps.
#include "actors/brokers/reader_support.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct deterministic_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  deterministic_system() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console", caf::atom("none"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  // Every actor a test spawned ends before the system does (it waits for them).
  ~deterministic_system() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  template <class... Ts> caf::actor spawn(Ts&&... xs) {
    auto a = sys->spawn(std::forward<Ts>(xs)...);
    spawned.push_back(a);
    return a;
  }
  std::vector<caf::actor> spawned;
};

// What the bus saw, and what the reader was told.
struct journal {
  std::vector<std::vector<std::string>> deliveries; // event ids per delivery received
  std::map<std::size_t, std::string> outcomes;      // index -> "" (handled) or the error
};

// A bus that answers each delivery at once: events named "bad" fail, the rest are handled.
caf::behavior answering_bus(caf::event_based_actor*, std::shared_ptr<journal> j) {
  return {[j](delivery& d) {
    delivery_ack ack{d.consumer, {}, {}, {}};
    std::vector<std::string> seen;
    for (auto& e : d.events) {
      seen.push_back(e.id);
      if (e.event_name == "bad") {
        ack.failed.push_back(e.id);
        ack.errors.push_back("refused");
      } else {
        ack.handled.push_back(e.id);
      }
    }
    j->deliveries.push_back(std::move(seen));
    return ack;
  }};
}

// A bus that takes deliveries and never answers them.
caf::behavior silent_bus(caf::event_based_actor* self, std::shared_ptr<journal> j) {
  return {[self, j](delivery& d) {
    std::vector<std::string> seen;
    for (auto& e : d.events)
      seen.push_back(e.id);
    j->deliveries.push_back(std::move(seen));
    return self->make_response_promise<delivery_ack>(); // kept by nobody
  }};
}

struct reader_state {
  caf::actor bus;
};

// A reader's round: hands `events` to the consumer and writes down each outcome.
caf::behavior reader(caf::stateful_actor<reader_state>* self, caf::actor bus,
                     std::vector<event_envelope> events, int batch_size,
                     std::shared_ptr<journal> j) {
  self->state.bus = std::move(bus);
  brokers::deliver_all(self, "inventory.order-events", std::move(events), batch_size,
                       std::chrono::seconds{30}, [j](std::size_t i, const caf::error& err) {
                         j->outcomes[i] = err ? caf::to_string(err) : "";
                       });
  return {[](const std::string&) {}};
}

std::vector<event_envelope> events(std::vector<std::string> names) {
  std::vector<event_envelope> out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out.push_back({"e" + std::to_string(i), names[i], "order-" + std::to_string(i), 1, "", "", "{}",
                   "2026-01-01T00:00:00.000Z"});
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(reader_delivery, deterministic_system)

BOOST_AUTO_TEST_CASE(a_round_goes_out_in_deliveries_of_the_batch_size) {
  auto j = std::make_shared<journal>();
  auto bus = spawn(answering_bus, j);
  spawn(reader, bus, events({"ok", "ok", "ok", "ok", "ok"}), 2, j);
  sched->run();
  BOOST_REQUIRE(j->deliveries.size() == 3u);
  BOOST_TEST(j->deliveries[0] == (std::vector<std::string>{"e0", "e1"}));
  BOOST_TEST(j->deliveries[1] == (std::vector<std::string>{"e2", "e3"}));
  BOOST_TEST(j->deliveries[2] == (std::vector<std::string>{"e4"}));
  BOOST_REQUIRE(j->outcomes.size() == 5u);
  for (auto& outcome : j->outcomes)
    BOOST_TEST(outcome.second.empty());
}

BOOST_AUTO_TEST_CASE(each_event_gets_its_own_outcome) {
  auto j = std::make_shared<journal>();
  auto bus = spawn(answering_bus, j);
  spawn(reader, bus, events({"ok", "bad", "ok"}), 256, j);
  sched->run();
  BOOST_REQUIRE(j->deliveries.size() == 1u);
  BOOST_REQUIRE(j->outcomes.size() == 3u);
  BOOST_TEST(j->outcomes[0].empty());
  BOOST_TEST(j->outcomes[1].find("refused") != std::string::npos);
  BOOST_TEST(j->outcomes[2].empty());
}

BOOST_AUTO_TEST_CASE(a_consumer_that_never_answers_fails_its_events_when_time_runs_out) {
  auto j = std::make_shared<journal>();
  auto bus = spawn(silent_bus, j);
  spawn(reader, bus, events({"ok", "ok", "ok"}), 2, j);
  sched->run();
  BOOST_TEST(j->deliveries.size() == 2u);
  BOOST_TEST(j->outcomes.empty()); // nothing is decided while the consumer may still answer
  BOOST_TEST(sched->trigger_timeouts() == 2u); // one per delivery, no sleeping
  sched->run();
  BOOST_REQUIRE(j->outcomes.size() == 3u);
  for (auto& outcome : j->outcomes)
    BOOST_TEST(outcome.second.find("timeout") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
