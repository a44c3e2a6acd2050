// Kill -9 and a PostgreSQL restart under order load: every order that got a 201 exists, reaches a
// final state, has exactly one order-created notification, and stock reservations match confirmed
// orders.
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "order_load.hpp"
#include "private_cluster.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// SIGPIPE from a socket the killed node closed under a writing client is an error, not a crash.
struct ignore_sigpipe {
  ignore_sigpipe() { ::signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

const std::vector<std::string> node_flags = {"--app.http.request-timeout=2s",
                                             "--app.relay.lease-ttl=2s"};

// ---- the checks every scenario ends with ----

void check_every_accepted_order(const std::string& dsn, node_process& node, order_load& load) {
  auto ids = load.ids();
  BOOST_TEST_MESSAGE("load: " << load.summary() << "; orders in the database: "
                              << scalar(dsn, "SELECT count(*) FROM orders.orders"));
  BOOST_TEST(load.unexpected().empty(), "unexpected answers: " << joined(load.unexpected()));
  BOOST_TEST(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size(),
             "the same order id was answered with 201 twice");

  // Over HTTP: each 201 order exists, is final, and has one order-created notification.
  auto http = node.client();
  std::vector<std::string> missing, not_final, notifications_wrong;
  for (auto& id : ids) {
    auto got = get_answered(*http, "/orders/" + id);
    if (!got || got->status != 200) {
      missing.push_back(id + " -> " +
                        (got ? std::to_string(got->status) + " " + got->body : "no answer"));
      continue;
    }
    auto status = json::parse(got->body)["data"]["status"].get<std::string>();
    if (status != "CONFIRMED" && status != "REJECTED")
      not_final.push_back(id + " is " + status);
    auto listed = get_answered(*http, "/notifications?orderId=" + id);
    if (!listed || listed->status != 200) {
      notifications_wrong.push_back(id + " -> GET /notifications " +
                                    (listed ? std::to_string(listed->status) : "no answer"));
      continue;
    }
    int created = 0;
    auto list = json::parse(listed->body);
    for (auto& n : list["data"])
      created += n["template"] == "order-created";
    if (created != 1)
      notifications_wrong.push_back(id + " has " + std::to_string(created) +
                                    " order-created notifications");
  }
  BOOST_TEST(missing.empty(), "orders answered 201 but not found: " << joined(missing));
  BOOST_TEST(not_final.empty(), "orders not CONFIRMED or REJECTED: " << joined(not_final));
  BOOST_TEST(notifications_wrong.empty(),
             "order-created notifications: " << joined(notifications_wrong));

  // In the database: one notification per (event, template), one order-created per order.
  auto duplicates =
      column(dsn, "SELECT event_id || ' ' || template || ' x' || count(*) FROM "
                  "notifications.notifications GROUP BY event_id, template HAVING count(*) <> 1");
  BOOST_TEST(duplicates.empty(),
             "(event, template) pairs with more than one notification: " << joined(duplicates));
  auto without_one =
      column(dsn, "SELECT o.id || ' x' || (SELECT count(*) FROM notifications.notifications n "
                  "WHERE n.order_id = o.id AND n.template = 'order-created') FROM orders.orders o "
                  "WHERE (SELECT count(*) FROM notifications.notifications n WHERE n.order_id = "
                  "o.id AND n.template = 'order-created') <> 1");
  BOOST_TEST(without_one.empty(),
             "orders without exactly one order-created notification row: " << joined(without_one));
  auto unnotified =
      column(dsn, "SELECT o.event_name || ' ' || o.id FROM orders.outbox o WHERE o.event_name LIKE "
                  "'order.%' AND NOT EXISTS (SELECT 1 FROM notifications.notifications n WHERE "
                  "n.event_id = o.id)");
  BOOST_TEST(unnotified.empty(), "order events without their notification: " << joined(unnotified));

  // No order.created lost: exactly one per order, each delivered to inventory.
  auto orders = scalar(dsn, "SELECT count(*) FROM orders.orders");
  auto created_events =
      scalar(dsn, "SELECT count(*) FROM orders.outbox WHERE event_name = 'order.created'");
  auto created_aggregates = scalar(
      dsn,
      "SELECT count(DISTINCT aggregate_id) FROM orders.outbox WHERE event_name = 'order.created'");
  BOOST_TEST(created_events == orders,
             "order.created rows " << created_events << " for " << orders << " orders");
  BOOST_TEST(created_aggregates == orders);
  BOOST_TEST(orders >= static_cast<long long>(ids.size()));
  auto unreserved = column(
      dsn, "SELECT o.id FROM orders.outbox o WHERE o.event_name = 'order.created' AND NOT "
           "EXISTS (SELECT 1 FROM inventory.inbox i WHERE i.event_id = o.id AND i.consumer = "
           "'inventory.order-events')");
  BOOST_TEST(unreserved.empty(),
             "order.created never handled by inventory: " << joined(unreserved));
  auto dead = column(
      dsn, "SELECT 'orders ' || consumer || ' ' || coalesce(last_error, '') FROM orders.deliveries "
           "WHERE status = 'dead' UNION ALL SELECT 'inventory ' || consumer || ' ' || "
           "coalesce(last_error, '') FROM inventory.deliveries WHERE status = 'dead'");
  BOOST_TEST(dead.empty(), "dead-lettered deliveries: " << joined(dead));

  // Stock: reserved equals what the confirmed orders hold.
  auto mismatched = column(
      dsn,
      "SELECT p.sku || ' reserved ' || p.reserved || ' but confirmed orders hold ' || "
      "coalesce(c.q, 0) "
      "FROM inventory.products p LEFT JOIN (SELECT (i->>'productId')::uuid AS product, "
      "sum((i->>'quantity')::bigint) AS q FROM orders.orders o, jsonb_array_elements(o.items) i "
      "WHERE o.status = 'CONFIRMED' GROUP BY 1) c ON c.product = p.id WHERE p.reserved <> "
      "coalesce(c.q, 0)");
  BOOST_TEST(mismatched.empty(),
             "reservations do not match confirmed orders: " << joined(mismatched));
  BOOST_TEST_MESSAGE(
      "final states: " << joined(column(dsn, "SELECT status || ' ' || count(*) FROM orders.orders "
                                             "GROUP BY status ORDER BY 1")));
}

void require_settled(const std::string& dsn, const std::function<std::string()>& logs) {
  auto schemas = relay_schemas(dsn);
  backlog last;
  auto started = steady::now();
  // An event whose delivery failed a few times during the fault waits for its retry in
  // exponential backoff, up to app.delivery.backoff-max (30 s): allow two of those.
  bool settled = eventually(
      60s, [&] { return (last = backlog_of(dsn, schemas)).settled(); }, 100ms);
  BOOST_REQUIRE_MESSAGE(settled, "not settled 60 s after the load stopped: "
                                     << last.text() << " (" << open_deliveries(dsn, schemas)
                                     << "); node problems:" << logs());
  BOOST_TEST_MESSAGE(
      "settled "
      << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count()
      << " ms after the load stopped");
}

int run(const std::string& command) {
  return std::system(command.c_str());
}

// A broker server of this test's own (the shared one of scripts/test must not go down
// under the other tests): Redis with its append-only file, NATS with JetStream on disk,
// or RabbitMQ with its durable queues, so that a restart keeps what it stored. The backend is the
// one under test (MONOLITH_TEST_BUS), Redis when the suite runs on the actors bus.
struct private_broker {
  std::string backend = [] {
    auto bus = std::getenv("MONOLITH_TEST_BUS");
    std::string chosen = bus ? bus : "";
    return chosen == "nats" || chosen == "rabbitmq" ? chosen : std::string{"redis"};
  }();
  std::string dir = "/tmp/monolith-killload-" + backend + "-" + std::to_string(::getpid());
  int port = free_port();
  std::string script = std::string{MONOLITH_SOURCE_DIR} + "/scripts/" + backend;

  private_broker() { BOOST_REQUIRE(start()); }
  ~private_broker() {
    stop();
    std::filesystem::remove_all(dir);
  }
  int monitor_port = free_port(); // NATS's readiness check; unused by Redis

  bool start() {
    return run(script + " start " + dir + " " + std::to_string(port) + " " +
               std::to_string(monitor_port)) == 0;
  }
  void stop() { run(script + " stop " + dir + " " + std::to_string(port)); }
  std::vector<std::string> flags(const std::string& prefix) const {
    auto result = node_flags;
    result.insert(result.end(), {"--app.bus.backend=" + backend,
                                 "--app.bus." + backend + "-port=" + std::to_string(port),
                                 "--app.bus.key-prefix=" + prefix});
    return result;
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(every_accepted_order_completes_after_two_kill_minus_nine_under_load) {
  test_database db{"killload"};
  node_generations nodes{node_options{db.dsn(), node_flags}}; // killed ones kept for their logs
  auto launch = [&] { return &nodes.launch(); };
  auto logs = [&] { return nodes.problems(); };
  node_process* node = launch();
  order_load load{make_catalog(*node, 4, 5, 100)}; // ~600 units ordered: some REJECTED
  load.target(node->http_port());
  load.start(4);

  for (int kill = 1; kill <= 2; ++kill) {
    auto serving_since = steady::now();
    int before = load.created();
    // About a second of load on this node, with orders really flowing.
    BOOST_REQUIRE_MESSAGE(
        eventually(
            15s,
            [&] { return load.created() >= before + 20 && steady::now() - serving_since >= 1s; },
            20ms),
        "no load on node " << kill - 1 << ": " << load.summary() << logs());
    node->signal(SIGKILL);
    BOOST_TEST(node->wait_exit(5s) == 128 + SIGKILL, "kill " << kill);
    BOOST_TEST_MESSAGE("kill " << kill << " after " << load.created() << " accepted orders");
    node = launch();
    load.target(node->http_port());
  }
  require_progress(load, load.created() + 20, 20s, "after the second restart", logs);
  load.finish();

  require_settled(db.dsn(), logs);
  check_every_accepted_order(db.dsn(), *node, load);
  BOOST_TEST(load.created() > 0);
}

BOOST_AUTO_TEST_CASE(every_accepted_order_completes_after_the_database_restarts_under_load) {
  // The name is also the node's bus key prefix: a fixed one would share streams, consumers
  // and leases with every other run on the same broker server.
  private_cluster pg{"killload", "killload_" + std::to_string(::getpid())};
  node_process node{node_options{pg.dsn(), node_flags}};
  node.start();
  auto logs = [&] { return problems_in(node.log()); };
  order_load load{make_catalog(node, 4, 5, 30)};
  load.target(node.http_port());
  load.start(4);
  require_progress(load, 20, 15s, "before the outage", logs);

  pg.stop();
  int refused_before = load.unavailable();
  // The node answers 503 meanwhile (within the request timeout, never a hang).
  BOOST_TEST(eventually(
                 15s, [&] { return load.unavailable() >= refused_before + 20; }, 20ms),
             "503s during the outage: " << load.summary());
  BOOST_TEST(node.running());
  auto ready = node.client()->Get("/ready");
  BOOST_TEST((ready && ready->status == 503),
             "/ready during the outage: " << (ready ? ready->body : "no answer"));

  BOOST_REQUIRE(pg.start());
  require_progress(load, load.created() + 20, 20s, "after the database came back", logs);
  load.finish();

  BOOST_TEST(load.read_errors() == 0, "requests without an answer within 8 s: " << load.summary());
  BOOST_TEST(load.slowest_answer_ms() < 4000,
             "slowest answer (request timeout 2 s): " << load.summary());
  // The relay resumes by itself: no restart, no operator.
  require_settled(pg.dsn(), logs);
  check_every_accepted_order(pg.dsn(), node, load);
  BOOST_TEST(node.running());
}

BOOST_AUTO_TEST_CASE(every_accepted_order_completes_after_the_broker_restarts_under_load) {
  test_database db{"brokerload"};
  private_broker broker;
  BOOST_TEST_MESSAGE("broker: " << broker.backend);
  node_process node{node_options{db.dsn(), broker.flags(db.name())}};
  node.start();
  auto logs = [&] { return problems_in(node.log()); };
  order_load load{make_catalog(node, 4, 5, 100)};
  load.target(node.http_port());
  load.start(4);
  require_progress(load, 20, 15s, "before the broker went down", logs);

  broker.stop();
  // The outbox holds the events: orders are still accepted, and /ready says the bus is down.
  require_progress(load, load.created() + 20, 15s, "while the broker was down", logs);
  std::string ready_body;
  BOOST_TEST(eventually(5s,
                        [&] {
                          auto ready = node.client()->Get("/ready");
                          ready_body = ready ? ready->body : "no answer";
                          return ready && ready->status == 503 &&
                                 ready_body.find("broker unreachable") != std::string::npos;
                        }),
             "/ready during the broker outage: " << ready_body);

  BOOST_REQUIRE(broker.start());
  require_progress(load, load.created() + 20, 20s, "after the broker came back", logs);
  load.finish();
  // The relays and readers reconnect by themselves: no restart, no operator.
  require_settled(db.dsn(), logs);
  check_every_accepted_order(db.dsn(), node, load);
  auto ready = node.client()->Get("/ready");
  BOOST_TEST((ready && ready->status == 200),
             "/ready after the outage: " << (ready ? ready->body : "no answer"));
}
