// Modules on several processes, placed by configuration only (same binary, one conf
// file): the whole saga over HTTP on two nodes, the same with notifications moved to the
// gateway's node, and a consumer node killed with SIGKILL under orders: calls to it fail
// fast with 503, /ready names it, orders keep being accepted, and after its restart every
// event reaches it exactly once.
#include "cluster.hpp"
#include "fault_probes.hpp"
#include "persistence/pg.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> fast_flags = {
    "--app.delivery.backoff-initial=50ms", "--app.delivery.backoff-max=500ms",
    "--app.delivery.max-attempts=100", "--app.relay.poll-interval=200ms"};

// The HTTP side of a test: one gateway node.
struct api {
  std::unique_ptr<httplib::Client> http;

  // `dsn`: the cluster's database, to find what a seeding request created although its
  // answer was a 503 (a remote module answered after the gateway's deadline).
  api(node_process& gateway, std::string dsn) : http(gateway.client()), database(std::move(dsn)) {}
  std::string database;

  httplib::Result post(const std::string& path, const json& body) {
    return http->Post(path.c_str(), body.dump(), "application/json");
  }
  json data(const httplib::Result& res) { return body_of(res)["data"]; }

  // Seeding waits out the cluster settling: right after start a peer may not have
  // registered its modules yet (503 until it has).
  httplib::Result post_settled(const std::string& path, const json& body) {
    httplib::Result res = post(path, body);
    eventually(
        10s,
        [&] {
          if (res && res->status != 503)
            return true;
          res = post(path, body);
          return false;
        },
        100ms);
    return res;
  }

  // A 409 after a retried 503 means the first attempt went through: its row is the one.
  std::string created(const httplib::Result& res, const std::string& what,
                      const std::string& lookup, const std::string& key) {
    if (res && res->status == 409) {
      persistence::pg_connection db{database};
      auto found = db.exec(lookup + " = $1", {key});
      if (found.rows() == 1)
        return found.string(0, 0);
    }
    BOOST_REQUIRE_MESSAGE(res && res->status == 201,
                          what << " not created: " << (res ? res->body : "no response"));
    return data(res)["id"];
  }
  std::string customer(const std::string& email) {
    auto res = post_settled("/customers", {{"name", "C"}, {"email", email}});
    return created(res, "customer", "SELECT id::text FROM customers.customers WHERE email", email);
  }
  std::string product(const std::string& sku, int stock) {
    auto res =
        post_settled("/products", {{"sku", sku}, {"name", "P"}, {"price", 2.5}, {"stock", stock}});
    return created(res, "product", "SELECT id::text FROM inventory.products WHERE sku", sku);
  }
  httplib::Result order(const std::string& customer_id, const std::string& product_id,
                        int quantity) {
    return post("/orders",
                {{"customerId", customer_id},
                 {"items", {{{"productId", product_id}, {"quantity", quantity}, {"price", 2.5}}}}});
  }
  std::string status_of(const std::string& order_id) {
    auto res = http->Get(("/orders/" + order_id).c_str());
    return res && res->status == 200 ? data(res)["status"].get<std::string>() : "";
  }
  std::string await_final(const std::string& order_id, std::chrono::milliseconds limit = 15s) {
    std::string status;
    eventually(limit, [&] {
      status = status_of(order_id);
      return !status.empty() && status != "PENDING";
    });
    return status;
  }
  // Templates of the order's notifications, once `count` have arrived (or the limit passed).
  std::multiset<std::string> templates(const std::string& order_id, std::size_t count) {
    std::multiset<std::string> seen;
    eventually(15s, [&] {
      seen.clear();
      auto res = http->Get(("/notifications?orderId=" + order_id).c_str());
      if (!res || res->status != 200)
        return false;
      for (auto& n : data(res))
        seen.insert(n["template"].get<std::string>());
      return seen.size() >= count;
    });
    std::this_thread::sleep_for(300ms); // a duplicate would show up now
    auto res = http->Get(("/notifications?orderId=" + order_id).c_str());
    seen.clear();
    if (res && res->status == 200)
      for (auto& n : data(res))
        seen.insert(n["template"].get<std::string>());
    return seen;
  }
  // Every accepted order (of one unit of `product`) is CONFIRMED with exactly one
  // order-created and one order-confirmed notification, and the product's reservations
  // match them: nothing lost, nothing applied twice.
  void expect_confirmed_once(const std::vector<std::string>& accepted, const std::string& product) {
    for (auto& id : accepted)
      BOOST_TEST(await_final(id, 30s) == "CONFIRMED", "order " << id);
    for (auto& id : accepted) {
      auto seen = templates(id, 2);
      BOOST_TEST((seen.count("order-created") == 1u && seen.count("order-confirmed") == 1u),
                 "order " << id << ": " << seen.count("order-created") << " order-created and "
                          << seen.count("order-confirmed") << " order-confirmed notifications");
    }
    auto res = http->Get(("/products/" + product).c_str());
    BOOST_REQUIRE(res && res->status == 200);
    BOOST_TEST(data(res)["reserved"] == accepted.size());
  }
};

