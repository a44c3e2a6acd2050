// The node as a process: it starts against an empty database (migrations included),
// starts again on the same database (migrations are idempotent), refuses a bad
// configuration naming the key, stops cleanly on SIGTERM/SIGINT while a request is in
// flight, and its stop is bounded: a signal during start-up is honoured, slow clients do
// not hold the stop, and a second signal ends it at once.
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include "persistence/pg.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <thread>

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
      auto res = client->Post(
          "/customers",
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

namespace {

using std::chrono::milliseconds;

long long millis_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// A raw connection that has sent `bytes` and then says nothing more; closed with it.
struct stalled_client {
  int fd;
  stalled_client(int port, const std::string& bytes) : fd(connect_loopback(port)) {
    if (fd >= 0)
      (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  ~stalled_client() {
    if (fd >= 0)
      ::close(fd);
  }
  stalled_client(const stalled_client&) = delete;
  stalled_client& operator=(const stalled_client&) = delete;
};

} // namespace

// Any process that reaches a node port is a peer: a node without peers has none.
BOOST_AUTO_TEST_CASE(a_node_without_peers_opens_no_node_port) {
  test_database db{"noport"};
  node_process node{{db.dsn()}};
  node.start();
  int fd = connect_loopback(node.node_port());
  if (fd >= 0)
    ::close(fd);
  BOOST_TEST(fd < 0, "port " << node.node_port() << " accepted a connection");
  BOOST_TEST(node.client()->Get("/ready")->status == 200);
}

BOOST_AUTO_TEST_CASE(a_signal_during_start_up_stops_the_node) {
  // Nothing listens there: the node waits for its database (up to 30 s) before migrating.
  node_process node{{"host=127.0.0.1 port=" + std::to_string(free_port()) +
                     " user=postgres dbname=nowhere connect_timeout=1"}};
  node.launch();
  std::this_thread::sleep_for(milliseconds{1500});
  BOOST_REQUIRE_MESSAGE(node.running(), node.log());
  auto started = std::chrono::steady_clock::now();
  node.signal(SIGTERM);
  BOOST_TEST(node.wait_exit(std::chrono::seconds{5}) == 0, node.log());
  BOOST_TEST(millis_since(started) < 2000);
  BOOST_TEST(node.log().find("stopped before start") != std::string::npos, node.log());
}

BOOST_AUTO_TEST_CASE(slow_clients_do_not_hold_the_stop) {
  test_database db{"slowstop"};
  node_process node{{db.dsn(), {"--app.http.header-timeout=60s", "--app.http.body-timeout=60s"}}};
  node.start();
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::unique_ptr<stalled_client>> clients;
  for (int i = 0; i < 100; ++i) { // half in their headers, half in their bodies
    clients.push_back(
        std::make_unique<stalled_client>(node.gateway_port(), "GET /health HTTP/1.1\r\n"));
    clients.push_back(std::make_unique<stalled_client>(
        node.gateway_port(), "POST /customers HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             "application/json\r\nContent-Length: 1000\r\n\r\n{\"name\""));
  }
  std::this_thread::sleep_for(milliseconds{300});
  auto started = std::chrono::steady_clock::now();
  node.signal(SIGTERM);
  BOOST_TEST(node.wait_exit(std::chrono::seconds{30}) == 0, node.log());
  BOOST_TEST(millis_since(started) < 3000, "the stop took " << millis_since(started)
                                                            << " ms; the log ends:\n"
                                                            << tail_of(node.log(), 8));
}

BOOST_AUTO_TEST_CASE(a_second_signal_ends_the_stop_at_once) {
  test_database db{"twosignals"};
  node_process node{{db.dsn(), {"--app.http.request-timeout=10s"}}};
  node.start();
  // A registration stalls on a locked table: the stop waits for it (up to the request
  // timeout) until a second signal.
  persistence::pg_connection locker{db.dsn()};
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE customers.customers IN EXCLUSIVE MODE");
  auto client = node.client();
  auto in_flight = std::async(std::launch::async, [&client] {
    return client->Post("/customers", R"({"name":"N","email":"n@x.io"})", "application/json");
  });
  std::this_thread::sleep_for(milliseconds{300});
  node.signal(SIGTERM);
  std::this_thread::sleep_for(milliseconds{500});
  BOOST_REQUIRE_MESSAGE(node.running(), "the first signal did not wait for the request");
  auto started = std::chrono::steady_clock::now();
  node.signal(SIGTERM);
  BOOST_TEST(node.wait_exit(std::chrono::seconds{5}) == 1, node.log());
  BOOST_TEST(millis_since(started) < 1000);
  BOOST_TEST(node.log().find("second stop signal") != std::string::npos, node.log());
  locker.exec("COMMIT");
  in_flight.wait();
}
