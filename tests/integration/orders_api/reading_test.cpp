// GET /orders/{id} and GET /orders?customerId=&limit=.
#include "orders_api.hpp"

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(reading, orders_api)

// ---------------------------------------------------------------- GET /orders/{id}

BOOST_AUTO_TEST_CASE(get_of_an_unknown_uuid_is_404_not_found) {
  expect_error(get(unknown_uuid), 404, "NOT_FOUND");
  expect_error(get("00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_non_uuid_id_is_404_not_found) {
  for (auto id : {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330", "3f2504e0-4f89-41d3-9a0c-0305e82c33011",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330g", "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
                  "%20", "null", "-1", "%27%20OR%201%3D1--"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(get(id), 404, "NOT_FOUND");
    }
  }
  expect_error(get(std::string(1000, 'a')), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_customer_or_product_id_is_404) {
  auto c = customer();
  simple_order(c);
  expect_error(get(c), 404, "NOT_FOUND");
  expect_error(get(products(1)[0]), 404, "NOT_FOUND");
}

// ---------------------------------------------------------------- GET /orders?customerId=

BOOST_AUTO_TEST_CASE(list_is_newest_first_and_holds_only_the_customers_own_orders) {
  auto a = customer();
  auto b = customer();
  auto a1 = simple_order(a, 1);
  auto b1 = simple_order(b, 1);
  auto a2 = simple_order(a, 2);
  auto a3 = simple_order(a, 3);
  auto list = listed(a);
  BOOST_TEST(ids_in(list) == (std::vector<std::string>{id_of(a3), id_of(a2), id_of(a1)}));
  for (auto& o : list)
    BOOST_TEST(o["customerId"] == a);
  BOOST_TEST_REQUIRE(list.size() == 3u);
  BOOST_TEST(fixed_part(list[0]) == fixed_part(a3), list[0].dump() << " vs " << a3.dump());
  BOOST_TEST(ids_in(listed(b)) == std::vector<std::string>{id_of(b1)});
}

BOOST_AUTO_TEST_CASE(orders_placed_in_parallel_are_listed_newest_first_by_created_at) {
  auto c = customer();
  auto body = order_body(c, {item(products(1)[0], "1")});
  std::atomic<bool> go{false};
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i)
    threads.emplace_back([&] {
      httplib::Client client{"127.0.0.1", port()};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      auto res = client.Post("/orders", body, "application/json");
      created += res && res->status == 201;
    });
  go = true;
  for (auto& t : threads)
    t.join();
  BOOST_TEST(created == 10);
  auto list = listed(c, "limit=100");
  BOOST_TEST(list.size() == 10u);
  for (std::size_t i = 1; i < list.size(); ++i)
    BOOST_TEST(list[i - 1]["createdAt"].get<std::string>() >=
                   list[i]["createdAt"].get<std::string>(),
               "not newest first at " << i << ": " << list.dump());
}

BOOST_AUTO_TEST_CASE(list_default_limit_is_20_and_limits_1_and_100_are_accepted) {
  auto c = customer();
  std::vector<std::string> ids; // oldest first
  for (int i = 0; i < 21; ++i)
    ids.push_back(id_of(simple_order(c)));
  std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  auto by_default = listed(c);
  BOOST_TEST(ids_in(by_default) ==
             std::vector<std::string>(newest_first.begin(), newest_first.begin() + 20));
  BOOST_TEST(ids_in(listed(c, "limit=1")) == std::vector<std::string>{newest_first[0]});
  BOOST_TEST(ids_in(listed(c, "limit=2")) ==
             std::vector<std::string>(newest_first.begin(), newest_first.begin() + 2));
  BOOST_TEST(ids_in(listed(c, "limit=20")) == ids_in(by_default));
  BOOST_TEST(ids_in(listed(c, "limit=21")) == newest_first);
  BOOST_TEST(ids_in(listed(c, "limit=100")) == newest_first);
  // parameter order does not matter
  auto res = list_raw("?limit=1&customerId=" + c);
  BOOST_REQUIRE(res);
  BOOST_TEST_REQUIRE(res->status == 200, res->body);
  BOOST_TEST(ids_in(body_of(res)["data"]) == std::vector<std::string>{newest_first[0]});
}

BOOST_AUTO_TEST_CASE(list_limit_out_of_range_or_not_an_integer_is_400_naming_limit) {
  auto c = customer();
  simple_order(c);
  for (auto limit : {"0", "101", "1000", "-1", "abc", "5.0", "1e1", "", "%205", "5%20",
                     "99999999999999999999999"}) {
    BOOST_TEST_CONTEXT("limit=" << limit) {
      expect_invalid(list_raw("?customerId=" + c + "&limit=" + limit), {"limit"});
    }
  }
}

BOOST_AUTO_TEST_CASE(list_without_a_uuid_customer_id_is_400_naming_customer_id) {
  for (auto& query :
       std::vector<std::string>{"", "?", "?limit=5", "?customerId=", "?customerId=abc",
                                "?customerId=3f2504e04f8941d39a0c0305e82c3301",
                                "?customerId=%20" + unknown_uuid, "?customerid=" + unknown_uuid}) {
    BOOST_TEST_CONTEXT("GET /orders" << query) {
      expect_invalid(list_raw(query), {"customerId"});
    }
  }
  expect_invalid(list_raw("?customerId=abc&limit=0"), {"customerId", "limit"});
}

BOOST_AUTO_TEST_CASE(list_of_a_customer_without_orders_is_an_empty_array) {
  BOOST_TEST(listed(customer()).empty());
  BOOST_TEST(listed(unknown_uuid).empty());
  BOOST_TEST(listed(unknown_uuid, "limit=100").empty());
}

BOOST_AUTO_TEST_CASE(list_of_an_inactive_customer_still_shows_its_orders) {
  auto c = customer();
  auto o = simple_order(c);
  deactivate(c);
  BOOST_TEST(ids_in(listed(c)) == std::vector<std::string>{id_of(o)});
}

BOOST_AUTO_TEST_SUITE_END()
