// The gateway reached by hostile and careless clients, over real sockets against the real
// binary (a small pool, so that a few connections fill it): each attack gets a 4xx, a 503
// with Retry-After or a closed connection, never an amplified or unbounded reply, and
// afterwards a fresh client is served within 1 s. Run twice: against the gateway directly,
// and through the edge (nginx) as scripts/run starts it (MONOLITH_TEST_EDGE=1).
#include "node_process.hpp"
#include "raw_http.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr int pool_threads = 8;
constexpr int pool_queue = 8;

struct edge_node {
  edge_node() {
    ::signal(SIGPIPE, SIG_IGN); // a refused request closes the socket under the sender
    node.start();
  }
  test_database db{"edge"};
  node_process node{
      node_options{db.dsn(),
                   {"--app.http.threads=" + std::to_string(pool_threads),
                    "--app.http.max-queued-connections=" + std::to_string(pool_queue),
                    "--app.http.header-timeout=2s", "--app.http.keep-alive-timeout=2s"}}};
};

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// A fresh client's GET /health: its status within 1 s (0 when none came).
int fresh_health(int port) {
  raw_connection c{port};
  if (!c.connected() ||
      !c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1000ms))
    return 0;
  return status_of(c.read_all(1000ms));
}

// Served at once, or (pool full) told to come back, with Retry-After, at once.
void require_answered_fast(int port) {
  raw_connection c{port};
  BOOST_REQUIRE(c.connected());
  BOOST_REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1000ms));
  auto reply = c.read_all(1000ms);
  auto status = status_of(reply);
  BOOST_TEST((status == 200 || status == 503), "a fresh client got no answer within 1 s");
  if (status == 503)
    BOOST_TEST(reply.find("Retry-After: ") != std::string::npos);
}

// After an attack has gone, the gateway serves a fresh client within 1 s (the pool's
// threads come free within the header timeout, 2 s here).
void require_served_afterwards(int port) {
  int status = 0;
  for (auto until = steady::now() + 4s; status != 200 && steady::now() < until;)
    status = fresh_health(port);
  BOOST_TEST(status == 200, "the gateway no longer serves a fresh client");
  BOOST_TEST(fresh_health(port) == 200);
}

