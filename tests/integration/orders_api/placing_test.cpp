// POST /orders: orders placed (201, their lines, totals and events) and refused for what the
// order names (422).
#include "orders_api.hpp"

#include <algorithm>
#include <cctype>

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(placing, orders_api)

// ---------------------------------------------------------------- placing: success

BOOST_AUTO_TEST_CASE(placing_an_order_is_201_pending_with_exactly_the_order_fields_and_a_location) {
  auto c = customer();
  auto p = products(1)[0];
  auto res = place(order_body(c, {item(p, "3", "19.99")}));
  auto data = expect_order(res, 201);
  BOOST_TEST(data["status"] == "PENDING");
  BOOST_TEST(data["customerId"] == c);
  BOOST_TEST(!data.contains("rejectionReason"));
  BOOST_TEST_REQUIRE(data["items"].size() == 1u);
  BOOST_TEST(data["items"][0]["productId"] == p);
  BOOST_TEST(data["items"][0]["quantity"] == 3);
  BOOST_TEST(is_money(data["items"][0]["price"], 1999), data.dump());
  BOOST_TEST(is_money(data["totalAmount"], 5997), data.dump());
  BOOST_TEST(res->get_header_value("Location") == "/orders/" + id_of(data));
  BOOST_TEST(!res->has_header("Idempotent-Replayed"));
  BOOST_TEST(!res->get_header_value("X-Correlation-Id").empty());
  // Integers in the text itself: no "3.0" or exponent.
  BOOST_TEST(std::regex_search(res->body, std::regex{R"("quantity"\s*:\s*3\s*[,}])"}), res->body);
}

BOOST_AUTO_TEST_CASE(created_at_and_updated_at_are_rfc3339_utc_with_milliseconds_close_to_now) {
  auto data = simple_order(customer());
  for (auto field : {"createdAt", "updatedAt"}) {
    auto stamp = data[field].get<std::string>();
    BOOST_TEST(std::regex_match(stamp, timestamp_pattern), stamp);
    auto skew = seconds_from_now(stamp);
    BOOST_TEST(std::labs(skew) <= 120,
               field << " " << stamp << " is " << skew << " s away from now (UTC)");
  }
}

BOOST_AUTO_TEST_CASE(order_ids_are_distinct_lower_case_uuids) {
  auto c = customer();
  auto a = simple_order(c);
  auto b = simple_order(c);
  BOOST_TEST(std::regex_match(id_of(a), uuid_pattern));
  BOOST_TEST(std::regex_match(id_of(b), uuid_pattern));
  BOOST_TEST(id_of(a) != id_of(b));
}

BOOST_AUTO_TEST_CASE(location_of_a_placed_order_answers_get_with_the_same_order) {
  auto c = customer();
  auto res = place(order_body(c, {item(products(1)[0], "2", "5.25")}));
  auto created = expect_order(res, 201);
  auto fetched = expect_order(http->Get(res->get_header_value("Location").c_str()), 200);
  BOOST_TEST(fixed_part(fetched) == fixed_part(created), fetched.dump()
                                                             << " vs " << created.dump());
  BOOST_TEST((fetched["status"] == "PENDING" || fetched["status"] == "CONFIRMED"), fetched.dump());
}

BOOST_AUTO_TEST_CASE(total_of_3_times_19_99_is_exactly_59_97) {
  auto res = place(order_body(customer(), {item(products(1)[0], "3", "19.99")}));
  auto data = expect_order(res, 201);
  BOOST_TEST(is_money(data["totalAmount"], 5997), data["totalAmount"]);
  BOOST_TEST(std::regex_search(res->body, std::regex{R"("totalAmount"\s*:\s*59\.97\s*[,}])"}),
             res->body);
  BOOST_TEST(is_money(expect_order(get(id_of(data)), 200)["totalAmount"], 5997));
}

BOOST_AUTO_TEST_CASE(total_of_3_times_0_1_is_exactly_0_3) {
  auto res = place(order_body(customer(), {item(products(1)[0], "3", "0.1")}));
  auto data = expect_order(res, 201);
  BOOST_TEST(is_money(data["totalAmount"], 30), data["totalAmount"]);
  BOOST_TEST(std::regex_search(res->body, std::regex{R"("totalAmount"\s*:\s*0\.3\s*[,}])"}),
             res->body);
  BOOST_TEST(is_money(data["items"][0]["price"], 10), data.dump());
}

