// PostgreSQL stopped and started again under a running node (its own private cluster,
// so other tests are not disturbed): requests get 503 UNAVAILABLE within the request
// timeout meanwhile, /ready says the database is down, and the first request after
// recovery succeeds without restarting the node. A request refused during the outage
// left nothing behind.
#include "node_process.hpp"
#include "private_cluster.hpp"

#include <boost/test/unit_test.hpp>

using namespace testing_support;

BOOST_AUTO_TEST_CASE(database_outage_gives_503_then_recovers_without_a_restart) {
  private_cluster pg{"outage", "outage"};
  node_process node{{pg.dsn(), {"--app.http.request-timeout=2s"}}};
  node.start();
  auto http = node.client();
  auto created =
      body_of(http->Post("/customers", R"({"name":"A","email":"a@x.io"})", "application/json"));
  auto id = created["data"]["id"].get<std::string>();

  pg.stop();
  auto started = std::chrono::steady_clock::now();
  auto during = http->Get(("/customers/" + id).c_str());
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(during);
  BOOST_TEST(during->status == 503);
  BOOST_TEST(body_of(during)["error"]["code"] == "UNAVAILABLE");
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 4000);
  auto refused = http->Post("/customers", R"({"name":"B","email":"b@x.io"})", "application/json");
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->status == 503);
  // An order's customer check fails with the database: 503, and nothing is placed.
  const std::string order = R"({"customerId":")" + id +
                            R"(","items":[{"productId":"00000000-0000-4000-8000-000000000001",)"
                            R"("quantity":1,"price":2.5}]})";
  auto unplaced = http->Post("/orders", order, "application/json");
  BOOST_REQUIRE(unplaced);
  BOOST_TEST(unplaced->status == 503, unplaced->body);
  BOOST_TEST(body_of(unplaced)["error"]["code"] == "UNAVAILABLE");
  auto ready = http->Get("/ready");
  BOOST_REQUIRE(ready);
  BOOST_TEST(ready->status == 503);
  BOOST_TEST(body_of(ready)["status"] == "not-ready");
  BOOST_TEST(body_of(ready)["checks"]["database"].get<std::string>().rfind("down", 0) == 0);
  BOOST_TEST(node.running());

  BOOST_REQUIRE(pg.start());
  // Every worker held a connection from before the outage: each must notice and reconnect.
  for (int i = 0; i < 8; ++i) {
    auto after = http->Get(("/customers/" + id).c_str());
    BOOST_REQUIRE(after);
    BOOST_TEST(after->status == 200, "request " << i << " after recovery: " << after->body);
  }
  auto retried = http->Post("/customers", R"({"name":"B","email":"b@x.io"})", "application/json");
  BOOST_REQUIRE(retried);
  BOOST_TEST(retried->status == 201, retried->body);
  auto placed = http->Post("/orders", order, "application/json");
  BOOST_REQUIRE(placed);
  BOOST_TEST(placed->status == 201, placed->body);
  auto listed = body_of(http->Get(("/orders?customerId=" + id).c_str()));
  BOOST_TEST(listed["data"].size() == 1u,
             "the order refused during the outage was placed: " << listed.dump());
  auto ready_again = http->Get("/ready");
  BOOST_REQUIRE(ready_again);
  BOOST_TEST(ready_again->status == 200, ready_again->body);
}
