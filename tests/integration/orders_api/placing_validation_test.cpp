// POST /orders: bodies, headers and values the contract refuses with 400, before anything
// is written.
#include "orders_api.hpp"

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(placing_validation, orders_api)

// ---------------------------------------------------------------- placing: validation

BOOST_AUTO_TEST_CASE(customer_id_that_is_not_a_uuid_is_400_naming_customer_id) {
  auto items = array_of({item(fake_uuid(1))});
  for (std::string raw :
       {R"("")", R"("abc")", R"("3f2504e04f8941d39a0c0305e82c3301")",
        R"("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}")", R"("3f2504e0-4f89-41d3-9a0c-0305e82c330g")",
        R"("3f2504e0-4f89-41d3-9a0c-0305e82c330")", R"(" 3f2504e0-4f89-41d3-9a0c-0305e82c3301")",
        R"("3f2504e0-4f89-41d3-9a0c-0305e82c3301 ")", "123", "true", "null", "{}", "[]"}) {
    BOOST_TEST_CONTEXT("customerId " << raw) {
      expect_invalid(place(raw_order(raw, items)), {"customerId"});
    }
  }
  expect_invalid(place("{\"items\":" + items + "}"), {"customerId"});
}

BOOST_AUTO_TEST_CASE(items_missing_or_not_an_array_is_400_naming_items) {
  auto c = json(customer()).dump();
  for (auto& raw :
       std::vector<std::string>{"null", "{}", R"("x")", "5", "true", item(fake_uuid(1))}) {
    BOOST_TEST_CONTEXT("items " << raw) {
      expect_invalid(place(raw_order(c, raw)), {"items"});
    }
  }
  expect_invalid(place("{\"customerId\":" + c + "}"), {"items"});
}

BOOST_AUTO_TEST_CASE(zero_items_is_400_naming_items) {
  expect_invalid(place(raw_order(json(customer()).dump(), "[]")), {"items"});
}

BOOST_AUTO_TEST_CASE(one_hundred_and_one_items_is_400_naming_items) {
  std::vector<std::string> items;
  for (int i = 0; i < 101; ++i)
    items.push_back(item(fake_uuid(i)));
  expect_invalid(place(order_body(customer(), items)), {"items"});
}

// Over 100 items is one issue, found before any element is read (so that a body of
// 100,000 elements costs no more than one of 101): the elements are not judged.
BOOST_AUTO_TEST_CASE(over_one_hundred_items_is_one_issue_whatever_the_elements_hold) {
  std::vector<std::string> items;
  for (int i = 0; i < 100; ++i)
    items.push_back(item(fake_uuid(i)));
  items.push_back(item(fake_uuid(100), "0"));
  expect_invalid(place(order_body(customer(), items)), {"items"});
  std::string empty_elements = "{}";
  for (int i = 0; i < 100; ++i)
    empty_elements += ",{}";
  expect_invalid(place(raw_order(R"("not-a-uuid")", "[" + empty_elements + "]")),
                 {"customerId", "items"});
}

BOOST_AUTO_TEST_CASE(an_item_that_is_not_an_object_is_400_naming_that_element) {
  auto c = json(customer()).dump();
  for (std::string raw : {"5", R"("x")", "null", "[]", "true"}) {
    BOOST_TEST_CONTEXT("item " << raw) {
      expect_invalid(place(raw_order(c, "[" + raw + "]")), {"items[0]"});
      expect_invalid(place(raw_order(c, "[" + item(fake_uuid(1)) + "," + raw + "]")), {"items[1]"});
    }
  }
}

