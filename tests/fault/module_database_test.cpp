// A module's data on a database server of its own, chosen by configuration
// (app.databases, app.module-database): inventory and notifications live on a second
// PostgreSQL server this test starts. The saga runs across both servers, on one node and
// on two; with the second server stopped under load, inventory answers 503 while orders
// are still accepted, and once it is back (or after a kill -9 of the node) every accepted
// order completes, nothing lost and nothing applied twice.
// scripts/move-module-data moves a module's data to another server, and a node still
// configured for the old place refuses to start. /ready tells a module's schema missing.
#include "cluster.hpp"
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "order_load.hpp"
#include "private_cluster.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// SIGPIPE from a socket a stopping node closed under a writing client is not a crash.
struct ignore_sigpipe {
  ignore_sigpipe() { ::signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

// The main database (the test cluster's) and a second server for inventory and
// notifications; both names carry the PID, as they are also the bus's key prefix.
struct two_servers {
  test_database main{"moduledb"};
  private_cluster stock{"stockdb", "stock_" + std::to_string(::getpid())};

  std::vector<std::string> flags() const {
    return {"--app.http.request-timeout=2s", "--app.relay.lease-ttl=2s",
            "--app.databases.stock=" + stock.dsn(), "--app.module-database.inventory=stock",
            "--app.module-database.notifications=stock"};
  }
};

json ready_checks(node_process& node) {
  auto res = node.client()->Get("/ready");
  return res ? json::parse(res->body).value("checks", json::object()) : json::object();
}

// Event ids of `publisher`'s events that `consumer` has not handled yet, the outbox and the
// inbox being in whichever databases hold them.
std::vector<std::string> unhandled(const std::string& outbox_dsn, const std::string& publisher,
                                   const std::string& events, const std::string& inbox_dsn,
                                   const std::string& consumer) {
  auto published = column(outbox_dsn, "SELECT id::text FROM " + publisher +
                                          ".outbox WHERE event_name IN (" + events + ")");
  auto schema = consumer.substr(0, consumer.find('.'));
  auto handled = column(inbox_dsn, "SELECT event_id::text FROM " + schema +
                                       ".inbox WHERE consumer = '" + consumer + "'");
  std::set<std::string> seen(handled.begin(), handled.end());
  std::vector<std::string> missing;
  for (auto& id : published)
    if (!seen.count(id))
      missing.push_back(id);
  return missing;
}

// Every order final and every saga event handled by its consumers, across both servers.
bool settled(const two_servers& db, std::string& why) {
  try {
    auto pending =
        scalar(db.main.dsn(), "SELECT count(*) FROM orders.orders WHERE status = 'PENDING'");
    auto to_inventory = unhandled(db.main.dsn(), "orders", "'order.created', 'order.cancelled'",
                                  db.stock.dsn(), "inventory.order-events");
    auto to_notifications =
        unhandled(db.main.dsn(), "orders",
                  "'order.created', 'order.confirmed', 'order.rejected', 'order.cancelled'",
                  db.stock.dsn(), "notifications.order-events");
    auto to_orders = unhandled(db.stock.dsn(), "inventory",
                               "'inventory.reserved', "
                               "'inventory.rejected'",
                               db.main.dsn(), "orders.inventory-events");
    why = std::to_string(pending) +
          " orders PENDING, unhandled: " + std::to_string(to_inventory.size()) + " by inventory, " +
          std::to_string(to_notifications.size()) + " by notifications, " +
          std::to_string(to_orders.size()) + " by orders";
    return pending == 0 && to_inventory.empty() && to_notifications.empty() && to_orders.empty();
  } catch (const std::exception& e) {
    why = e.what(); // a server still coming back
    return false;
  }
}

void require_settled(const two_servers& db, const std::function<std::string()>& logs) {
  std::string why;
  BOOST_REQUIRE_MESSAGE(eventually(
                            60s, [&] { return settled(db, why); }, 200ms),
                        "not settled 60 s after the load stopped: " << why << logs());
}

// What every scenario ends with: each order answered 201 exists and is final; each order
// has exactly one order-created notification and no event was notified twice; the units
// reserved of each product are those of its confirmed orders.
void check_every_accepted_order(const two_servers& db, node_process& node, order_load& load) {
  auto ids = load.ids();
  BOOST_TEST(load.unexpected().empty(), "unexpected answers: " << joined(load.unexpected()));
  auto http = node.client();
  std::vector<std::string> wrong;
  for (auto& id : ids) {
    auto got = get_answered(*http, "/orders/" + id);
    if (!got || got->status != 200) {
      wrong.push_back(id + " not found");
      continue;
    }
    auto status = json::parse(got->body)["data"]["status"].get<std::string>();
    if (status != "CONFIRMED" && status != "REJECTED")
      wrong.push_back(id + " is " + status);
  }
  BOOST_TEST(wrong.empty(), "orders answered 201: " << joined(wrong));
  auto orders = scalar(db.main.dsn(), "SELECT count(*) FROM orders.orders");
  // A kill -9 may take the 201 of an order it committed: at most one per client (4).
  BOOST_TEST(orders >= long(ids.size()));
  BOOST_TEST(orders <= long(ids.size()) + 4);
  auto created = column(db.stock.dsn(), "SELECT order_id::text FROM notifications.notifications "
                                        "WHERE template = 'order-created'");
  BOOST_TEST(long(created.size()) == orders,
             "order-created notifications: " << created.size() << " for " << orders << " orders");
  BOOST_TEST(std::set<std::string>(created.begin(), created.end()).size() == created.size(),
             "an order has two order-created notifications");
  auto twice = column(db.stock.dsn(), "SELECT event_id || ' ' || template FROM "
                                      "notifications.notifications GROUP BY event_id, template "
                                      "HAVING count(*) > 1");
  BOOST_TEST(twice.empty(), "notified twice: " << joined(twice));
  // Units reserved per product (second server) against the lines of confirmed orders (main).
  auto taken =
      column(db.stock.dsn(), "SELECT id || ' ' || reserved FROM inventory.products ORDER BY id");
  auto reserved = column(
      db.main.dsn(),
      "SELECT p.id || ' ' || coalesce(sum((line->>'quantity')::int) FILTER (WHERE o.status = "
      "'CONFIRMED'), 0) FROM (SELECT DISTINCT line->>'productId' AS id FROM orders.orders, "
      "jsonb_array_elements(items) line) p LEFT JOIN (orders.orders o CROSS JOIN LATERAL "
      "jsonb_array_elements(o.items) line) ON line->>'productId' = p.id GROUP BY p.id ORDER BY "
      "p.id");
  for (auto& r : reserved)
    BOOST_TEST((std::find(taken.begin(), taken.end(), r) != taken.end()),
               "product and units of confirmed orders " << r << " vs units reserved "
                                                        << joined(taken));
}

int run(const std::string& command) {
  return std::system(command.c_str());
}

} // namespace

BOOST_AUTO_TEST_CASE(the_saga_survives_the_second_database_server_stopping_under_load) {
  two_servers db;
  node_process node{node_options{db.main.dsn(), db.flags()}};
  node.start();
  auto logs = [&] { return problems_in(node.log()); };
  auto checks = ready_checks(node);
  BOOST_TEST(checks["database:main"] == "up", checks.dump());
  BOOST_TEST(checks["database:stock"] == "up", checks.dump());
  // Each module's tables are in its own database, and only there.
  BOOST_TEST(scalar(db.stock.dsn(), "SELECT count(*) FROM pg_namespace WHERE nspname IN "
                                    "('inventory', 'notifications')") == 2);
  BOOST_TEST(scalar(db.main.dsn(), "SELECT count(*) FROM pg_namespace WHERE nspname IN "
                                   "('inventory', 'notifications')") == 0);
  BOOST_TEST(scalar(db.stock.dsn(), "SELECT count(*) FROM pg_namespace WHERE nspname IN "
                                    "('orders', 'customers')") == 0);

  const int initial_stock = 60;
  auto catalog = make_catalog(node, 4, 5, initial_stock);
  auto product = catalog.products.front();
  order_load load{catalog};
  load.target(node.http_port());
  load.start(4);
  require_progress(load, 30, 15s, "with both servers up", logs);

  db.stock.stop();
  // Inventory's routes answer 503; orders (main database) are still accepted.
  auto http = node.client();
  BOOST_TEST(eventually(5s, [&] {
    auto res = http->Get(("/products/" + product).c_str());
    return res && res->status == 503;
  }));
  require_progress(load, load.created() + 20, 15s, "with the second server stopped", logs);
  auto ready = http->Get("/ready");
  BOOST_REQUIRE(ready);
  BOOST_TEST(ready->status == 503);
  checks = json::parse(ready->body)["checks"];
  BOOST_TEST(checks["database:stock"] == "down: unreachable", checks.dump());
  BOOST_TEST(checks["database:main"] == "up", checks.dump());
  BOOST_TEST(checks["inventory"] == "down: database unreachable", checks.dump());
  BOOST_TEST(checks["orders"] == "up", checks.dump());
  auto customer = http->Get(("/customers/" + catalog.customers.front()).c_str());
  BOOST_TEST((customer && customer->status == 200));

  BOOST_REQUIRE(db.stock.start());
  require_progress(load, load.created() + 20, 20s, "after the second server came back", logs);
  load.finish();
  require_settled(db, logs);
  check_every_accepted_order(db, node, load);
  BOOST_TEST(eventually(5s, [&] {
    auto res = node.client()->Get("/ready");
    return res && res->status == 200;
  }));
  BOOST_TEST(node.running());
}

BOOST_AUTO_TEST_CASE(kill_minus_nine_under_load_loses_nothing_across_two_servers) {
  two_servers db;
  node_generations nodes{
      node_options{db.main.dsn(), db.flags()}}; // killed ones kept for their logs
  auto launch = [&] { return &nodes.launch(); };
  auto logs = [&] { return nodes.problems(); };
  auto* node = launch();
  order_load load{make_catalog(*node, 4, 5, 100)};
  load.target(node->http_port());
  load.start(4);
  require_progress(load, 30, 15s, "before the kill", logs);
  node->signal(SIGKILL);
  BOOST_TEST(node->wait_exit(5s) == 128 + SIGKILL);
  node = launch();
  load.target(node->http_port());
  require_progress(load, load.created() + 20, 20s, "after the restart", logs);
  load.finish();
  require_settled(db, logs);
  check_every_accepted_order(db, *node, load);
}

BOOST_AUTO_TEST_CASE(two_nodes_with_inventory_and_notifications_on_their_own_server) {
  two_servers db;
  cluster nodes{db.main.dsn(),
                {{"a", true}, {"b", false}},
                {{"customers", "\"a\""},
                 {"orders", "\"a\""},
                 {"inventory", "\"b\""},
                 {"notifications", "\"b\""}},
                db.flags()};
  nodes.start();
  auto& a = nodes["a"];
  auto logs = [&] { return problems_in(a.log()) + problems_in(nodes["b"].log()); };
  order_load load{make_catalog(a, 3, 4, 50)};
  load.target(a.http_port());
  load.start(3);
  require_progress(load, 40, 20s, "on two nodes", logs);
  load.finish();
  require_settled(db, logs);
  check_every_accepted_order(db, a, load);
  // Node a runs no module of the second server: /ready names only the main database.
  auto checks = ready_checks(a);
  BOOST_TEST(checks["database"] == "up", checks.dump());
  BOOST_TEST(!checks.contains("database:stock"), checks.dump());
}

BOOST_AUTO_TEST_CASE(moving_a_module_to_another_server_by_script_and_configuration) {
  two_servers db;
  auto move = std::string{MONOLITH_SOURCE_DIR} + "/scripts/move-module-data";
  std::vector<std::string> on_main = {"--app.http.request-timeout=2s"};
  std::string product, customer;
  {
    node_process node{node_options{db.main.dsn(), on_main}};
    node.start();
    auto catalog = make_catalog(node, 1, 1, 10);
    product = catalog.products.front();
    customer = catalog.customers.front();
    // The move refuses while a node runs the module.
    BOOST_TEST(run(move + " inventory '" + db.main.dsn() + "' '" + db.stock.dsn() + "'") != 0);
  }
  BOOST_REQUIRE(run(move + " inventory '" + db.main.dsn() + "' '" + db.stock.dsn() + "'") == 0);
  BOOST_TEST(scalar(db.stock.dsn(), "SELECT stock FROM inventory.products") == 10);

  // A node still configured for the old place refuses to start the module afresh there.
  node_process stale{node_options{db.main.dsn(), on_main}};
  stale.launch();
  BOOST_TEST(stale.wait_exit(20s) == 1);
  BOOST_TEST(stale.log().find("app.module-database.inventory") != std::string::npos,
             tail_of(stale.log(), 5));

  auto moved = on_main;
  moved.insert(moved.end(), {"--app.databases.stock=" + db.stock.dsn(),
                             "--app.module-database.inventory=stock"});
  node_process node{node_options{db.main.dsn(), moved}};
  node.start();
  auto http = node.client();
  auto got = body_of(http->Get(("/products/" + product).c_str()));
  BOOST_TEST(got["data"]["stock"] == 10, got.dump());
  auto placed =
      http->Post("/orders",
                 json{{"customerId", customer},
                      {"items", {{{"productId", product}, {"quantity", 3}, {"price", 2.5}}}}}
                     .dump(),
                 "application/json");
  BOOST_REQUIRE(placed);
  BOOST_REQUIRE_MESSAGE(placed->status == 201, placed->body);
  auto id = body_of(placed)["data"]["id"].get<std::string>();
  BOOST_TEST(eventually(15s, [&] {
    auto order = get_answered(*http, "/orders/" + id);
    return order && json::parse(order->body)["data"]["status"] == "CONFIRMED";
  }));
  BOOST_TEST(scalar(db.stock.dsn(), "SELECT reserved FROM inventory.products") == 3);
}

BOOST_AUTO_TEST_CASE(a_module_pointed_at_a_database_without_its_schema_is_not_up) {
  two_servers db;
  // inventory's own DSN names the second server, where nothing of it was ever migrated.
  node_process node{node_options{
      db.main.dsn(),
      {"--app.database.module-dsn.inventory=" + db.stock.dsn(), "--app.http.request-timeout=2s"}}};
  node.start();
  auto ready = node.client()->Get("/ready");
  BOOST_REQUIRE(ready);
  BOOST_TEST(ready->status == 503);
  auto checks = json::parse(ready->body)["checks"];
  BOOST_TEST(checks["inventory"] == "down: schema missing", checks.dump());
  BOOST_TEST(checks["customers"] == "up", checks.dump());
}