BOOST_AUTO_TEST_CASE(totals_over_several_lines_are_exact_to_the_cent) {
  // Prices binary floating point cannot hold: 0.29, 4.35, 1.15, 0.07, 1.13.
  auto p = products(5);
  auto data = placed(order_body(customer(), {item(p[0], "3", "0.29"), item(p[1], "100", "4.35"),
                                             item(p[2], "7", "1.15"), item(p[3], "10000", "0.07"),
                                             item(p[4], "1", "1.13")}));
  // 0.87 + 435.00 + 8.05 + 700.00 + 1.13
  BOOST_TEST(is_money(data["totalAmount"], 87 + 43500 + 805 + 70000 + 113), data["totalAmount"]);
  std::vector<int64_t> prices{29, 435, 115, 7, 113};
  for (std::size_t i = 0; i < prices.size(); ++i)
    BOOST_TEST(is_money(data["items"][i]["price"], prices[i]), data["items"][i].dump());
}

BOOST_AUTO_TEST_CASE(a_large_total_keeps_its_cents) {
  auto p = products(2);
  auto data =
      placed(order_body(customer(), {item(p[0], "9999", "999999.99"), item(p[1], "1", "0.01")}));
  int64_t expected = int64_t(9999) * 99999999 + 1; // 9998999900.02
  BOOST_TEST(is_money(data["totalAmount"], expected),
             data["totalAmount"] << " vs " << cents_text(expected));
}

BOOST_AUTO_TEST_CASE(prices_of_0_and_of_1000000_are_accepted) {
  auto p = products(1)[0];
  auto free_order = placed(order_body(customer(), {item(p, "5", "0")}));
  BOOST_TEST(is_money(free_order["totalAmount"], 0), free_order.dump());
  BOOST_TEST(is_money(free_order["items"][0]["price"], 0), free_order.dump());
  auto top = placed(order_body(customer(), {item(p, "1", "1000000")}));
  BOOST_TEST(is_money(top["totalAmount"], 100000000), top.dump());
  auto top_decimals = placed(order_body(customer(), {item(p, "2", "1000000.00")}));
  BOOST_TEST(is_money(top_decimals["totalAmount"], 200000000), top_decimals.dump());
  auto cent = placed(order_body(customer(), {item(p, "1", "0.01")}));
  BOOST_TEST(is_money(cent["totalAmount"], 1), cent.dump());
}

BOOST_AUTO_TEST_CASE(quantities_of_1_and_of_10000_are_accepted) {
  auto p = products(1)[0];
  auto one = placed(order_body(customer(), {item(p, "1", "2.50")}));
  BOOST_TEST(one["items"][0]["quantity"] == 1);
  BOOST_TEST(is_money(one["totalAmount"], 250));
  auto most = placed(order_body(customer(), {item(p, "10000", "2.50")}));
  BOOST_TEST(most["items"][0]["quantity"] == 10000);
  BOOST_TEST(is_money(most["totalAmount"], 2500000));
}

BOOST_AUTO_TEST_CASE(one_hundred_items_are_accepted_and_kept_in_the_order_given) {
  auto p = products(100);
  std::vector<std::string> items;
  int64_t total = 0;
  for (int i = 0; i < 100; ++i) {
    items.push_back(item(p[std::size_t(i)], std::to_string(i + 1), cents_text(i + 1)));
    total += int64_t(i + 1) * (i + 1);
  }
  auto data = placed(order_body(customer(), items));
  BOOST_TEST_REQUIRE(data["items"].size() == 100u);
  for (std::size_t i = 0; i < 100; ++i) {
    BOOST_TEST(data["items"][i]["productId"] == p[i]);
    BOOST_TEST(data["items"][i]["quantity"] == int(i + 1));
    BOOST_TEST(is_money(data["items"][i]["price"], int64_t(i + 1)));
  }
  BOOST_TEST(is_money(data["totalAmount"], total),
             data["totalAmount"] << " vs " << cents_text(total));
  BOOST_TEST(expect_order(get(id_of(data)), 200)["items"] == data["items"]);
}

BOOST_AUTO_TEST_CASE(an_order_for_a_product_that_does_not_exist_is_accepted_as_pending) {
  // Products are checked by inventory afterwards (the order may become REJECTED later).
  auto data = placed(order_body(customer(), {item(fake_uuid(424242), "1", "1.00")}));
  BOOST_TEST(data["status"] == "PENDING");
  auto now = expect_order(get(id_of(data)), 200);
  if (now["status"] == "REJECTED")
    BOOST_TEST(now["rejectionReason"] == "UNKNOWN_PRODUCT", now.dump());
}