// Confirmed, rejected for stock, cancelled with its stock released; notifications once each.
void whole_saga(api& a, const std::string& tag) {
  auto customer = a.customer(tag + "@cluster.io");
  auto product = a.product("SKU-" + tag, 5);

  auto placed = a.order(customer, product, 2);
  BOOST_REQUIRE(placed && placed->status == 201);
  auto confirmed = a.data(placed)["id"].get<std::string>();
  BOOST_TEST(a.await_final(confirmed) == "CONFIRMED");

  auto too_many = a.order(customer, product, 10);
  BOOST_REQUIRE(too_many && too_many->status == 201);
  auto rejected = a.data(too_many)["id"].get<std::string>();
  BOOST_TEST(a.await_final(rejected) == "REJECTED");

  auto cancel = a.http->Post(("/orders/" + confirmed + "/cancel").c_str(), "", "application/json");
  BOOST_REQUIRE(cancel);
  BOOST_TEST(cancel->status == 200);
  BOOST_TEST(a.await_final(confirmed, 1s) == "CANCELLED");
  BOOST_TEST(eventually(15s,
                        [&] {
                          auto res = a.http->Get(("/products/" + product).c_str());
                          return res && res->status == 200 && a.data(res)["available"] == 5;
                        }),
             "the cancelled order's stock is available again");

  std::multiset<std::string> want_confirmed{"order-cancelled", "order-confirmed", "order-created"};
  std::multiset<std::string> want_rejected{"order-created", "order-rejected"};
  BOOST_TEST((a.templates(confirmed, 3) == want_confirmed));
  BOOST_TEST((a.templates(rejected, 2) == want_rejected));

  // The admin API covers every module, wherever it runs.
  auto outbox = a.http->Get("/admin/outbox");
  BOOST_REQUIRE(outbox);
  BOOST_TEST(outbox->status == 200);
  std::set<std::string> listed;
  auto outbox_data = a.data(outbox);
  for (auto& m : outbox_data["modules"])
    listed.insert(m["module"].get<std::string>());
  BOOST_TEST((listed == std::set<std::string>{"customers", "inventory", "notifications", "orders"}),
             outbox->body);
  auto letters = a.http->Get("/admin/dead-letters");
  BOOST_REQUIRE(letters);
  BOOST_TEST(letters->status == 200);
}

// Gateway, customers and orders on a, inventory on b, notifications where the test says
// (two-nodes.conf and three-nodes.conf, with that one line varied).
std::map<std::string, std::string> placement_with_notifications_on(const std::string& node) {
  return {{"customers", "\"a\""},
          {"orders", "\"a\""},
          {"inventory", "\"b\""},
          {"notifications", "\"" + node + "\""}};
}

} // namespace

BOOST_AUTO_TEST_CASE(whole_saga_with_inventory_and_notifications_on_another_node) {
  test_database db{"cluster_two"};
  cluster nodes{
      db.dsn(), {{"a", true}, {"b", false}}, placement_with_notifications_on("b"), fast_flags};
  nodes.start();
  api a{nodes["a"], db.dsn()};
  whole_saga(a, "two");

  // Rule 1 across nodes: every module connects as its own role, whichever node runs it.
  auto sessions =
      column(db.dsn(), "SELECT application_name || ' as ' || usename FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name LIKE 'monolith:%' "
                       "GROUP BY 1 ORDER BY 1");
  std::set<std::string> seen(sessions.begin(), sessions.end());
  for (auto [node, module] :
       {std::pair{"a", "customers"}, {"a", "orders"}, {"b", "inventory"}, {"b", "notifications"}})
    BOOST_TEST(seen.count(std::string{"monolith:"} + node + ":" + module + " as " + db.name() +
                          "_" + module) == 1u,
               node << ":" << module << " in " << joined(sessions, 20));
  BOOST_TEST(seen.size() == 4u, joined(sessions, 20));
  // Shutdown never hangs on a node linked to others (CAF 0.17's shutdown pitfall,
  // actors/shutdown_watchdog.hpp).
  for (auto name : {"b", "a"}) {
    nodes[name].signal(SIGTERM);
    auto code = nodes[name].wait_exit(10s);
    BOOST_TEST(code == 0, "node " << name << " stops cleanly on SIGTERM (exit " << code
                                  << ", -1: still running); its log ends:\n"
                                  << tail_of(nodes[name].log(), 40));
  }
}

