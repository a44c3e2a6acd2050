// What only the nats backend needs: JetStream cannot make a pull depend on the reader's
// lease, so a reader that lost its partition without knowing yet (frozen between its
// lease check and its pull) can take a message from the partition's reader once. Here a
// stray pull from the test takes an order's order.created from the notifications
// consumer, holds it a while and gives it back; meanwhile the order's order.confirmed
// reaches the partition's reader. The reader must see the gap in the consumer's delivery
// numbers and wait for the stray message: the consumer still handles order.created first.
// Also: the report a reader logs when a partition's events stop moving.
#include "fault_probes.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "actors/brokers/event_json.hpp"
#include "actors/brokers/nats_jetstream.hpp"
#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>
#include <nats/nats.h>

#include <future>
#include <thread>

using namespace testing_support;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A pull subscription on one durable consumer, as a second reader would make it.
class stray_reader {
public:
  stray_reader(const config::bus_settings& bus, const std::string& subject,
               const std::string& durable) {
    auto url = "nats://127.0.0.1:" + std::to_string(bus.nats_port);
    require(natsConnection_ConnectTo(&connection_, url.c_str()), "connect");
    require(natsConnection_JetStream(&js_, connection_, nullptr), "jetstream");
    jsSubOptions options;
    jsSubOptions_Init(&options);
    brokers::set_reader_consumer_config(options.Config, bus);
    jsErrCode code = jsErrCode(0);
    require(
        js_PullSubscribe(&sub_, js_, subject.c_str(), durable.c_str(), nullptr, &options, &code),
        "pull subscription " + durable);
  }
  ~stray_reader() {
    natsSubscription_Destroy(sub_);
    jsCtx_Destroy(js_);
    natsConnection_Destroy(connection_);
  }
  stray_reader(const stray_reader&) = delete;
  stray_reader& operator=(const stray_reader&) = delete;

  // Waits up to `wait` for one message; null when none came.
  natsMsg* pull_one(std::chrono::milliseconds wait) {
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = 1;
    request.Expires = int64_t(wait.count()) * 1000 * 1000;
    natsMsgList list{nullptr, 0};
    natsSubscription_FetchRequest(&list, sub_, &request);
    natsMsg* msg = nullptr;
    if (list.Count > 0) {
      msg = list.Msgs[0];
      list.Msgs[0] = nullptr;
    }
    natsMsgList_Destroy(&list);
    return msg;
  }

private:
  static void require(natsStatus status, const std::string& what) {
    BOOST_REQUIRE_MESSAGE(status == NATS_OK, what << ": " << natsStatus_GetText(status));
  }
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

std::string place_order(node_process& node, const catalog& c) {
  json body = {{"customerId", c.customers[0]},
               {"items", {{{"productId", c.products[0]}, {"quantity", 1}, {"price", 2.5}}}}};
  auto res = node.client()->Post("/orders", body.dump(), "application/json");
  BOOST_REQUIRE_MESSAGE(res && res->status == 201, "POST /orders");
  return json::parse(res->body)["data"]["id"].get<std::string>();
}

// The order's events in the order the notifications consumer handled them.
std::vector<std::string> handled_by_notifications(const std::string& dsn,
                                                  const std::string& order_id) {
  return column(dsn, "SELECT o.event_name FROM notifications.inbox i JOIN orders.outbox o ON "
                     "o.id = i.event_id WHERE o.aggregate_id = '" +
                         order_id + "' ORDER BY i.processed_at, o.sequence");
}

} // namespace

