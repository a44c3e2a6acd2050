// Batch semantics of the consumers, through the modules' public faces: a delivery of
// several events goes to a module's service as the relay or a broker's reader sends it,
// against a real PostgreSQL. An event given twice is applied once; two events of one
// aggregate are applied in sequence; a failing event fails alone while the rest of its
// batch commits, and the later events of its aggregate are not tried; an event its
// consumer does not declare fails the same way; inventory batches competing for one product
// never oversell.
#include "test_database.hpp"

#include "actors/event_delivery.hpp"
#include "config/app_settings.hpp"
#include "modules/inventory/events.hpp"
#include "modules/modules.hpp"
#include "modules/orders/events.hpp"
#include "persistence/migration.hpp"
#include "persistence/pg.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <boost/test/unit_test.hpp>

#include <future>
#include <map>
#include <memory>

using namespace testing_support;
using persistence::pg_connection;

namespace {

struct consumers {
  test_database db{"batches"};
  config::app_settings settings;
  std::map<std::string, module_definition> modules;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  pg_connection admin{db.dsn()};
  int next_id = 0;

  consumers() {
    for (auto& m : all_modules())
      modules.emplace(m.name, m);
    std::vector<persistence::module_schema> schemas;
    for (auto name : {"inventory", "orders", "notifications"})
      schemas.push_back({name, db.name() + "_" + name, modules.at(name).migrations()});
    persistence::migrate(db.dsn(), schemas);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~consumers() {
    for (auto& a : started)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    started.clear();
    sys->registry().await_running_count_equal(0);
  }

  // The module's service, as its supervisor would start it (a second call starts a second
  // instance: another set of workers on the same database, like a replica on another node).
  caf::actor service(const std::string& module) {
    auto& m = modules.at(module);
    module_context ctx{module, db.module_dsn(module), settings, caf::actor{}, nullptr, nullptr};
    for (auto& child : m.children(ctx))
      if (child.name == m.front) {
        auto handle = child.spawn(*sys);
        started.push_back(handle);
        return handle;
      }
    BOOST_FAIL("module " << module << " has no front child");
    return {};
  }
  std::vector<caf::actor> started;

  std::string uuid() { return admin.exec("SELECT gen_random_uuid()::text").string(0, 0); }

  event_envelope event(const std::string& name, const std::string& aggregate, int64_t sequence,
                       const nlohmann::json& payload) {
    return {uuid(),       name, aggregate,      sequence,
            "batch-test", "",   payload.dump(), "2026-01-01T00:00:00.000Z"};
  }

  event_envelope order_created(const std::string& order, const std::string& product,
                               int64_t quantity) {
    orders::events::order_created_payload p{
        order, uuid(), quantity * 100, {{product, quantity, 100}}};
    return event("order.created", order, 1, nlohmann::json(p));
  }

  event_envelope order_cancelled(const std::string& order, int64_t sequence) {
    return event("order.cancelled", order, sequence,
                 nlohmann::json(orders::events::order_status_payload{order, uuid(), ""}));
  }

  std::string product(int64_t stock) {
    auto id = uuid();
    admin.exec("INSERT INTO inventory.products (id, sku, name, price_cents, stock) "
               "VALUES ($1::uuid, $2, 'P', 100, $3)",
               {id, "SKU-" + std::to_string(++next_id), stock});
    return id;
  }

  delivery_ack deliver(const caf::actor& to, const std::string& consumer,
                       std::vector<event_envelope> events) {
    caf::scoped_actor self{*sys};
    delivery_ack ack;
    self->request(to, std::chrono::seconds{20}, delivery{consumer, std::move(events)})
        .receive([&](delivery_ack& a) { ack = std::move(a); },
                 [&](caf::error& err) { BOOST_FAIL("delivery failed: " << sys->render(err)); });
    return ack;
  }

  int64_t count(const std::string& sql, const persistence::pg_params& params = {}) {
    return admin.exec(sql, params).integer(0, 0);
  }
};

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(batch_consumers, consumers)

BOOST_AUTO_TEST_CASE(an_event_given_twice_in_one_batch_is_applied_once) {
  auto notifications = service("notifications");
  auto created = order_created(uuid(), uuid(), 1);
  auto ack = deliver(notifications, "notifications.order-events", {created, created});
  BOOST_TEST(ack.failed.empty());
  BOOST_TEST(ack.handled.size() == 2u); // both copies answered: the second as a repeat
  BOOST_TEST(count("SELECT count(*) FROM notifications.notifications WHERE event_id = $1::uuid",
                   {created.id}) == 1);
  // And again later: still once.
  deliver(notifications, "notifications.order-events", {created});
  BOOST_TEST(count("SELECT count(*) FROM notifications.notifications") == 1);
  BOOST_TEST(count("SELECT count(*) FROM notifications.unsent") == 1);
}

BOOST_AUTO_TEST_CASE(two_events_of_one_aggregate_in_one_batch_are_applied_in_sequence) {
  auto inventory = service("inventory");
  auto p = product(10);
  auto order = uuid();
  auto ack = deliver(inventory, "inventory.order-events",
                     {order_created(order, p, 3), order_cancelled(order, 2)});
  BOOST_TEST(ack.failed.empty());
  BOOST_TEST(ack.handled.size() == 2u);
  // Reserved, then released: nothing held, and the events it emitted in that order.
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 0);
  BOOST_TEST(
      admin.exec("SELECT status FROM inventory.reservations WHERE order_id = $1::uuid", {order})
          .string(0, 0) == "RELEASED");
  auto emitted = admin.exec("SELECT event_name, sequence FROM inventory.outbox "
                            "WHERE aggregate_id = $1::uuid ORDER BY position",
                            {order});
  BOOST_REQUIRE(emitted.rows() == 2);
  BOOST_TEST(emitted.string(0, 0) == "inventory.reserved");
  BOOST_TEST(emitted.integer(0, 1) == 1);
  BOOST_TEST(emitted.string(1, 0) == "inventory.released");
  BOOST_TEST(emitted.integer(1, 1) == 2);
}

BOOST_AUTO_TEST_CASE(a_failing_event_fails_alone_and_holds_back_only_its_own_aggregate) {
  auto inventory = service("inventory");
  auto p = product(100);
  auto good = uuid(), bad = uuid(), later = uuid();
  auto broken = event("order.created", bad, 1, {{"orderId", bad}}); // no items: the handler throws
  auto ack = deliver(
      inventory, "inventory.order-events",
      {order_created(good, p, 1), broken, order_cancelled(bad, 2), order_created(later, p, 2)});
  BOOST_TEST(ack.failed == std::vector<std::string>{broken.id});
  BOOST_REQUIRE(ack.errors.size() == 1u);
  BOOST_TEST(!ack.errors[0].empty());
  BOOST_TEST(ack.handled.size() == 2u); // the good orders; the cancel of `bad` was not tried
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 3);
  BOOST_TEST(count("SELECT count(*) FROM inventory.reservations") == 2);
  BOOST_TEST(count("SELECT count(*) FROM inventory.inbox") == 2); // retried later, alone
  BOOST_TEST(count("SELECT count(*) FROM inventory.outbox WHERE aggregate_id = $1::uuid", {bad}) ==
             0);
  // Retried alone (now valid, as a replayed dead letter would be): applied once.
  auto ack2 = deliver(inventory, "inventory.order-events",
                      {order_created(good, p, 1), order_cancelled(bad, 2)});
  BOOST_TEST(ack2.failed.empty());
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 3);
}