BOOST_AUTO_TEST_CASE(three_nodes) {
  test_database db{"cluster_three"};
  cluster nodes{db.dsn(),
                {{"a", true}, {"b", false}, {"c", false}},
                placement_with_notifications_on("c"),
                fast_flags};
  nodes.start();
  api a{nodes["a"], db.dsn()};
  whole_saga(a, "three");
}

// three-nodes.conf puts notifications on c; moving it to a is one line of configuration.
BOOST_AUTO_TEST_CASE(notifications_moved_from_c_to_a_by_configuration_only) {
  test_database db{"cluster_moved"};
  cluster nodes{db.dsn(),
                {{"a", true}, {"b", false}, {"c", false}},
                placement_with_notifications_on("a"),
                fast_flags};
  nodes.start();
  api a{nodes["a"], db.dsn()};
  whole_saga(a, "moved");
}

BOOST_AUTO_TEST_CASE(killed_consumer_node_fails_fast_and_catches_up_after_restart) {
  test_database db{"cluster_kill"};
  cluster nodes{
      db.dsn(), {{"a", true}, {"b", false}}, placement_with_notifications_on("b"), fast_flags};
  nodes.start();
  api a{nodes["a"], db.dsn()};
  auto customer = a.customer("kill@cluster.io");
  auto product = a.product("SKU-kill", 1000);

  std::vector<std::string> accepted;
  auto place = [&](int n) {
    for (int i = 0; i < n; ++i)
      if (auto res = a.order(customer, product, 1); res && res->status == 201)
        accepted.push_back(a.data(res)["id"]);
  };
  place(10);
  nodes["b"].signal(SIGKILL);
  BOOST_REQUIRE(nodes["b"].wait_exit(5s) != -1);

  // Calls to inventory (on b) fail fast once the link is gone.
  BOOST_TEST(eventually(3s,
                        [&] {
                          auto started = std::chrono::steady_clock::now();
                          auto res = a.http->Get(("/products/" + product).c_str());
                          auto took = std::chrono::steady_clock::now() - started;
                          return res && res->status == 503 && took < 2s &&
                                 body_of(res)["error"]["code"] == "UNAVAILABLE";
                        }),
             "GET /products answers 503 UNAVAILABLE within 2 s while its node is down");
  auto ready = body_of(a.http->Get("/ready"));
  BOOST_TEST(ready["checks"]["peer:b"] == "unreachable");

  // Orders (on a) keep being accepted; their events wait in the outbox.
  place(10);
  BOOST_TEST(accepted.size() == 20u);

  nodes["b"].start();
  a.expect_confirmed_once(accepted, product);
  BOOST_TEST(eventually(
      10s, [&] { return body_of(a.http->Get("/ready"))["checks"]["peer:b"] == "reachable"; }));
}

BOOST_AUTO_TEST_CASE(frozen_node_gives_503_within_the_bound_and_is_used_again_after_sigcont) {
  test_database db{"cluster_freeze"};
  cluster nodes{
      db.dsn(), {{"a", true}, {"b", false}}, placement_with_notifications_on("b"), fast_flags};
  nodes.start();
  api a{nodes["a"], db.dsn()};
  auto product = a.product("SKU-freeze", 10);

  nodes["b"].signal(SIGSTOP);
  // Every call to inventory ends within the remote request timeout (800 ms; 2x slack),
  // first by that timeout, then at once when the heartbeat has declared b unreachable.
  for (int i = 0; i < 5; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto res = a.http->Get(("/products/" + product).c_str());
    auto took = std::chrono::steady_clock::now() - started;
    BOOST_REQUIRE(res);
    BOOST_TEST(res->status == 503);
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2000);
  }
  BOOST_TEST(
      eventually(
          4s, [&] { return body_of(a.http->Get("/ready"))["checks"]["peer:b"] == "unreachable"; }),
      "b is reported unreachable by /ready");

  nodes["b"].signal(SIGCONT);
  BOOST_TEST(eventually(10s,
                        [&] {
                          auto res = a.http->Get(("/products/" + product).c_str());
                          return res && res->status == 200;
                        }),
             "inventory on b answers again after SIGCONT");
  BOOST_TEST(body_of(a.http->Get("/ready"))["checks"]["peer:b"] == "reachable");
}