std::string created_customer(int port) {
  raw_connection c{port};
  std::string body = R"({"name":"Edge","email":"edge@example.com"})";
  c.send("POST /customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  auto reply = c.read_all(5000ms);
  auto at = reply.find("\"id\":\"");
  BOOST_REQUIRE(at != std::string::npos);
  return reply.substr(at + 6, 36);
}

std::string get(const std::string& path, const std::string& headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "Connection: close\r\n\r\n";
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(gateway_edge, edge_node)

BOOST_AUTO_TEST_CASE(a_range_header_never_amplifies_a_reply) {
  auto port = node.http_port();
  auto path = "/customers/" + created_customer(port);
  raw_connection plain{port};
  plain.send(get(path));
  auto expected = plain.read_all(5000ms);
  BOOST_REQUIRE(status_of(expected) == 200);
  std::string ranges = "Range: bytes=0-";
  for (int i = 1; i < 1500; ++i)
    ranges += ",0-";
  raw_connection ranged{port};
  ranged.send(get(path, ranges + "\r\n"));
  auto reply = ranged.read_all(5000ms);
  BOOST_TEST(status_of(reply) == 200);
  BOOST_TEST(reply.size() < expected.size() + 200, "a reply of " << reply.size() << " bytes");
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(too_many_order_lines_are_refused_before_any_is_read) {
  auto port = node.http_port();
  std::string items = "{}";
  for (int i = 1; i < 100000; ++i)
    items += ",{}";
  auto body = R"({"customerId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","items":[)" + items + "]}";
  auto request = "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
  // Many at once, as a client that wants the gateway stopped would send them.
  std::vector<std::thread> senders;
  std::vector<std::string> replies(pool_threads);
  for (int i = 0; i < pool_threads; ++i)
    senders.emplace_back([&, i] {
      raw_connection c{port};
      c.send(request);
      replies[std::size_t(i)] = c.read_all(10000ms);
    });
  for (auto& t : senders)
    t.join();
  for (auto& reply : replies) {
    BOOST_TEST(status_of(reply) == 400);
    BOOST_TEST(reply.find(R"("field":"items")") != std::string::npos);
    BOOST_TEST(count_of(reply, "\"field\"") <= 2, "details list every element: " << reply.size());
  }
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(a_header_line_that_never_ends_is_cut_off) {
  auto port = node.http_port();
  raw_connection c{port};
  c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ");
  bool took_all = c.send(std::string(8 * 1024 * 1024, 'a'), 3000ms);
  auto reply = c.read_all(3000ms);
  auto status = status_of(reply);
  if (through_edge()) {
    // nginx answers 400 once a line outgrows its buffer (8 KiB), then reads and drops
    // what still comes for a bounded lingering time, keeping none of it.
    BOOST_TEST(status == 400, "answered " << status);
  } else {
    BOOST_TEST(!took_all, "the gateway read 8 MiB of one header line");
    BOOST_TEST((status == 0 || (status >= 400 && status < 500)), "answered " << status);
  }
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(twenty_thousand_headers_are_refused) {
  auto port = node.http_port();
  std::string headers;
  for (int i = 0; i < 20000; ++i)
    headers += "X-H" + std::to_string(i) + ": v\r\n";
  raw_connection c{port};
  c.send(get("/health", headers), 3000ms);
  auto status = status_of(c.read_all(3000ms));
  BOOST_TEST((status == 0 || (status >= 400 && status < 500)), "answered " << status);
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(an_oversized_request_line_is_refused) {
  auto port = node.http_port();
  raw_connection c{port};
  c.send("GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 3000ms);
  auto status = status_of(c.read_all(3000ms));
  BOOST_TEST((status == 0 || (status >= 400 && status < 500)), "answered " << status);
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(connections_trickling_headers_do_not_hold_the_gateway) {
  auto port = node.http_port();
  std::vector<std::unique_ptr<raw_connection>> slow;
  for (int i = 0; i < 5 * pool_threads; ++i) {
    slow.push_back(std::make_unique<raw_connection>(port));
    slow.back()->send("GET /health HTTP/1.1\r\n");
  }
  // A byte every 200 ms each, for longer than the header timeout (2 s).
  for (int round = 0; round < 15; ++round) {
    for (auto& c : slow)
      c->send("X", 10ms);
    if (round == 2)
      require_answered_fast(port);
    std::this_thread::sleep_for(200ms);
  }
  std::string open;
  for (std::size_t i = 0; i < slow.size(); ++i)
    if (!slow[i]->closed_within(100ms))
      open += " " + std::to_string(i);
  BOOST_TEST(open.empty(), "connections still open after the header timeout:" << open);
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connections_do_not_hold_the_gateway) {
  auto port = node.http_port();
  std::vector<std::unique_ptr<raw_connection>> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<raw_connection>(port));
    if (i % 2 == 0) { // half after one request, kept alive; half never say a word
      idle.back()->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    }
  }
  std::this_thread::sleep_for(300ms);
  require_answered_fast(port);
  require_answered_fast(port);
  idle.clear();
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(a_full_pool_turns_new_connections_away_with_retry_after) {
  auto port = node.http_port();
  // Each holds a thread while its body is slow to come (a request whose headers came
  // whole), then the queue fills with connections that have not sent anything yet.
  std::vector<std::unique_ptr<raw_connection>> holders;
  for (int i = 0; i < pool_threads; ++i) {
    holders.push_back(std::make_unique<raw_connection>(port));
    holders.back()->send("POST /customers HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/json\r\nContent-Length: 100\r\n\r\n{");
  }
  std::this_thread::sleep_for(300ms); // any connection kept alive from before has yielded
  for (int i = 0; i < pool_queue; ++i)
    holders.push_back(std::make_unique<raw_connection>(port));
  std::this_thread::sleep_for(50ms);
  raw_connection late{port};
  late.send(get("/health"));
  auto reply = late.read_all(1000ms);
  if (through_edge()) {
    // The edge reads bodies whole before a gateway sees them: the slow senders and the
    // silent connections hold nothing of the gateway's, and everyone else is served.
    BOOST_TEST(status_of(reply) == 200, "reply: " << reply);
  } else {
    BOOST_TEST(status_of(reply) == 503, "reply: " << reply);
    BOOST_TEST(reply.find("Retry-After: 1") != std::string::npos);
    BOOST_TEST(reply.find(R"("code":"UNAVAILABLE")") != std::string::npos);
  }
  holders.clear();
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_CASE(a_body_the_gateway_leaves_unread_is_never_a_second_request) {
  auto port = node.http_port();
  std::string smuggled = "GET /admin/outbox HTTP/1.1\r\nHost: x\r\n\r\n";
  for (auto& method : {"GET /health", "OPTIONS /health", "GET /nowhere", "DELETE /health"}) {
    BOOST_TEST_CONTEXT(method) {
      raw_connection c{port};
      c.send(std::string{method} + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
      auto replies = c.read_all(2000ms);
      BOOST_TEST(count_of(replies, "HTTP/1.1 ") == 1, replies);
    }
  }
  // Transfer-Encoding in another case, beside a Content-Length.
  raw_connection c{port};
  c.send("POST /customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 4\r\ntRANSFER-ENCODING: chunked\r\n\r\n0\r\n\r\n" +
         smuggled);
  auto replies = c.read_all(2000ms);
  BOOST_TEST(count_of(replies, "HTTP/1.1 ") <= 1, replies);
  BOOST_TEST(replies.find("\"pending\"") == std::string::npos);
  require_served_afterwards(port);
}

BOOST_AUTO_TEST_SUITE_END()
