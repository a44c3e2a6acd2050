// Retention (app.retention.*): what goes and what stays. The store's statements are
// driven batch by batch on a schema of their own, so each rule is pinned down: only
// events below the watermark, old, and with no delivery row left; finished and discarded
// delivery rows, not dead or pending ones; inbox entries and a module's own expiring rows
// by age; the published total unchanged. Then a node prunes by itself while the saga
// runs, reports it in /metrics, and the saga goes on.
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/migration.hpp"
#include "persistence/pg.hpp"
#include "persistence/relay_store.hpp"
#include "persistence/retention_store.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace testing_support;
using namespace std::chrono_literals;
using json = nlohmann::json;
using persistence::pg_connection;

namespace {

constexpr auto week = std::chrono::hours{24 * 7};

struct module_tables {
  test_database db{"retention"};
  std::unique_ptr<pg_connection> conn;

  module_tables() {
    persistence::migrate(db.dsn(), {{"events", db.name() + "_events", {}}});
    conn = std::make_unique<pg_connection>(db.module_dsn("events"));
  }

  // An event `days_old` days old; its position.
  int64_t event(int days_old) {
    return conn
        ->exec("INSERT INTO events.outbox (id, event_name, aggregate_id, sequence, "
               "correlation_id, payload, created_at) VALUES (gen_random_uuid(), 'thing.happened', "
               "gen_random_uuid(), 1, 'test', '{}', now() - $1::int * interval '1 day') "
               "RETURNING position",
               {days_old})
        .integer(0, 0);
  }

  void delivery_row(int64_t position, const std::string& status, int days_since_change) {
    conn->exec("INSERT INTO events.deliveries (event_position, consumer, aggregate_id, sequence, "
               "status, updated_at) SELECT position, 'some.consumer', aggregate_id, sequence, $2, "
               "now() - $3::int * interval '1 day' FROM events.outbox WHERE position = $1",
               {position, status, days_since_change});
  }

  std::set<int64_t> positions() {
    std::set<int64_t> result;
    auto rows = conn->exec("SELECT position FROM events.outbox");
    for (int i = 0; i < rows.rows(); ++i)
      result.insert(rows.integer(i, 0));
    return result;
  }

  long long count(const std::string& sql) { return conn->exec(sql).integer(0, 0); }

