// Every request has one deadline: a command whose caller has been answered 503 (the
// module did not answer within app.http.request-timeout) is never committed afterwards.
// The test holds a lock on the module's table, so that commands stall inside their
// transaction or wait behind one, lets the gateway give up, then releases the lock and
// checks that none of those commands (nor their events) landed, and that the module
// serves the next command as usual.
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

struct deadline_node {
  deadline_node() { node.start(); }
  test_database db{"deadline"};
  node_process node{node_options{db.dsn(), {"--app.http.request-timeout=1s"}}};

  long long count(const std::string& sql) {
    persistence::pg_connection admin{db.dsn()};
    return admin.exec(sql).integer(0, 0);
  }

  std::string created(const std::string& path, const std::string& body) {
    auto reply = node.client()->Post(path.c_str(), body, "application/json");
    BOOST_REQUIRE(reply);
    BOOST_REQUIRE_MESSAGE(reply->status == 201, reply->body);
    return body_of(reply)["data"]["id"].get<std::string>();
  }
};

struct reply {
  int status = 0;
  std::chrono::milliseconds took{0};
};

// POSTs `bodies` to `path` at once, while `table` is locked against writes for 2.5 s
// (the gateway gives up after 1 s); returns each reply once the lock has gone.
std::vector<reply> post_while_locked(deadline_node& f, const std::string& table,
                                     const std::string& path,
                                     const std::vector<std::string>& bodies) {
  persistence::pg_connection locker{f.db.dsn()};
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE " + table + " IN EXCLUSIVE MODE");
  std::vector<std::future<reply>> pending;
  for (auto& body : bodies)
    pending.push_back(std::async(std::launch::async, [&f, path, body] {
      auto started = std::chrono::steady_clock::now();
      auto r = f.node.client()->Post(path.c_str(), body, "application/json");
      return reply{r ? r->status : 0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started)};
    }));
  std::this_thread::sleep_for(2500ms);
  locker.exec("COMMIT");
  std::vector<reply> replies;
  for (auto& p : pending)
    replies.push_back(p.get());
  std::this_thread::sleep_for(500ms); // what would commit late has had time to
  return replies;
}

void require_gave_up_in_time(const std::vector<reply>& replies) {
  for (auto& r : replies) {
    BOOST_TEST(r.status == 503);
    BOOST_TEST(r.took.count() < 2000, "answered after " << r.took.count() << " ms");
  }
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(command_deadline, deadline_node)

// write_batch: one command stalls inside its transaction, the others wait behind it.
BOOST_AUTO_TEST_CASE(registrations_whose_callers_gave_up_are_never_committed) {
  auto replies = post_while_locked(*this, "customers.customers", "/customers",
                                   {R"({"name":"A","email":"late-a@x.io"})",
                                    R"({"name":"B","email":"late-b@x.io"})",
                                    R"({"name":"C","email":"late-c@x.io"})"});
  require_gave_up_in_time(replies);
  BOOST_TEST(count("SELECT count(*) FROM customers.customers WHERE email LIKE 'late-%'") == 0);
  BOOST_TEST(count("SELECT count(*) FROM customers.outbox") == 0);
  created("/customers", R"({"name":"D","email":"on-time@x.io"})");
  BOOST_TEST(count("SELECT count(*) FROM customers.customers") == 1);
}

// set_batch: a group of placements stalls inside its transaction.
BOOST_AUTO_TEST_CASE(orders_whose_callers_gave_up_are_never_committed) {
  auto customer = created("/customers", R"({"name":"A","email":"buyer@x.io"})");
  auto product = created("/products", R"({"sku":"LATE-1","name":"P","price":1.5,"stock":100})");
  auto order = R"({"customerId":")" + customer + R"(","items":[{"productId":")" + product +
               R"(","quantity":1,"price":1.5}]})";
  auto replies = post_while_locked(*this, "orders.orders", "/orders", {order, order, order});
  require_gave_up_in_time(replies);
  BOOST_TEST(count("SELECT count(*) FROM orders.orders") == 0);
  BOOST_TEST(count("SELECT count(*) FROM orders.outbox") == 0);
  created("/orders", order);
  BOOST_TEST(count("SELECT count(*) FROM orders.orders") == 1);
}

// A command alone in its transaction (command_in_transaction).
BOOST_AUTO_TEST_CASE(a_restock_whose_caller_gave_up_is_never_committed) {
  auto product = created("/products", R"({"sku":"LATE-2","name":"P","price":1.5,"stock":100})");
  auto replies = post_while_locked(*this, "inventory.products", "/products/" + product + "/restock",
                                   {R"({"quantity":5})"});
  require_gave_up_in_time(replies);
  BOOST_TEST(count("SELECT stock FROM inventory.products") == 100);
  auto after = node.client()->Post(("/products/" + product + "/restock").c_str(),
                                   R"({"quantity":5})", "application/json");
  BOOST_REQUIRE(after);
  BOOST_TEST(after->status == 200);
  BOOST_TEST(count("SELECT stock FROM inventory.products") == 105);
}

BOOST_AUTO_TEST_SUITE_END()
