// The orders outbox rows that placing and cancelling write (superuser view).
#include "orders_api.hpp"

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(outbox, orders_api)

// ---------------------------------------------------------------- outbox

BOOST_AUTO_TEST_CASE(
    a_placed_order_records_one_order_created_event_with_its_payload_and_correlation_id) {
  auto c = customer();
  auto p = products(2);
  auto res = place(order_body(c, {item(p[0], "3", "19.99"), item(p[1], "3", "0.1")}),
                   {{"X-Correlation-Id", "order-corr.1:A-z"}});
  auto order = expect_order(res, 201);
  BOOST_TEST(res->get_header_value("X-Correlation-Id") == "order-corr.1:A-z");
  auto events = events_of(id_of(order));
  int created = 0;
  for (auto& e : events)
    created += e.name == "order.created";
  BOOST_TEST(created == 1);
  BOOST_TEST_REQUIRE(!events.empty());
  auto& e = events[0];
  BOOST_TEST(e.name == "order.created");
  BOOST_TEST(e.sequence == 1);
  BOOST_TEST(e.correlation_id == "order-corr.1:A-z");
  BOOST_TEST(keys_of(e.payload) ==
                 (std::set<std::string>{"orderId", "customerId", "totalAmount", "items"}),
             e.payload.dump());
  BOOST_TEST(e.payload["orderId"] == id_of(order));
  BOOST_TEST(e.payload["customerId"] == c);
  BOOST_TEST(is_money(e.payload["totalAmount"], 5997 + 30), e.payload.dump());
  BOOST_TEST_REQUIRE((e.payload["items"].is_array() && e.payload["items"].size() == 2u),
                     e.payload.dump());
  std::vector<std::pair<std::string, int64_t>> lines{{p[0], 1999}, {p[1], 10}};
  for (std::size_t i = 0; i < 2; ++i) {
    auto& line = e.payload["items"][i];
    BOOST_TEST(keys_of(line) == (std::set<std::string>{"productId", "quantity", "price"}),
               line.dump());
    BOOST_TEST(line["productId"] == lines[i].first);
    BOOST_TEST(line["quantity"].is_number_integer(), line.dump());
    BOOST_TEST(line["quantity"] == 3);
    BOOST_TEST(is_money(line["price"], lines[i].second), line.dump());
  }
}

BOOST_AUTO_TEST_CASE(without_a_valid_correlation_header_the_event_carries_the_generated_one) {
  for (auto header : std::vector<httplib::Headers>{{},
                                                   {{"X-Correlation-Id", "not valid!"}},
                                                   {{"X-Correlation-Id", std::string(129, 'c')}}}) {
    auto res = place(order_body(customer(), {item(products(1)[0])}), header);
    auto order = expect_order(res, 201);
    auto generated = res->get_header_value("X-Correlation-Id");
    BOOST_TEST(std::regex_match(generated, uuid_pattern), generated);
    auto events = events_of(id_of(order));
    BOOST_TEST_REQUIRE(!events.empty());
    BOOST_TEST(events[0].correlation_id == generated);
  }
}

BOOST_AUTO_TEST_CASE(
    a_cancel_records_order_cancelled_with_the_next_sequence_and_its_correlation_id) {
  auto c = customer();
  auto order = simple_order(c);
  auto res = cancel(id_of(order), {{"X-Correlation-Id", "cancel-corr-7"}});
  expect_order(res, 200);
  BOOST_TEST(res->get_header_value("X-Correlation-Id") == "cancel-corr-7");
  auto events = events_of(id_of(order));
  BOOST_TEST_REQUIRE(events.size() >= 2u);
  for (std::size_t i = 0; i < events.size(); ++i)
    BOOST_TEST(events[i].sequence == int64_t(i + 1), "sequences must run 1, 2, ...");
  auto& last = events.back();
  BOOST_TEST(last.name == "order.cancelled");
  BOOST_TEST(last.correlation_id == "cancel-corr-7");
  BOOST_TEST(last.payload == (json{{"orderId", id_of(order)}, {"customerId", c}}),
             last.payload.dump());
  BOOST_TEST(events[0].name == "order.created");
  // A refused second cancel records nothing.
  expect_error(cancel(id_of(order)), 409, "INVALID_STATE");
  BOOST_TEST(events_of(id_of(order)).size() == events.size());
}

BOOST_AUTO_TEST_CASE(a_replay_records_no_event) {
  auto c = customer();
  auto key = unique("replay-event-");
  auto body = order_body(c, {item(products(1)[0], "1")});
  auto first = placed(body, {{"Idempotency-Key", key}});
  auto before = count_events("order.created");
  auto res = place_with_key(key, body);
  BOOST_TEST(id_of(expect_order(res, 201)) == id_of(first));
  BOOST_TEST(count_events("order.created") == before);
  int created = 0;
  for (auto& e : events_of(id_of(first)))
    created += e.name == "order.created";
  BOOST_TEST(created == 1);
}

BOOST_AUTO_TEST_CASE(failed_requests_record_no_event) {
  auto c = customer();
  auto inactive = customer();
  deactivate(inactive);
  auto p = products(1)[0];
  auto key = unique("failed-events-");
  placed(order_body(c, {item(p, "1")}), {{"Idempotency-Key", key}});
  auto created_before = count_events("order.created");
  auto cancelled_before = count_events("order.cancelled");
  expect_invalid(place(order_body(c, {item(p, "0")})), {"items[0].quantity"});
  expect_error(place("{"), 400, "MALFORMED_JSON");
  expect_error(place(order_body(unknown_uuid, {item(p, "1")})), 422, "UNKNOWN_CUSTOMER");
  expect_error(place(order_body(inactive, {item(p, "1")})), 422, "CUSTOMER_INACTIVE");
  expect_error(place_with_key(key, order_body(c, {item(p, "9")})), 422, "IDEMPOTENCY_KEY_REUSED");
  expect_error(cancel(unknown_uuid), 404, "NOT_FOUND");
  BOOST_TEST(count_events("order.created") == created_before);
  BOOST_TEST(count_events("order.cancelled") == cancelled_before);
}

BOOST_AUTO_TEST_SUITE_END()
