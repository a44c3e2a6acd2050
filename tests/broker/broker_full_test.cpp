// Retention on a broker never costs an event. The consumers' node goes down while orders
// keep coming: the broker keeps everything they have not acknowledged, so the publisher's
// stream (or subject, or queue) fills up to app.bus.stream-maxlen; then the broker is
// refused events rather than made to drop any, the events wait in the outbox, and /ready
// on the gateway's node says which stream is full. When the consumers come back, every
// order's saga completes and the bus is up again. Runs on each broker (label broker).
#include "cluster.hpp"
#include "fault_probes.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr int orders_placed = 1100; // order.created entries: more than one stream may hold

std::string bus_check(node_process& node) {
  auto res = node.client()->Get("/ready");
  if (!res)
    return "";
  return json::parse(res->body)["checks"].value("bus", "");
}

long long count(const std::string& dsn, const std::string& where) {
  return scalar(dsn, "SELECT count(*) FROM orders.orders WHERE " + where);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_full_stream_refuses_events_and_loses_none) {
  const char* bus = std::getenv("MONOLITH_TEST_BUS");
  BOOST_REQUIRE_MESSAGE(bus && std::string{bus} != "actors",
                        "MONOLITH_TEST_BUS: a broker (ctest runs this test once per broker)");
  test_database db{"broker_full"};
  cluster nodes{db.dsn(),
                {{"a", true}, {"b", false}},
                {{"customers", "\"a\""},
                 {"orders", "\"a\""},
                 {"inventory", "\"b\""},
                 {"notifications", "\"b\""}},
                {"--app.bus.partitions=1", "--app.bus.stream-maxlen=1000",
                 "--app.relay.poll-interval=100ms", "--app.http.request-timeout=3s"}};
  nodes.start();
  auto& a = nodes["a"];
  auto c = make_catalog(a, 4, 4, 1000000);

  nodes["b"].signal(SIGTERM);
  BOOST_REQUIRE(nodes["b"].wait_exit(15s) != -1);

  // A client as a careful user writes it: each order under its own Idempotency-Key, sent
  // again while the answer is 503 or lost, so a slow moment of a loaded machine cannot
  // change how many orders exist.
  std::atomic<int> next{0}, accepted{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&] {
      auto http = a.client();
      for (int i = next++; i < orders_placed; i = next++) {
        json body = {{"customerId", c.customers[std::size_t(i) % c.customers.size()]},
                     {"items",
                      {{{"productId", c.products[std::size_t(i) % c.products.size()]},
                        {"quantity", 1},
                        {"price", 2.5}}}}};
        httplib::Headers key{{"Idempotency-Key", "broker-full-" + std::to_string(i)}};
        std::string outcome;
        for (int attempt = 0; attempt < 5; ++attempt) {
          auto res = http->Post("/orders", key, body.dump(), "application/json");
          outcome = res ? std::to_string(res->status) + " " + res->body : "no answer";
          if (res && res->status != 503)
            break;
          std::this_thread::sleep_for(200ms);
        }
        if (outcome.rfind("201 ", 0) == 0) {
          ++accepted;
        } else {
          std::lock_guard<std::mutex> guard{failures_mutex};
          failures.push_back("order " + std::to_string(i) + ": " + outcome);
        }
      }
    });
  for (auto& t : clients)
    t.join();
  BOOST_REQUIRE_MESSAGE(accepted.load() == orders_placed,
                        accepted.load() << " of " << orders_placed << " orders accepted; "
                                        << joined(failures) << "\nnode a's log:\n"
                                        << problems_in(a.log()));

  BOOST_REQUIRE_MESSAGE(
      eventually(30s, [&] { return bus_check(a).find("full") != std::string::npos; }),
      "/ready never said a stream is full; bus: " << bus_check(a) << "\nnode a's log:\n"
                                                  << problems_in(a.log()));
  BOOST_TEST_MESSAGE("/ready while the stream is full: bus \"" << bus_check(a) << "\"");
  BOOST_TEST(bus_check(a).rfind("down: ", 0) == 0u, bus_check(a));
  auto status = a.client()->Get("/ready");
  BOOST_TEST(status->status == 503, "a node whose broker refuses events is not ready");
  auto backlog = backlog_of(db.dsn(), {"orders"});
  BOOST_TEST(backlog.unpublished > 0, "events wait in the outbox: " << backlog.text());

  nodes["b"].start();
  BOOST_REQUIRE_MESSAGE(
      eventually(90s, [&] { return count(db.dsn(), "status = 'CONFIRMED'") == orders_placed; }),
      "confirmed " << count(db.dsn(), "status = 'CONFIRMED'") << " of " << orders_placed
                   << "; node a's log:\n"
                   << problems_in(a.log()) << "\nnode b's log:\n"
                   << problems_in(nodes["b"].log()));
  auto notified = [&](const std::string& template_name) {
    return scalar(db.dsn(), "SELECT count(*) FROM notifications.notifications WHERE template = '" +
                                template_name + "'");
  };
  BOOST_TEST(eventually(30s, [&] { return notified("order-confirmed") == orders_placed; }),
             notified("order-confirmed") << " order-confirmed notifications");
  BOOST_TEST(notified("order-created") == orders_placed);
  BOOST_TEST(eventually(15s, [&] { return bus_check(a) == "up"; }), bus_check(a));
  for (auto name : {"a", "b"})
    BOOST_TEST(nodes[name].log().find("trimmed before it was handled") == std::string::npos);
}