BOOST_AUTO_TEST_CASE(a_message_a_stray_pull_took_still_reaches_the_consumer_before_later_ones) {
  const char* bus_name = std::getenv("MONOLITH_TEST_BUS");
  const char* port = std::getenv("MONOLITH_TEST_NATS_PORT");
  BOOST_REQUIRE_MESSAGE(
      bus_name && std::string{bus_name} == "nats" && port && *port,
      "MONOLITH_TEST_BUS=nats and MONOLITH_TEST_NATS_PORT: run with scripts/test");
  test_database db{"nats_stray"};
  node_process node{node_options{db.dsn(), {"--app.bus.partitions=1"}}};
  node.start();
  auto c = make_catalog(node, 1, 1, 1000000);

  // A first saga makes the publisher create the durable consumers.
  auto first = place_order(node, c);
  BOOST_REQUIRE_MESSAGE(
      eventually(15s, [&] { return handled_by_notifications(db.dsn(), first).size() == 2; }),
      "the first saga's events did not reach notifications; the node's log ends:\n"
          << tail_of(node.log(), 60));

  config::bus_settings bus;
  bus.nats_port = std::stoi(port);
  bus.key_prefix = db.name();
  brokers::nats_session names{bus};
  stray_reader stray{bus, names.subject("orders", 0),
                     brokers::durable_name("notifications.order-events", "orders", 0)};

  // The reader's own waiting pull lives for a quarter of its lease time; ours, sent
  // first and kept longer, is at the head of the queue when the order's first event comes.
  std::string stolen_order;
  for (int attempt = 0; attempt < 10 && stolen_order.empty(); ++attempt) {
    auto pulled = std::async(std::launch::async, [&] { return stray.pull_one(3s); });
    std::this_thread::sleep_for(700ms);
    auto order = place_order(node, c);
    natsMsg* msg = pulled.get();
    if (!msg)
      continue;
    auto event = brokers::envelope_from_json(
        std::string{natsMsg_GetData(msg), std::size_t(natsMsg_GetDataLength(msg))});
    if (event.aggregate_id == order && event.event_name == "order.created") {
      stolen_order = order;
      // Held while the saga goes on (order.confirmed reaches the reader meanwhile), then
      // given back, as a reader that finds its lease gone does.
      std::this_thread::sleep_for(1s);
    }
    natsMsg_Nak(msg, nullptr);
    natsMsg_Destroy(msg);
  }
  BOOST_REQUIRE_MESSAGE(!stolen_order.empty(),
                        "the stray pull never took an order.created in 10 attempts");

  std::vector<std::string> handled;
  BOOST_TEST(
      eventually(
          15s,
          [&] { return (handled = handled_by_notifications(db.dsn(), stolen_order)).size() == 2; }),
      "the notifications consumer handled " << handled.size()
                                            << " of the order's 2 events; "
                                               "the node's log ends:\n"
                                            << tail_of(node.log(), 60));
  BOOST_TEST((handled == std::vector<std::string>{"order.created", "order.confirmed"}),
             "handled in this order: " << (handled.empty() ? "" : handled[0]) << ", "
                                       << (handled.size() > 1 ? handled[1] : ""));
  BOOST_TEST(node.log().find("went to another reader") != std::string::npos,
             "the reader did not report the gap");
  BOOST_TEST(problems_in(node.log()).find("\"level\":\"error\"") == std::string::npos,
             problems_in(node.log()));
}

// A partition whose events stop moving is reported with what its reader knows: here the
// notifications consumer fails on every attempt (its insert privilege revoked), so
// order.created stays unacknowledged on its partition; once the privilege is back, the
// event goes through.
BOOST_AUTO_TEST_CASE(a_partition_whose_events_do_not_move_is_reported) {
  const char* bus_name = std::getenv("MONOLITH_TEST_BUS");
  BOOST_REQUIRE_MESSAGE(bus_name && std::string{bus_name} == "nats",
                        "MONOLITH_TEST_BUS=nats: run with scripts/test");
  test_database db{"nats_stall"};
  node_process node{
      node_options{db.dsn(),
                   {"--app.bus.partitions=1", "--app.delivery.max-attempts=1000",
                    "--app.delivery.backoff-initial=50ms", "--app.delivery.backoff-max=200ms"}}};
  node.start();
  auto c = make_catalog(node, 1, 1, 1000);
  persistence::pg_connection admin{db.dsn()};
  auto role = admin.quote_identifier(db.name() + "_notifications");
  admin.exec("REVOKE INSERT ON notifications.notifications FROM " + role);
  auto order = place_order(node, c);

  auto reported = [&] {
    auto log = node.log();
    auto at = log.find("has events waiting and none moved");
    if (at == std::string::npos)
      return std::string{};
    auto begin = log.rfind('\n', at) + 1;
    return log.substr(begin, log.find('\n', at) - begin);
  };
  BOOST_REQUIRE_MESSAGE(eventually(30s, [&] { return !reported().empty(); }),
                        "no stall report; the node's log ends:\n"
                            << tail_of(node.log(), 30));
  auto line = json::parse(reported());
  BOOST_TEST(line["consumer"] == "notifications.order-events");
  BOOST_TEST(line["held"] == true);
  BOOST_TEST(line["settling"] == false);
  BOOST_TEST(line["ackPending"].get<int64_t>() >= 1);
  BOOST_TEST(line["heldMessages"].get<int64_t>() >= 1);
  BOOST_TEST(line["lease"].get<std::string>().find("ms ago") != std::string::npos);

  admin.exec("GRANT INSERT ON notifications.notifications TO " + role);
  BOOST_TEST(
      eventually(15s, [&] { return handled_by_notifications(db.dsn(), order).size() == 2; }));
}
