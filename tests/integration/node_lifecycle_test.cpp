// The node as a process: it starts against an empty database (migrations included),
// starts again on the same database (migrations are idempotent), refuses a bad
// configuration naming the key, and stops cleanly on SIGTERM/SIGINT while a request is
// in flight.
#include "node_process.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <future>

using namespace testing_support;

BOOST_AUTO_TEST_CASE(starts_twice_on_the_same_database) {
  test_database db{"lifecycle"};
  for (int round = 0; round < 2; ++round) {
    node_process node{{db.dsn()}};
    node.start();
    auto ready = node.client()->Get("/ready");
    BOOST_REQUIRE(ready);
    BOOST_TEST(ready->status == 200, ready->body);
    auto body = body_of(ready);
    BOOST_TEST(body["status"] == "ready");
    BOOST_TEST(body["checks"]["database"] == "up");
    BOOST_TEST(body["checks"]["customers"] == "up");
    BOOST_TEST(body["checks"]["inventory"] == "up");
  }
}

BOOST_AUTO_TEST_CASE(health_answers_while_the_process_runs) {
  test_database db{"health"};
  node_process node{{db.dsn()}};
  node.start();
  auto res = node.client()->Get("/health");
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200);
  BOOST_TEST(body_of(res) == nlohmann::json({{"status", "ok"}}));
}

BOOST_AUTO_TEST_CASE(refuses_a_bad_configuration_naming_the_key) {
  node_process node{{"host=127.0.0.1", {"--app.http.threads=zero"}}};
  BOOST_CHECK_THROW(node.start(), std::runtime_error);
  BOOST_TEST(node.wait_exit(std::chrono::seconds{5}) == 2);
  BOOST_TEST(node.log().find("app.http.threads") != std::string::npos, node.log());
}

BOOST_AUTO_TEST_CASE(sigterm_finishes_requests_in_flight_and_exits_zero) {
  test_database db{"shutdown"};
  node_process node{{db.dsn()}};
  node.start();
  auto client = node.client();
  // Keep requests flowing while the signal arrives: every answered one must be complete.
  auto load = std::async(std::launch::async, [&] {
    int ok = 0;
    for (int i = 0; i < 200; ++i) {
      auto res = client->Post("/customers",
                              nlohmann::json{{"name", "N"}, {"email", "n" + std::to_string(i) + "@x.io"}}.dump(),
                              "application/json");
      if (!res)
        break;
      BOOST_TEST((res->status == 201 || res->status == 503), res->status);
      ok += res->status == 201;
    }
    return ok;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  auto started = std::chrono::steady_clock::now();
  node.signal(SIGTERM);
  int status = node.wait_exit(std::chrono::seconds{20});
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(status == 0, node.log());
  BOOST_TEST(std::chrono::duration_cast<std::chrono::seconds>(took).count() < 10);
  BOOST_TEST(load.get() > 0);
  BOOST_TEST(node.log().find("\"msg\":\"stopped\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigint_stops_the_node_too) {
  test_database db{"sigint"};
  node_process node{{db.dsn()}};
  node.start();
  node.signal(SIGINT);
  BOOST_TEST(node.wait_exit(std::chrono::seconds{10}) == 0, node.log());
}