// Orders on two nodes (replicas, each with a gateway), everything else on a third: orders
// placed through both are each handled once; killing the node that holds the orders relay
// lease hands the relay to the other within 2 s (4 s with slack), and nothing is lost.
BOOST_AUTO_TEST_CASE(orders_replicated_on_two_nodes_survive_the_lease_holder_being_killed) {
  test_database db{"cluster_replicas"};
  cluster nodes{db.dsn(),
                {{"c", false}, {"a", true}, {"b", true}},
                {{"customers", "\"c\""},
                 {"inventory", "\"c\""},
                 {"notifications", "\"c\""},
                 {"orders", "[\"a\", \"b\"]"}},
                {"--app.delivery.backoff-initial=50ms", "--app.delivery.backoff-max=500ms",
                 "--app.delivery.max-attempts=100", "--app.relay.poll-interval=200ms",
                 "--app.relay.lease-ttl=2s"}};
  nodes.start();
  api via_a{nodes["a"], db.dsn()}, via_b{nodes["b"], db.dsn()};
  auto customer = via_a.customer("replica@cluster.io");
  auto product = via_a.product("SKU-replica", 1000);

  std::vector<std::string> accepted;
  auto place = [&](api& through, int n) {
    for (int i = 0; i < n; ++i)
      if (auto res = through.order(customer, product, 1); res && res->status == 201)
        accepted.push_back(through.data(res)["id"]);
  };
  place(via_a, 10);
  place(via_b, 10);
  BOOST_REQUIRE_EQUAL(accepted.size(), 20u);

  auto holder = [&] {
    auto h = column(db.dsn(), "SELECT holder FROM orders.relay_lease WHERE expires_at > now()");
    return h.empty() ? std::string{} : h.front().substr(0, h.front().find(':'));
  };
  std::string leader;
  BOOST_REQUIRE(eventually(5s, [&] { return !(leader = holder()).empty(); }));
  std::string survivor = leader == "a" ? "b" : "a";
  nodes[leader].signal(SIGKILL);
  BOOST_REQUIRE(nodes[leader].wait_exit(5s) != -1);
  auto killed = std::chrono::steady_clock::now();
  BOOST_TEST(eventually(6s, [&] { return holder() == survivor; }));
  auto takeover = std::chrono::steady_clock::now() - killed;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count() < 4000);

  api& alive = survivor == "a" ? via_a : via_b;
  place(alive, 10);
  BOOST_REQUIRE_EQUAL(accepted.size(), 30u);
  alive.expect_confirmed_once(accepted, product);
}

// Every module on two nodes, both on one broker (several instances behind a load
// balancer): each consumer's readers on the two nodes split its streams or
// partitions between them (one consumer group / durable per consumer), and every event is
// handled once.
void two_nodes_share_one_broker(const std::string& backend, const std::string& leads_what) {
  test_database db{"cluster_" + backend};
  auto port_variable = broker_port_variable(backend);
  auto port = std::getenv(port_variable.c_str());
  BOOST_REQUIRE_MESSAGE(port && *port, port_variable << ": run the tests with scripts/test");
  auto both = std::string{"[\"a\", \"b\"]"};
  cluster nodes{
      db.dsn(),
      {{"a", true}, {"b", true}},
      {{"customers", both}, {"inventory", both}, {"notifications", both}, {"orders", both}},
      {"--app.bus.backend=" + backend, "--app.bus." + backend + "-port=" + port,
       "--app.bus.key-prefix=" + db.name(), "--app.bus.reader-lease-ttl=1s"}};
  nodes.start();
  // Whoever came up second finds the first leading everything, which hands half of it
  // over. (On RabbitMQ the broker picks the next reader of a partition, which learns it
  // leads from its first delivery.)
  auto logged = [&](const std::string& node, const std::string& what) {
    return nodes[node].log().find(
               "\"consumer\":\"inventory.order-events\",\"level\":\"info\",\"msg\":"
               "\"reader " +
               what + "\"") != std::string::npos;
  };
  auto leads = [&](const std::string& node) { return logged(node, "leads " + leads_what); };
  auto handed_over = [&] {
    return logged("a", "hands " + leads_what + " over") ||
           logged("b", "hands " + leads_what + " over");
  };
  BOOST_TEST(eventually(10s,
                        [&] {
                          return (leads("a") && leads("b")) ||
                                 ((leads("a") || leads("b")) && handed_over());
                        }),
             "inventory.order-events led on a: " << leads("a") << ", on b: " << leads("b"));
  api via_a{nodes["a"], db.dsn()}, via_b{nodes["b"], db.dsn()};
  auto customer = via_a.customer("shared@" + backend + ".io");
  auto product = via_a.product("SKU-shared", 1000);
  std::vector<std::string> accepted;
  for (int i = 0; i < 15; ++i)
    for (auto* through : {&via_a, &via_b})
      if (auto res = through->order(customer, product, 1); res && res->status == 201)
        accepted.push_back(through->data(res)["id"]);
  BOOST_REQUIRE_EQUAL(accepted.size(), 30u);
  via_b.expect_confirmed_once(accepted, product);
  BOOST_TEST((leads("a") && leads("b")),
             "inventory.order-events led on a: " << leads("a") << ", on b: " << leads("b"));
}

