// What only the rabbitmq backend has: RabbitMQ itself dead-letters a message (here one
// that expires while no reader is there) through the queue's dead-letter exchange, and the
// consumer's reader records it in the dead-letter table, where the admin API lists it.
// (Messages the consumer gives up on take the same path: saga_test on rabbitmq.)
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "actors/brokers/rabbitmq_connection.hpp"
#include "actors/brokers/rabbitmq_exchange.hpp"
#include "persistence/pg.hpp"

#include <amqp_framing.h>
#include <boost/test/unit_test.hpp>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> rabbitmq_flags(const std::string& prefix) {
  auto port = std::getenv("MONOLITH_TEST_RABBITMQ_PORT");
  BOOST_REQUIRE_MESSAGE(port && *port,
                        "MONOLITH_TEST_RABBITMQ_PORT: run the tests with scripts/test");
  return {"--app.bus.backend=rabbitmq", std::string{"--app.bus.rabbitmq-port="} + port,
          "--app.bus.key-prefix=" + prefix};
}

json post(node_process& node, const std::string& path, const json& body) {
  auto res = node.client()->Post(path.c_str(), body.dump(), "application/json");
  BOOST_REQUIRE_MESSAGE(res && res->status == 201, "POST " << path);
  return json::parse(res->body)["data"];
}

// Puts a message straight into a partition queue, as an operator's tool or a TTL policy
// might leave one: with a per-message TTL of 1 ms, so that it expires unread.
void publish_expiring(const config::bus_settings& bus, const std::string& queue,
                      const std::string& body, const std::string& publisher) {
  brokers::rabbitmq_connection amqp{bus, std::chrono::seconds{5}};
  amqp_basic_properties_t props{};
  props._flags =
      AMQP_BASIC_EXPIRATION_FLAG | AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.expiration = amqp_cstring_bytes("1");
  props.app_id = brokers::amqp_bytes_of(publisher);
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  amqp.check_status(amqp_basic_publish(amqp.state(), brokers::rabbitmq_connection::channel,
                                       amqp_cstring_bytes(""), brokers::amqp_bytes_of(queue), 0, 0,
                                       &props, brokers::amqp_bytes_of(body)),
                    "publish");
  // A round trip, so that the message is surely at the broker before we go on.
  amqp.queue_counts(queue);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_message_that_expires_unread_lands_in_the_dead_letter_table) {
  test_database db{"rmq_expired"};
  auto flags = rabbitmq_flags(db.name());
  std::string order_id;
  {
    node_process node{node_options{db.dsn(), flags}};
    node.start();
    auto customer = post(node, "/customers", {{"name", "C"}, {"email", "c@rmq.io"}})["id"];
    auto product = post(node, "/products",
                        {{"sku", "SKU-RMQ"}, {"name", "P"}, {"price", 2.5}, {"stock", 5}})["id"];
    order_id = post(node, "/orders",
                    {{"customerId", customer},
                     {"items", {{{"productId", product}, {"quantity", 1}, {"price", 2.5}}}}})["id"];
    BOOST_REQUIRE(eventually(10s, [&] {
      auto res = node.client()->Get(("/orders/" + order_id).c_str());
      return res && json::parse(res->body)["data"]["status"] == "CONFIRMED";
    }));
  } // the node stops: nobody reads the queues now

  // order.created once more, as it sits in the orders outbox, into a partition queue of
  // inventory.order-events: it expires there, unread.
  auto envelope =
      column(db.dsn(), "SELECT json_build_object('id', id, 'name', event_name, 'aggregate', "
                       "aggregate_id, 'sequence', sequence, 'correlation', correlation_id, "
                       "'causation', coalesce(causation_id::text, ''), 'payload', payload::text, "
                       "'timestamp', created_at::text)::text FROM orders.outbox "
                       "WHERE event_name = 'order.created'");
  BOOST_REQUIRE_EQUAL(envelope.size(), 1u);
  config::bus_settings bus;
  bus.key_prefix = db.name();
  bus.rabbitmq_port = std::stoi(std::getenv("MONOLITH_TEST_RABBITMQ_PORT"));
  publish_expiring(bus, brokers::partition_queue(bus, "inventory.order-events", 0), envelope[0],
                   "orders");

  node_process node{node_options{db.dsn(), flags}};
  node.start();
  json letters;
  BOOST_TEST(eventually(10s,
                        [&] {
                          auto res = node.client()->Get("/admin/dead-letters");
                          letters = res ? json::parse(res->body)["data"] : json::array();
                          return letters.size() == 1;
                        }),
             "dead letters: " << letters.dump() << problems_in(node.log()));
  if (letters.size() == 1) {
    BOOST_TEST(letters[0]["consumer"] == "inventory.order-events");
    BOOST_TEST(letters[0]["eventName"] == "order.created");
    BOOST_TEST(letters[0]["lastError"].get<std::string>().find("expired") != std::string::npos,
               letters[0].dump());
  }
  // It is off the dead-letter queue: acknowledged once recorded.
  brokers::rabbitmq_connection amqp{bus, std::chrono::seconds{5}};
  BOOST_TEST(eventually(5s, [&] {
    return amqp.queue_counts(brokers::dead_letter_queue(bus, "inventory.order-events")).first == 0;
  }));
}