  // Batches until nothing more is left to prune now; how many batches it took.
  int prune_all(persistence::retention_store& store) {
    store.start_pass();
    int batches = 0;
    for (bool more = true; more && batches < 100; ++batches)
      store.prune_batch(*conn, more);
    return batches;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(retention_rules, module_tables)

BOOST_AUTO_TEST_CASE(only_old_settled_events_without_delivery_rows_go_and_the_totals_stay) {
  std::vector<int64_t> p;
  for (int days : {30, 30, 30, 30, 30, 0, 30, 30})
    p.push_back(event(days));
  // p[0..5] are below the watermark (settled); p[6], p[7] are pending however old.
  conn->exec("UPDATE events.relay_lease SET published_through = $1", {p[6]});
  delivery_row(p[1], "dead", 30);      // a dead letter holds its event
  delivery_row(p[2], "delivered", 0);  // a recent retry's row holds its event a while
  delivery_row(p[3], "discarded", 30); // thrown away long ago: it goes, then its event
  persistence::relay_store relay{"events", "retention-test", std::chrono::seconds{30}};
  auto before = relay.counts(*conn);

  // Two rows a batch: the window has to move past the dead letter to reach the rest.
  persistence::retention_store store{"events", {week, week, week}, {}, 2};
  auto batches = prune_all(store);

  BOOST_TEST(batches >= 3);
  auto left = positions();
  BOOST_TEST(!left.count(p[0]));
  BOOST_TEST(left.count(p[1]) == 1u, "the dead letter's event stays");
  BOOST_TEST(left.count(p[2]) == 1u, "an event with a recent delivery row stays");
  BOOST_TEST(!left.count(p[3]), "the discarded dead letter's event goes with its row");
  BOOST_TEST(!left.count(p[4]));
  BOOST_TEST(left.count(p[5]) == 1u, "a young event stays");
  BOOST_TEST(left.count(p[6]) == 1u, "a pending event stays however old");
  BOOST_TEST(left.count(p[7]) == 1u, "a pending event stays however old");
  BOOST_TEST(count("SELECT count(*) FROM events.deliveries WHERE status = 'discarded'") == 0);
  BOOST_TEST(count("SELECT count(*) FROM events.deliveries WHERE status = 'dead'") == 1);
  BOOST_TEST(count("SELECT count(*) FROM events.deliveries WHERE status = 'delivered'") == 1);
  BOOST_TEST(count("SELECT pruned FROM events.relay_lease") == 3);

  auto after = relay.counts(*conn);
  BOOST_TEST(after.published == before.published, "the published total counts pruned events");
  BOOST_TEST(after.pending == before.pending);
  BOOST_TEST(after.dead_lettered == before.dead_lettered);
}

BOOST_AUTO_TEST_CASE(inbox_entries_and_a_modules_own_rows_expire_by_age_only) {
  conn->exec("INSERT INTO events.inbox (consumer, event_id, processed_at) "
             "SELECT 'some.consumer', gen_random_uuid(), now() - interval '8 days' "
             "FROM generate_series(1, 5)");
  conn->exec("INSERT INTO events.inbox (consumer, event_id, processed_at) "
             "SELECT 'some.consumer', gen_random_uuid(), now() - interval '6 days' "
             "FROM generate_series(1, 3)");
  conn->exec("CREATE TABLE events.keys (key text PRIMARY KEY, created_at timestamptz NOT NULL)");
  conn->exec("INSERT INTO events.keys SELECT 'old-' || i, now() - interval '49 hours' "
             "FROM generate_series(1, 4) i");
  conn->exec("INSERT INTO events.keys SELECT 'new-' || i, now() - interval '47 hours' "
             "FROM generate_series(1, 2) i");

  persistence::retention_store store{
      "events", {week, week, week}, {{"keys", "created_at", std::chrono::hours{48}}}, 2};
  prune_all(store);

  BOOST_TEST(count("SELECT count(*) FROM events.inbox") == 3);
  BOOST_TEST(count("SELECT count(*) FROM events.inbox WHERE processed_at < now() - "
                   "interval '7 days'") == 0);
  BOOST_TEST(count("SELECT count(*) FROM events.keys") == 2);
  BOOST_TEST(count("SELECT count(*) FROM events.keys WHERE key LIKE 'old-%'") == 0);

  auto sizes = store.table_sizes(*conn);
  std::set<std::string> tables;
  for (auto& [table, bytes] : sizes) {
    tables.insert(table);
    BOOST_TEST(bytes > 0);
  }
  BOOST_TEST((tables == std::set<std::string>{"outbox", "inbox", "deliveries", "keys"}));
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

struct pruning_node {
  test_database db{"retention_node"};
  node_process node{node_options{db.dsn(), {"--app.retention.interval=200ms"}}};
  std::unique_ptr<httplib::Client> http;

  pruning_node() {
    node.start();
    http = node.client();
  }

  std::string post_id(const std::string& path, const json& body) {
    auto res = http->Post(path.c_str(), body.dump(), "application/json");
    BOOST_REQUIRE_MESSAGE(res && res->status == 201, "POST " << path << " failed");
    return json::parse(res->body)["data"]["id"];
  }

  std::string place_order(const std::string& customer, const std::string& product,
                          const std::string& key) {
    json body = {{"customerId", customer},
                 {"items", {{{"productId", product}, {"quantity", 1}, {"price", 2.5}}}}};
    auto res = http->Post("/orders", {{"Idempotency-Key", key}}, body.dump(), "application/json");
    BOOST_REQUIRE_MESSAGE(res && res->status == 201, "POST /orders failed");
    return json::parse(res->body)["data"]["id"];
  }

  bool confirmed(const std::string& order) {
    auto res = http->Get(("/orders/" + order).c_str());
    return res && res->status == 200 && json::parse(res->body)["data"]["status"] == "CONFIRMED";
  }

  long long published_total() {
    auto res = http->Get("/admin/outbox");
    BOOST_REQUIRE(res && res->status == 200);
    long long total = 0;
    auto body = json::parse(res->body); // kept: the loop reads inside it
    for (auto& m : body["data"]["modules"])
      total += m["published"].get<long long>();
    return total;
  }

  double metric(const std::string& line_start) {
    auto res = http->Get("/metrics");
    if (!res)
      return -1;
    auto at = res->body.find("\n" + line_start);
    if (at == std::string::npos)
      return -1;
    auto value = res->body.find(' ', at + 1 + line_start.size());
    return std::stod(res->body.substr(value + 1));
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_node_prunes_what_aged_while_the_saga_goes_on, pruning_node) {
  auto customer = post_id("/customers", {{"name", "R"}, {"email", "r@retention.io"}});
  auto product =
      post_id("/products", {{"sku", "RET-1"}, {"name", "P"}, {"price", 2.5}, {"stock", 100}});
  std::vector<std::string> orders;
  for (int i = 0; i < 5; ++i)
    orders.push_back(place_order(customer, product, "retention-key-" + std::to_string(i)));
  BOOST_REQUIRE(eventually(10s, [&] {
    for (auto& o : orders)
      if (!confirmed(o))
        return false;
    return true;
  }));
  BOOST_REQUIRE(eventually(10s, [&] {
    return scalar(db.dsn(), "SELECT count(*) FROM notifications.notifications WHERE template = "
                            "'order-confirmed'") == 5;
  }));
  auto published = published_total();
  BOOST_REQUIRE(published >= 10); // five orders: order.created and order.confirmed each

  // Everything written so far ages by eight days (the keys by three): all of it is past
  // its retention, and all of it is settled.
  for (auto schema : {"customers", "inventory", "orders", "notifications"}) {
    scalar(db.dsn(), std::string{"WITH t AS (UPDATE "} + schema +
                         ".outbox SET created_at = created_at - interval '8 days' RETURNING 1) "
                         "SELECT count(*) FROM t");
    scalar(db.dsn(), std::string{"WITH t AS (UPDATE "} + schema +
                         ".inbox SET processed_at = processed_at - interval '8 days' RETURNING 1) "
                         "SELECT count(*) FROM t");
  }
  scalar(db.dsn(), "WITH t AS (UPDATE orders.idempotency_keys SET created_at = created_at - "
                   "interval '3 days' RETURNING 1) SELECT count(*) FROM t");

  auto pruned = [&] {
    return scalar(db.dsn(), "SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM "
                            "inventory.outbox) + (SELECT count(*) FROM inventory.inbox) + (SELECT "
                            "count(*) FROM orders.inbox) + (SELECT count(*) FROM "
                            "notifications.inbox) + (SELECT count(*) FROM "
                            "orders.idempotency_keys)") == 0;
  };
  BOOST_REQUIRE_MESSAGE(eventually(10s, pruned), "aged rows still there; the node's log:\n"
                                                     << tail_of(node.log(), 20));
  BOOST_TEST(published_total() == published, "the published total counts the pruned events");
  BOOST_TEST(metric("retention_rows_pruned_total{module=\"orders\",table=\"outbox\"}") >= 10);
  BOOST_TEST(metric("retention_rows_pruned_total{module=\"orders\",table=\"idempotency_keys\"}") ==
             5);
  BOOST_TEST(metric("table_size_bytes{module=\"inventory\",table=\"inbox\"}") > 0);

  // A key whose entry expired is a new request; the saga goes on as before.
  auto again = place_order(customer, product, "retention-key-0");
  BOOST_TEST(again != orders[0]);
  BOOST_TEST(eventually(10s, [&] { return confirmed(again); }));
}

namespace {

// Second-scale retention while orders flow: rows age out of every table during the load.
struct pruning_under_load {
  test_database db{"retention_load"};
  node_process node{
      node_options{db.dsn(),
                   {"--app.retention.interval=200ms", "--app.retention.outbox=3s",
                    "--app.retention.inbox=5s", "--app.retention.deliveries=1s",
                    "--app.delivery.max-attempts=3", "--app.delivery.backoff-initial=20ms",
                    "--app.delivery.backoff-max=100ms", "--app.relay.poll-interval=100ms"}}};

  long long count(const std::string& sql) { return scalar(db.dsn(), sql); }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(second_scale_retention_under_load_prunes_only_what_is_done,
                        pruning_under_load) {
  node.start();
  auto c = make_catalog(node, 5, 5, 1000000);
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      auto http = node.client();
      for (std::size_t i = std::size_t(t); !stop; i += 4) {
        json body = {{"customerId", c.customers[i % c.customers.size()]},
                     {"items",
                      {{{"productId", c.products[i % c.products.size()]},
                        {"quantity", 1},
                        {"price", 2.5}}}}};
        auto res = http->Post("/orders", body.dump(), "application/json");
        if (res && res->status == 201)
          ++accepted;
        std::this_thread::sleep_for(5ms);
      }
    });
  std::this_thread::sleep_for(8s); // the first orders' rows pass their retention meanwhile
  stop = true;
  for (auto& t : clients)
    t.join();
  BOOST_REQUIRE(accepted > 100);
  long long n = accepted;

  BOOST_REQUIRE_MESSAGE(
      eventually(60s,
                 [&] {
                   return count("SELECT count(*) FROM orders.orders WHERE status = "
                                "'CONFIRMED'") == n;
                 }),
      "not every order was confirmed: " << backlog_of(db.dsn(), relay_schemas(db.dsn())).text()
                                        << "; the node's log:\n"
                                        << problems_in(node.log()));
  auto notified = [&](const std::string& t) {
    return count("SELECT count(*) FROM notifications.notifications WHERE template = '" + t + "'");
  };
  BOOST_TEST(eventually(10s, [&] { return notified("order-confirmed") == n; }));
  BOOST_TEST(notified("order-created") == n);
  BOOST_TEST(count("SELECT sum(reserved) FROM inventory.products") == n,
             "every order reserved exactly once");
  // Pruned during the load: the oldest events and inbox entries are gone already.
  BOOST_TEST(count("SELECT count(*) FROM orders.outbox") < 2 * n);
  BOOST_TEST(count("SELECT count(*) FROM inventory.inbox") < n);

  // An event sent again within the inbox's window is still dropped: the newest
  // order.created goes to inventory once more (a delivery row, as after a failure).
  auto reserved = count("SELECT sum(reserved) FROM inventory.products");
  auto position = count("SELECT max(position) FROM orders.outbox WHERE event_name = "
                        "'order.created'");
  scalar(db.dsn(), "WITH t AS (INSERT INTO orders.deliveries (event_position, consumer, "
                   "aggregate_id, sequence) SELECT position, 'inventory.order-events', "
                   "aggregate_id, sequence FROM orders.outbox WHERE position = " +
                       std::to_string(position) + " RETURNING 1) SELECT count(*) FROM t");
  BOOST_REQUIRE(eventually(10s, [&] {
    return count("SELECT count(*) FROM orders.deliveries WHERE status = 'delivered'") == 1;
  }));
  BOOST_TEST(count("SELECT sum(reserved) FROM inventory.products") == reserved,
             "the repeated event was dropped by the inbox");
  // Finished, the delivery row goes after app.retention.deliveries, then its event.
  BOOST_TEST(eventually(10s, [&] {
    return count("SELECT count(*) FROM orders.deliveries") == 0 &&
           count("SELECT count(*) FROM orders.outbox WHERE position = " +
                 std::to_string(position)) == 0;
  }));
}
