// Rule 1 and the outbox, checked in the database itself: each module's tables belong to
// its own role and other roles are refused; events are written in the transaction of
// their state change, with the envelope fields docs/asyncapi.yaml lists, and not at all when
// the change fails.
#include "eventually.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

using namespace testing_support;
using persistence::pg_connection;

namespace {

struct running_node {
  test_database db{"outbox"};
  node_process node{{db.dsn()}};
  std::unique_ptr<httplib::Client> http;

  running_node() {
    node.start();
    http = node.client();
  }

  nlohmann::json post(const std::string& path, const nlohmann::json& body,
                      const std::string& correlation_id = "") {
    httplib::Headers headers;
    if (!correlation_id.empty())
      headers.emplace("X-Correlation-Id", correlation_id);
    return body_of(http->Post(path.c_str(), headers, body.dump(), "application/json"));
  }

  int64_t count(const std::string& sql) {
    pg_connection admin{db.dsn()};
    return admin.exec(sql).integer(0, 0);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(outbox_and_roles, running_node)

BOOST_AUTO_TEST_CASE(registering_writes_customer_registered_with_its_envelope) {
  auto created = post("/customers", {{"name", "Ada"}, {"email", "ada@example.com"}}, "corr-1");
  auto id = created["data"]["id"].get<std::string>();
  pg_connection admin{db.dsn()};
  auto rows =
      admin.exec("SELECT id::text, event_name, aggregate_id::text, sequence, correlation_id, "
                 "causation_id IS NULL, payload::text, created_at IS NOT NULL "
                 "FROM customers.outbox");
  BOOST_REQUIRE(rows.rows() == 1);
  BOOST_TEST(rows.string(0, 0).size() == 36u);
  BOOST_TEST(rows.string(0, 1) == "customer.registered");
  BOOST_TEST(rows.string(0, 2) == id);
  BOOST_TEST(rows.integer(0, 3) == 1);
  BOOST_TEST(rows.string(0, 4) == "corr-1");
  BOOST_TEST(rows.boolean(0, 5));
  BOOST_TEST(nlohmann::json::parse(rows.string(0, 6)) ==
             nlohmann::json({{"customerId", id}, {"name", "Ada"}, {"email", "ada@example.com"}}));
  BOOST_TEST(rows.boolean(0, 7));
  // The relay publishes it (no module consumes customer events, so no delivery rows): its
  // watermark passes it.
  bool published = eventually(std::chrono::seconds{5}, [&] {
    return count("SELECT count(*) FROM customers.outbox o, customers.relay_lease l "
                 "WHERE o.position < l.published_through") == 1;
  });
  BOOST_TEST(published, "the relay did not publish customer.registered within 5 s");
  BOOST_TEST(count("SELECT count(*) FROM customers.deliveries") == 0);
}

BOOST_AUTO_TEST_CASE(deactivating_appends_the_next_sequence_once) {
  auto id = post("/customers", {{"name", "Bob"}, {"email", "bob@example.com"}})["data"]["id"]
                .get<std::string>();
  auto first =
      body_of(http->Post(("/customers/" + id + "/deactivate").c_str(), "", "application/json"));
  BOOST_TEST(first["data"]["status"] == "INACTIVE");
  body_of(http->Post(("/customers/" + id + "/deactivate").c_str(), "", "application/json"));
  pg_connection admin{db.dsn()};
  auto rows = admin.exec("SELECT event_name, sequence, payload::text FROM customers.outbox "
                         "WHERE aggregate_id = $1::uuid ORDER BY sequence",
                         {id});
  BOOST_REQUIRE(rows.rows() == 2);
  BOOST_TEST(rows.string(1, 0) == "customer.deactivated");
  BOOST_TEST(rows.integer(1, 1) == 2);
  BOOST_TEST(nlohmann::json::parse(rows.string(1, 2)) == nlohmann::json({{"customerId", id}}));
}

BOOST_AUTO_TEST_CASE(a_failed_change_writes_no_event) {
  post("/customers", {{"name", "Cy"}, {"email", "cy@example.com"}});
  auto before = count("SELECT count(*) FROM customers.outbox");
  auto conflict = post("/customers", {{"name", "Cy again"}, {"email", "CY@example.com"}});
  BOOST_TEST(conflict["error"]["code"] == "EMAIL_TAKEN");
  auto invalid = post("/customers", {{"name", ""}, {"email", "cy2@example.com"}});
  BOOST_TEST(invalid["error"]["code"] == "VALIDATION_FAILED");
  BOOST_TEST(count("SELECT count(*) FROM customers.outbox") == before);
  BOOST_TEST(count("SELECT count(*) FROM customers.customers") == 1);
}

BOOST_AUTO_TEST_CASE(concurrent_registrations_of_one_email_commit_one_customer_and_one_event) {
  std::vector<std::future<int>> attempts;
  for (int i = 0; i < 8; ++i)
    attempts.push_back(std::async(std::launch::async, [this, i] {
      auto client = node.client();
      auto res = client->Post(
          "/customers",
          nlohmann::json{{"name", "N" + std::to_string(i)}, {"email", "same@example.com"}}.dump(),
          "application/json");
      return res ? res->status : 0;
    }));
  int created = 0, conflicts = 0;
  for (auto& a : attempts) {
    auto status = a.get();
    created += status == 201;
    conflicts += status == 409;
  }
  BOOST_TEST(created == 1);
  BOOST_TEST(conflicts == 7);
  BOOST_TEST(count("SELECT count(*) FROM customers.outbox") == 1);
}

BOOST_AUTO_TEST_CASE(products_publish_no_events) {
  auto product = post("/products", {{"sku", "P-1"}, {"name", "Pen"}, {"price", 1.5}, {"stock", 3}});
  auto id = product["data"]["id"].get<std::string>();
  body_of(http->Post(("/products/" + id + "/restock").c_str(), R"({"quantity": 2})",
                     "application/json"));
  BOOST_TEST(count("SELECT count(*) FROM inventory.outbox") == 0);
  BOOST_TEST(count("SELECT stock FROM inventory.products") == 5);
}

BOOST_AUTO_TEST_CASE(each_module_role_owns_its_schema_and_cannot_read_another) {
  pg_connection customers_role{db.module_dsn("customers")};
  BOOST_TEST(customers_role.exec("SELECT count(*) FROM customers.customers").integer(0, 0) == 0);
  try {
    customers_role.exec("SELECT * FROM inventory.products");
    BOOST_ERROR("the customers role read inventory's table");
  } catch (const persistence::pg_error& e) {
    BOOST_TEST(e.sqlstate() == "42501"); // insufficient_privilege
    BOOST_TEST(std::string{e.what()}.find("permission denied") != std::string::npos);
  }
  pg_connection inventory_role{db.module_dsn("inventory")};
  BOOST_CHECK_THROW(inventory_role.exec("SELECT * FROM customers.customers"),
                    persistence::pg_error);
  BOOST_CHECK_THROW(inventory_role.exec("DELETE FROM customers.outbox"), persistence::pg_error);
  pg_connection admin{db.dsn()};
  auto owners = admin.exec("SELECT schemaname, tableowner FROM pg_tables "
                           "WHERE schemaname IN ('customers', 'inventory') ORDER BY 1, 2");
  for (int i = 0; i < owners.rows(); ++i)
    BOOST_TEST(owners.string(i, 1) == db.name() + "_" + owners.string(i, 0));
}

BOOST_AUTO_TEST_CASE(migrations_are_recorded_per_module_and_component_without_gaps) {
  pg_connection admin{db.dsn()};
  for (auto schema : {"customers", "inventory", "orders"}) {
    for (auto component : {"framework", "module"}) {
      auto applied = admin.exec(std::string{"SELECT count(*), max(version) FROM "} + schema +
                                    ".schema_migrations WHERE component = $1",
                                {component});
      BOOST_TEST(applied.integer(0, 0) >= 1, schema << "/" << component);
      BOOST_TEST(applied.integer(0, 0) == applied.integer(0, 1), schema << "/" << component);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(nodes_starting_together_on_an_empty_database_do_not_race) {
  test_database db{"race"};
  node_process a{{db.dsn()}}, b{{db.dsn()}}, c{{db.dsn()}};
  auto start_a = std::async(std::launch::async, [&] { a.start(); });
  auto start_b = std::async(std::launch::async, [&] { b.start(); });
  auto start_c = std::async(std::launch::async, [&] { c.start(); });
  BOOST_CHECK_NO_THROW(start_a.get());
  BOOST_CHECK_NO_THROW(start_b.get());
  BOOST_CHECK_NO_THROW(start_c.get());
  // All three started (none failed on a half-made schema) and every migration is there.
  pg_connection admin{db.dsn()};
  for (auto schema : {"customers", "inventory", "orders"})
    BOOST_TEST(
        admin
            .exec(std::string{"SELECT count(*) FILTER (WHERE component = 'framework') >= 2 "
                              "AND count(*) FILTER (WHERE component = 'module') >= 1 FROM "} +
                  schema + ".schema_migrations")
            .boolean(0, 0),
        schema);
}