BOOST_AUTO_TEST_CASE(an_event_its_consumer_does_not_declare_fails_and_is_never_acknowledged) {
  auto inventory = service("inventory");
  auto p = product(10);
  auto good = uuid(), odd = uuid();
  // inventory.order-events declares order.created and order.cancelled, not order.confirmed.
  auto confirmed = event(orders::events::order_confirmed, odd, 2,
                         nlohmann::json(orders::events::order_status_payload{odd, uuid(), ""}));
  auto after = order_cancelled(odd, 3);
  auto ack =
      deliver(inventory, "inventory.order-events", {order_created(good, p, 2), confirmed, after});
  BOOST_TEST(ack.failed == std::vector<std::string>{confirmed.id});
  BOOST_REQUIRE(ack.errors.size() == 1u);
  BOOST_TEST(ack.errors[0] == "consumer inventory.order-events does not handle order.confirmed");
  BOOST_TEST(ack.handled.size() == 1u); // the good order; the cancel behind it was not tried
  BOOST_TEST(
      count("SELECT count(*) FROM inventory.inbox WHERE event_id = $1::uuid", {confirmed.id}) == 0);
  // A consumer the module does not declare at all: every event fails, nothing is applied.
  auto stray = order_created(uuid(), p, 1);
  auto ack2 = deliver(inventory, "inventory.someone-else", {stray});
  BOOST_TEST(ack2.handled.empty());
  BOOST_TEST(ack2.failed == std::vector<std::string>{stray.id});
  BOOST_REQUIRE(ack2.errors.size() == 1u);
  BOOST_TEST(ack2.errors[0] == "no consumer inventory.someone-else in module inventory");
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 2);
}