BOOST_AUTO_TEST_CASE(product_id_that_is_not_a_uuid_is_400_naming_it) {
  auto c = json(customer()).dump();
  for (std::string raw : {R"("")", R"("abc")", R"("3f2504e04f8941d39a0c0305e82c3301")",
                          R"("3f2504e0-4f89-41d3-9a0c-0305e82c330g")", "5", "null", "true", "{}"}) {
    BOOST_TEST_CONTEXT("productId " << raw) {
      auto line = R"({"productId":)" + raw + R"(,"quantity":1,"price":1})";
      expect_invalid(place(raw_order(c, "[" + line + "]")), {"items[0].productId"});
      expect_invalid(place(raw_order(c, "[" + item(fake_uuid(1)) + "," + line + "]")),
                     {"items[1].productId"});
    }
  }
  expect_invalid(place(raw_order(c, R"([{"quantity":1,"price":1}])")), {"items[0].productId"});
}

BOOST_AUTO_TEST_CASE(the_same_product_twice_is_400_naming_a_repeated_product_id) {
  auto c = customer();
  auto p = products(2);
  for (auto items :
       std::vector<std::vector<std::string>>{{item(p[0], "1"), item(p[0], "2")},
                                             {item(p[0], "1"), item(p[1], "1"), item(p[0], "1")}}) {
    auto body = expect_error(place(order_body(c, items)), 400, "VALIDATION_FAILED");
    auto fields = detail_fields(body);
    std::string last = "items[" + std::to_string(items.size() - 1) + "].productId";
    BOOST_TEST(!fields.empty(), body.dump());
    for (auto& f : fields)
      BOOST_TEST((f == "items[0].productId" || f == last),
                 "unexpected field " << f << " in " << body.dump());
  }
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(quantity_out_of_range_or_not_an_integer_is_400_naming_it) {
  auto c = customer();
  for (std::string raw : {"0", "-1", "10001", "1000000", "5.0", "1.5", "1e2", R"("5")", "true",
                          "null", "[5]", "99999999999999999999", "-9223372036854775809"}) {
    BOOST_TEST_CONTEXT("quantity " << raw) {
      expect_invalid(place(order_body(c, {item(fake_uuid(1), raw)})), {"items[0].quantity"});
      expect_invalid(place(order_body(c, {item(fake_uuid(1)), item(fake_uuid(2), raw)})),
                     {"items[1].quantity"});
    }
  }
  expect_invalid(
      place(raw_order(json(c).dump(), "[{\"productId\":\"" + fake_uuid(1) + "\",\"price\":1}]")),
      {"items[0].quantity"});
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(price_out_of_range_or_with_more_than_2_decimals_is_400_naming_it) {
  auto c = customer();
  for (std::string raw : {"-0.01", "-1", "1000000.01", "1000001", "1e7", "19.999", "0.001", "1.005",
                          R"("19.99")", "true", "null", "[1]", "{}"}) {
    BOOST_TEST_CONTEXT("price " << raw) {
      expect_invalid(place(order_body(c, {item(fake_uuid(1), "1", raw)})), {"items[0].price"});
      expect_invalid(place(order_body(c, {item(fake_uuid(1)), item(fake_uuid(2), "1", raw)})),
                     {"items[1].price"});
    }
  }
  expect_invalid(
      place(raw_order(json(c).dump(), "[{\"productId\":\"" + fake_uuid(1) + "\",\"quantity\":1}]")),
      {"items[0].price"});
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(every_offending_field_is_named_in_details) {
  auto items = array_of({R"({"productId":"nope","quantity":0,"price":-1})", "5",
                         item(fake_uuid(3), "2", R"("1.00")"), item(fake_uuid(4), "2.0", "1"),
                         item(fake_uuid(5))});
  expect_invalid(place(raw_order(R"("not-a-uuid")", items)),
                 {"customerId", "items[0].productId", "items[0].quantity", "items[0].price",
                  "items[1]", "items[2].price", "items[3].quantity"});
}

BOOST_AUTO_TEST_CASE(field_names_are_case_sensitive) {
  auto body =
      json{{"CustomerId", customer()}, {"Items", json::parse(array_of({item(fake_uuid(1))}))}};
  expect_invalid(place(body.dump()), {"customerId", "items"});
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_a_json_object_is_400_malformed_json) {
  for (auto& raw : std::vector<std::string>{
           "", "{", "[]", R"("order")", "5", "null", "true", R"({"customerId":})",
           "{\"customerId\":\"" + unknown_uuid + "\",\"items\":[]}}"}) {
    BOOST_TEST_CONTEXT("body [" << raw << "]") {
      expect_error(place(raw), 400, "MALFORMED_JSON");
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_deep_nesting_and_unreadable_numbers_are_400) {
  auto c = customer();
  auto p = products(1)[0];
  // Invalid UTF-8 inside a string.
  auto bad_utf8 =
      raw_order("\"" + c + "\"",
                "[{\"productId\":\"" + p + "\",\"quantity\":1,\"price\":1,\"note\":\"\xC3\x28\"}]");
  auto res = place(bad_utf8);
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 400, res->status << " " << res->body);
  // Deeper than 64 levels.
  expect_error(
      place(raw_order("\"" + c + "\"",
                      "[" + item(p, "1", std::string(70, '[') + "1" + std::string(70, ']')) + "]")),
      400, "MALFORMED_JSON");
  // A number no double can hold.
  res = place(order_body(c, {item(p, "1", "1e400")}));
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 400, res->status << " " << res->body);
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_application_json_is_415) {
  auto body = order_body(customer(), {item(products(1)[0])});
  for (auto type : {"text/plain", "application/x-www-form-urlencoded", "application/xml"}) {
    BOOST_TEST_CONTEXT(type) {
      expect_error(http->Post("/orders", body, type), 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_body_over_1_mib_is_413_payload_too_large) {
  auto c = customer();
  auto body = raw_order(json(c).dump(), array_of({item(products(1)[0])}));
  body.insert(1, "\"pad\":\"" + std::string(2 * 1024 * 1024, 'p') + "\",");
  expect_error(raw_exchange(port(), raw_post_orders({}, body)), 413, "PAYLOAD_TOO_LARGE");
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(wrong_methods_on_order_paths_are_405_with_an_allow_header) {
  auto order = simple_order(customer());
  struct probe {
    std::string method, path, allowed;
  };
  for (auto& p : std::vector<probe>{{"PUT", "/orders", "POST"},
                                    {"DELETE", "/orders", "GET"},
                                    {"PUT", "/orders/" + id_of(order), "GET"},
                                    {"DELETE", "/orders/" + id_of(order), "GET"},
                                    {"POST", "/orders/" + id_of(order), "GET"},
                                    {"GET", "/orders/" + id_of(order) + "/cancel", "POST"}}) {
    BOOST_TEST_CONTEXT(p.method << " " << p.path) {
      auto res = raw_exchange(
          port(),
          p.method + " " + p.path +
              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      expect_error(res, 405, "METHOD_NOT_ALLOWED");
      auto allowed = allow_list(res.header("allow"));
      BOOST_TEST(allowed.count(p.allowed) == 1u, "Allow: " << res.header("allow"));
      BOOST_TEST(allowed.count(p.method) == 0u, "Allow: " << res.header("allow"));
    }
  }
  // and the order was not cancelled by any of them
  BOOST_TEST(expect_order(get(id_of(order)), 200)["status"] != "CANCELLED");
}

BOOST_AUTO_TEST_CASE(validation_failure_wins_over_an_unknown_customer) {
  expect_invalid(place(order_body(unknown_uuid, {item(fake_uuid(1), "0")})), {"items[0].quantity"});
  expect_invalid(place(order_body(unknown_uuid, {})), {"items"});
}

BOOST_AUTO_TEST_CASE(validation_failure_wins_over_an_inactive_customer) {
  auto c = customer();
  deactivate(c);
  expect_invalid(place(order_body(c, {item(fake_uuid(1), "1", "-0.01")})), {"items[0].price"});
  expect_invalid(place(order_body(c, {item(fake_uuid(1), "10001")})), {"items[0].quantity"});
  expect_invalid(place(raw_order(json(c).dump(), "[]")), {"items"});
}

BOOST_AUTO_TEST_SUITE_END()