BOOST_AUTO_TEST_CASE(two_nodes_sharing_one_redis_split_the_streams_and_handle_each_event_once) {
  two_nodes_share_one_broker("redis", "stream");
}

BOOST_AUTO_TEST_CASE(two_nodes_sharing_one_nats_split_the_partitions_and_handle_each_event_once) {
  two_nodes_share_one_broker("nats", "partition");
}

BOOST_AUTO_TEST_CASE(
    two_nodes_sharing_one_rabbitmq_split_the_partitions_and_handle_each_event_once) {
  two_nodes_share_one_broker("rabbitmq", "partition");
}

// TLS between nodes (app.tls): the saga runs over mutually authenticated links; a node
// whose certificate comes from another CA cannot link, and the refused side says so.
BOOST_AUTO_TEST_CASE(tls_links_work_and_refuse_a_certificate_from_another_ca) {
  char tmpl[] = "/tmp/monolith-tls-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto make = [&](const std::string& sub, const std::string& nodes) {
    auto cmd =
        std::string{MONOLITH_SOURCE_DIR} + "/scripts/tls-certs " + dir + "/" + sub + " " + nodes;
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  };
  make("ours", "a b");
  make("theirs", "b");
  auto tls = [&](const std::string& sub, const std::string& node, const std::string& ca_of) {
    return std::vector<std::string>{"--app.tls.certificate=" + dir + "/" + sub + "/" + node +
                                        ".pem",
                                    "--app.tls.key=" + dir + "/" + sub + "/" + node + ".key",
                                    "--app.tls.cafile=" + dir + "/" + ca_of + "/ca.pem"};
  };
  {
    test_database db{"cluster_tls"};
    cluster nodes{db.dsn(),
                  {{"a", true, tls("ours", "a", "ours")}, {"b", false, tls("ours", "b", "ours")}},
                  placement_with_notifications_on("b"),
                  fast_flags};
    nodes.start();
    api a{nodes["a"], db.dsn()};
    whole_saga(a, "tls");
  }
  {
    test_database db{"cluster_tls_refused"};
    cluster nodes{
        db.dsn(),
        {{"a", true, tls("ours", "a", "ours")}, {"b", false, tls("theirs", "b", "theirs")}},
        placement_with_notifications_on("b"),
        fast_flags};
    bool linked = true;
    try {
      nodes.start(3s);
    } catch (const std::runtime_error&) {
      linked = false; // a never reaches b
    }
    BOOST_TEST(!linked, "a linked to b:\n" << nodes["a"].log() << "\n" << nodes["b"].log());
    auto ready = body_of(nodes["a"].client()->Get("/ready"));
    BOOST_TEST(ready["checks"]["peer:b"] == "unreachable");
    auto res = nodes["a"].client()->Get("/products/00000000-0000-4000-8000-000000000000");
    BOOST_REQUIRE(res);
    BOOST_TEST(res->status == 503);
    BOOST_TEST(nodes["a"].log().find("cannot link to peer") != std::string::npos, nodes["a"].log());
  }
  std::filesystem::remove_all(dir);
}
