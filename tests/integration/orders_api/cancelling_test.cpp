// POST /orders/{id}/cancel.
#include "orders_api.hpp"

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(cancelling, orders_api)

// ---------------------------------------------------------------- POST /orders/{id}/cancel

BOOST_AUTO_TEST_CASE(cancel_is_200_cancelled_and_keeps_items_totals_and_created_at) {
  auto c = customer();
  auto p = products(2);
  auto order = placed(order_body(c, {item(p[0], "3", "19.99"), item(p[1], "3", "0.1")}));
  auto other = simple_order(c);
  auto cancelled = expect_order(cancel(id_of(order)), 200);
  BOOST_TEST(cancelled["status"] == "CANCELLED");
  BOOST_TEST(fixed_part(cancelled) == fixed_part(order), cancelled.dump()
                                                             << " vs " << order.dump());
  BOOST_TEST(is_money(cancelled["totalAmount"], 5997 + 30), cancelled.dump());
  BOOST_TEST(cancelled["updatedAt"].get<std::string>() >= order["updatedAt"].get<std::string>());
  BOOST_TEST(!cancelled.contains("rejectionReason"));
  auto fetched = expect_order(get(id_of(order)), 200);
  BOOST_TEST(fetched == cancelled, fetched.dump() << " vs " << cancelled.dump());
  auto list = listed(c);
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[1] == cancelled, list[1].dump());
  BOOST_TEST(list[0]["status"] != "CANCELLED",
             "cancelling one order touched another: " << list[0].dump());
  BOOST_TEST(id_of(list[0]) == id_of(other));
}

BOOST_AUTO_TEST_CASE(cancelling_twice_is_409_invalid_state_and_changes_nothing) {
  auto order = simple_order(customer());
  auto cancelled = expect_order(cancel(id_of(order)), 200);
  expect_error(cancel(id_of(order)), 409, "INVALID_STATE");
  expect_error(cancel(id_of(order)), 409, "INVALID_STATE");
  BOOST_TEST(expect_order(get(id_of(order)), 200) == cancelled);
}

BOOST_AUTO_TEST_CASE(cancel_of_an_unknown_uuid_is_404_not_found) {
  expect_error(cancel(unknown_uuid), 404, "NOT_FOUND");
  expect_error(cancel("00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND");
  expect_error(cancel(customer()), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(cancel_of_a_non_uuid_id_is_404_not_found) {
  for (auto id : {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330g", "null", "%27%20OR%201%3D1--"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(cancel(id), 404, "NOT_FOUND");
    }
  }
}

BOOST_AUTO_TEST_CASE(cancel_with_a_body_that_is_not_json_is_refused_before_anything_else) {
  auto order = simple_order(customer());
  expect_error(http->Post(("/orders/" + id_of(order) + "/cancel").c_str(), "{", "application/json"),
               400, "MALFORMED_JSON");
  expect_error(http->Post(("/orders/" + unknown_uuid + "/cancel").c_str(), "{", "application/json"),
               400, "MALFORMED_JSON");
  expect_error(http->Post(("/orders/" + id_of(order) + "/cancel").c_str(), "cancel", "text/plain"),
               415, "UNSUPPORTED_MEDIA_TYPE");
  BOOST_TEST(expect_order(get(id_of(order)), 200)["status"] != "CANCELLED");
  // An empty JSON object is a fine body.
  BOOST_TEST(expect_order(http->Post(("/orders/" + id_of(order) + "/cancel").c_str(), "{}",
                                     "application/json"),
                          200)["status"] == "CANCELLED");
}

BOOST_AUTO_TEST_CASE(ten_parallel_cancels_give_one_200_and_nine_409) {
  auto order = simple_order(customer());
  auto id = id_of(order);
  auto answers = race(port(), 10, [&](httplib::Client& client, int) {
    return client.Post(("/orders/" + id + "/cancel").c_str());
  });
  BOOST_TEST(count_of(answers, 200) == 1);
  BOOST_TEST(count_of(answers, 409, "INVALID_STATE") == 9);
  int cancelled_events = 0;
  for (auto& e : events_of(id))
    cancelled_events += e.name == "order.cancelled";
  BOOST_TEST(cancelled_events == 1);
}

BOOST_AUTO_TEST_SUITE_END()