BOOST_AUTO_TEST_CASE(forty_orders_of_two_against_stock_fifty_confirm_exactly_twenty_five) {
  auto p = product(50);
  auto decide = [&](const caf::actor& inventory, int n) {
    std::vector<event_envelope> batch;
    for (int i = 0; i < n; ++i)
      batch.push_back(order_created(uuid(), p, 2));
    return deliver(inventory, "inventory.order-events", batch);
  };
  // One batch of forty.
  auto ack = decide(service("inventory"), 40);
  BOOST_TEST(ack.handled.size() == 40u);
  BOOST_TEST(count("SELECT count(*) FROM inventory.reservations WHERE status = 'RESERVED'") == 25);
  BOOST_TEST(count("SELECT count(*) FROM inventory.outbox WHERE event_name = 'inventory.rejected' "
                   "AND payload->>'reason' = 'INSUFFICIENT_STOCK'") == 15);
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 50);
}

BOOST_AUTO_TEST_CASE(two_concurrent_batches_competing_for_one_product_never_oversell) {
  auto p = product(50);
  // Two instances of the module (its workers on two connections, as on two nodes), each
  // given a batch of twenty orders of two at the same time.
  auto first = service("inventory"), second = service("inventory");
  auto batch = [&] {
    std::vector<event_envelope> events;
    for (int i = 0; i < 20; ++i)
      events.push_back(order_created(uuid(), p, 2));
    return events;
  };
  auto a = batch(), b = batch();
  auto one =
      std::async(std::launch::async, [&] { return deliver(first, "inventory.order-events", a); });
  auto two =
      std::async(std::launch::async, [&] { return deliver(second, "inventory.order-events", b); });
  BOOST_TEST(one.get().handled.size() == 20u);
  BOOST_TEST(two.get().handled.size() == 20u);
  BOOST_TEST(count("SELECT count(*) FROM inventory.reservations WHERE status = 'RESERVED'") == 25);
  BOOST_TEST(count("SELECT count(*) FROM inventory.reservations WHERE status = 'REJECTED'") == 15);
  BOOST_TEST(count("SELECT reserved FROM inventory.products WHERE id = $1::uuid", {p}) == 50);
}

BOOST_AUTO_TEST_CASE(reservation_outcomes_settle_each_order_once_in_one_batch) {
  auto orders = service("orders");
  auto order = uuid(), customer = uuid();
  admin.exec("INSERT INTO orders.orders (id, customer_id, items, total_cents, status) "
             "VALUES ($1::uuid, $2::uuid, '[]', 0, 'PENDING')",
             {order, customer});
  auto reserved = event("inventory.reserved", order, 1,
                        nlohmann::json(inventory::events::reservation_payload{order, {}}));
  auto rejected = event("inventory.rejected", order, 2,
                        nlohmann::json(inventory::events::inventory_rejected_payload{
                            order, "INSUFFICIENT_STOCK", uuid()}));
  auto ack = deliver(orders, "orders.inventory-events", {reserved, rejected});
  BOOST_TEST(ack.failed.empty());
  BOOST_TEST(contains(ack.handled, reserved.id));
  BOOST_TEST(contains(ack.handled, rejected.id));
  // The first outcome decides; the second finds the order decided and changes nothing.
  BOOST_TEST(
      admin.exec("SELECT status FROM orders.orders WHERE id = $1::uuid", {order}).string(0, 0) ==
      "CONFIRMED");
  BOOST_TEST(count("SELECT count(*) FROM orders.outbox WHERE aggregate_id = $1::uuid "
                   "AND event_name = 'order.confirmed'",
                   {order}) == 1);
  BOOST_TEST(count("SELECT count(*) FROM orders.outbox WHERE aggregate_id = $1::uuid", {order}) ==
             1);
}

BOOST_AUTO_TEST_SUITE_END()