BOOST_AUTO_TEST_CASE(extra_fields_cannot_set_id_status_or_total) {
  auto c = customer();
  auto body = json::parse(order_body(c, {item(products(1)[0], "1", "3.00")}));
  body["id"] = fake_uuid(1);
  body["status"] = "CONFIRMED";
  body["totalAmount"] = 0.01;
  body["createdAt"] = "2000-01-01T00:00:00.000Z";
  auto res = place(body.dump());
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->status << " " << res->body);
  if (res->status == 201) {
    auto data = expect_order(res, 201);
    BOOST_TEST(id_of(data) != fake_uuid(1));
    BOOST_TEST(data["status"] == "PENDING");
    BOOST_TEST(is_money(data["totalAmount"], 300));
    BOOST_TEST(data["createdAt"] != "2000-01-01T00:00:00.000Z");
  }
}

BOOST_AUTO_TEST_CASE(two_identical_requests_without_a_key_place_two_orders) {
  auto c = customer();
  auto body = order_body(c, {item(products(1)[0], "1", "1.00")});
  auto a = placed(body);
  auto b = placed(body);
  BOOST_TEST(id_of(a) != id_of(b));
  BOOST_TEST(listed(c).size() == 2u);
}

// ---------------------------------------------------------------- placing: 422

BOOST_AUTO_TEST_CASE(an_unknown_customer_is_422_unknown_customer_and_creates_nothing) {
  auto before = count_events("order.created");
  expect_error(place(order_body(unknown_uuid, {item(products(1)[0], "1")})), 422,
               "UNKNOWN_CUSTOMER");
  // A product's id is no customer either.
  auto p = products(1)[0];
  expect_error(place(order_body(p, {item(p, "1")})), 422, "UNKNOWN_CUSTOMER");
  BOOST_TEST(count_events("order.created") == before);
  BOOST_TEST(listed(unknown_uuid).empty());
}

BOOST_AUTO_TEST_CASE(an_inactive_customer_is_422_customer_inactive_and_creates_nothing) {
  auto c = customer();
  auto earlier = simple_order(c);
  deactivate(c);
  auto before = count_events("order.created");
  expect_error(place(order_body(c, {item(products(1)[0], "1")})), 422, "CUSTOMER_INACTIVE");
  BOOST_TEST(count_events("order.created") == before);
  BOOST_TEST(ids_in(listed(c)) == std::vector<std::string>{id_of(earlier)});
}

BOOST_AUTO_TEST_CASE(orders_placed_at_the_same_moment_each_get_the_answer_for_their_own_customer) {
  // The service asks about the customers of orders that arrive together in one request:
  // each order still gets the answer for its own customer, whatever the case of its id.
  auto active = customer();
  auto inactive = customer();
  deactivate(inactive);
  auto shouting = active;
  std::transform(shouting.begin(), shouting.end(), shouting.begin(),
                 [](unsigned char c) { return char(std::toupper(c)); });
  auto p = products(1)[0];
  const std::vector<std::string> customers{active, inactive, unknown_uuid, shouting};
  auto before = count_events("order.created");
  const int n = 40;
  auto answers = race(port(), n, [&](httplib::Client& client, int i) {
    return client.Post("/orders", order_body(customers[std::size_t(i) % 4], {item(p, "1")}),
                       "application/json");
  });
  for (int i = 0; i < n; ++i) {
    auto& a = answers[std::size_t(i)];
    switch (i % 4) {
    case 1:
      BOOST_TEST((a.status == 422 && a.code == "CUSTOMER_INACTIVE"), "order " << i);
      break;
    case 2:
      BOOST_TEST((a.status == 422 && a.code == "UNKNOWN_CUSTOMER"), "order " << i);
      break;
    default:
      BOOST_TEST(a.status == 201, "order " << i << ": " << a.status << " " << a.code);
    }
  }
  BOOST_TEST(count_events("order.created") == before + n / 2);
  BOOST_TEST(listed(active, "limit=100").size() == std::size_t(n / 2));
  BOOST_TEST(listed(inactive).empty());
}

BOOST_AUTO_TEST_SUITE_END()
