// POST /orders with Idempotency-Key: one order per key, replays, conflicts and their limits.
#include "orders_api.hpp"

using namespace orders_api_tests;

BOOST_FIXTURE_TEST_SUITE(idempotency, orders_api)

// ---------------------------------------------------------------- Idempotency-Key

BOOST_AUTO_TEST_CASE(same_key_and_body_replays_201_with_the_same_order_and_creates_nothing) {
  auto c = customer();
  auto key = unique("replay-");
  auto body = order_body(c, {item(products(1)[0], "3", "19.99")});
  auto first_res = place_with_key(key, body);
  auto first = expect_order(first_res, 201);
  BOOST_TEST(first["status"] == "PENDING");
  BOOST_TEST(first_res->get_header_value("Idempotent-Replayed") != "true");
  auto before = count_events("order.created");
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST_CONTEXT("replay " << round + 1) {
      auto res = place_with_key(key, body);
      auto again = expect_order(res, 201);
      BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
      BOOST_TEST(id_of(again) == id_of(first));
      BOOST_TEST(fixed_part(again) == fixed_part(first), again.dump() << " vs " << first.dump());
      BOOST_TEST((again["status"] == "PENDING" || again["status"] == "CONFIRMED"), again.dump());
      BOOST_TEST(res->get_header_value("Location") == "/orders/" + id_of(first));
    }
  }
  BOOST_TEST(ids_in(listed(c)) == std::vector<std::string>{id_of(first)});
  BOOST_TEST(count_events("order.created") == before);
}

BOOST_AUTO_TEST_CASE(same_key_and_body_in_other_formatting_and_key_order_is_a_replay) {
  auto c = customer();
  auto p = products(2);
  auto key = unique("format-");
  auto first = placed(order_body(c, {item(p[0], "3", "19.99"), item(p[1], "1", "0.5")}),
                      {{"Idempotency-Key", key}});
  // Whitespace, key order (top level and inside items) and escaped characters.
  std::string escaped_customer = c;
  escaped_customer.replace(
      0, 1, "\\u00" + [&] {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", unsigned(static_cast<unsigned char>(c[0])));
        return std::string{hex};
      }());
  std::vector<std::string> variants{
      "{\n  \"customerId\" : \"" + c + "\",\n  \"items\" : [\n    {\"productId\": \"" + p[0] +
          "\", \"quantity\": 3, \"price\": 19.99},\n    {\"productId\": \"" + p[1] +
          "\", \"quantity\": 1, \"price\": 0.5}\n  ]\n}\n",
      "{\"items\":[{\"price\":19.99,\"quantity\":3,\"productId\":\"" + p[0] +
          "\"},{\"quantity\":1,\"price\":0.5,\"productId\":\"" + p[1] + "\"}],\"customerId\":\"" +
          c + "\"}",
      "\t{ \"items\" :[ {\"price\":19.99 ,\"productId\":\"" + p[0] +
          "\",\"quantity\":3} ,{\"productId\":\"" + p[1] +
          "\",\"price\":0.5,\"quantity\":1}] , \"customerId\":\"" + escaped_customer + "\" } "};
  for (std::size_t i = 0; i < variants.size(); ++i) {
    BOOST_TEST_CONTEXT("variant " << i << ": " << variants[i]) {
      auto res = place_with_key(key, variants[i]);
      auto again = expect_order(res, 201);
      BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
      BOOST_TEST(id_of(again) == id_of(first));
    }
  }
  BOOST_TEST(listed(c).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_price_written_as_10_00_is_the_same_body_as_10) {
  auto c = customer();
  auto p = products(1)[0];
  auto key = unique("number-");
  auto first = placed(order_body(c, {item(p, "2", "10")}), {{"Idempotency-Key", key}});
  auto res = place_with_key(key, order_body(c, {item(p, "2", "10.00")}));
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 201,
             "the same JSON value written differently: " << res->status << " " << res->body);
  BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
  BOOST_TEST(listed(c).size() == 1u);
}

BOOST_AUTO_TEST_CASE(same_key_with_a_different_body_is_422_idempotency_key_reused) {
  auto c = customer();
  auto other_customer = customer();
  auto p = products(2);
  auto key = unique("reuse-");
  auto body = order_body(c, {item(p[0], "3", "19.99")});
  auto first = placed(body, {{"Idempotency-Key", key}});
  auto before = count_events("order.created");
  for (auto& different : std::vector<std::string>{
           order_body(c, {item(p[0], "4", "19.99")}), order_body(c, {item(p[0], "3", "19.98")}),
           order_body(c, {item(p[1], "3", "19.99")}),
           order_body(c, {item(p[0], "3", "19.99"), item(p[1], "1", "1")}),
           order_body(other_customer, {item(p[0], "3", "19.99")}),
           order_body(unknown_uuid, {item(p[0], "3", "19.99")})}) {
    BOOST_TEST_CONTEXT(different) {
      auto res = place_with_key(key, different);
      expect_error(res, 422, "IDEMPOTENCY_KEY_REUSED");
      BOOST_REQUIRE(res);
      BOOST_TEST(res->get_header_value("Idempotent-Replayed") != "true");
    }
  }
  BOOST_TEST(count_events("order.created") == before);
  BOOST_TEST(ids_in(listed(c)) == std::vector<std::string>{id_of(first)});
  BOOST_TEST(listed(other_customer).empty());
  // The original request still replays.
  auto res = place_with_key(key, body);
  BOOST_TEST(id_of(expect_order(res, 201)) == id_of(first));
  BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
}

BOOST_AUTO_TEST_CASE(same_key_with_a_different_invalid_body_is_400_not_422) {
  auto c = customer();
  auto key = unique("reuse-invalid-");
  placed(order_body(c, {item(products(1)[0], "1")}), {{"Idempotency-Key", key}});
  expect_invalid(place_with_key(key, order_body(c, {item(products(1)[0], "0")})),
                 {"items[0].quantity"});
  expect_error(place_with_key(key, "{"), 400, "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(keys_over_128_characters_or_with_other_characters_are_400_and_create_nothing) {
  auto c = customer();
  auto body = order_body(c, {item(products(1)[0], "1")});
  auto before = count_events("order.created");
  for (std::string key :
       {std::string(129, 'k'), std::string(1000, 'k'), std::string("bad key"), std::string("a/b"),
        std::string("key!"), std::string("a,b"), std::string("a;b"), std::string("a+b"),
        std::string("a=b"), std::string("k\xC3\xA9y"), std::string("a\"b"), std::string("{}"),
        std::string("a*b"), std::string("a~b")}) {
    BOOST_TEST_CONTEXT("Idempotency-Key [" << key << "]") {
      expect_error(raw_exchange(port(), raw_post_orders({"Idempotency-Key: " + key}, body)), 400,
                   "VALIDATION_FAILED");
    }
  }
  BOOST_TEST(count_events("order.created") == before);
  BOOST_TEST(listed(c).empty());
}

BOOST_AUTO_TEST_CASE(an_invalid_key_and_an_invalid_body_are_reported_together) {
  auto body = expect_error(
      place(order_body(customer(), {item(fake_uuid(1), "0")}), {{"Idempotency-Key", "bad key"}}),
      400, "VALIDATION_FAILED");
  auto fields = detail_fields(body);
  BOOST_TEST(fields.count("items[0].quantity") == 1u, body.dump());
  BOOST_TEST(fields.size() == 2u, "expected the body's field and the header: " << body.dump());
}

BOOST_AUTO_TEST_CASE(malformed_json_wins_over_an_invalid_key) {
  expect_error(place("{", {{"Idempotency-Key", "bad key"}}), 400, "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(the_key_header_name_is_case_insensitive) {
  auto c = customer();
  auto key = unique("header-case-");
  auto body = order_body(c, {item(products(1)[0], "1")});
  auto first = placed(body, {{"idempotency-key", key}});
  auto res = place(body, {{"IDEMPOTENCY-KEY", key}});
  BOOST_TEST(id_of(expect_order(res, 201)) == id_of(first));
  BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
}

BOOST_AUTO_TEST_CASE(keys_of_1_and_128_allowed_characters_are_accepted) {
  auto c = customer();
  std::string long_key;
  while (long_key.size() < 128)
    long_key += "Az09._:-";
  BOOST_REQUIRE(long_key.size() == 128u);
  long_key.replace(0, 6, unique("k").substr(0, 6)); // keys are global: keep it unique per run
  std::string short_key = "x";
  for (auto& key : {short_key, long_key}) {
    BOOST_TEST_CONTEXT("key of " << key.size() << " characters") {
      auto body = order_body(c, {item(products(1)[0], std::to_string(key.size()))});
      auto first = placed(body, {{"Idempotency-Key", key}});
      auto res = place_with_key(key, body);
      BOOST_TEST(id_of(expect_order(res, 201)) == id_of(first));
      BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
    }
  }
  BOOST_TEST(listed(c).size() == 2u);
}

BOOST_AUTO_TEST_CASE(keys_are_global_across_customers) {
  auto a = customer();
  auto b = customer();
  auto key = unique("global-");
  placed(order_body(a, {item(products(1)[0], "1")}), {{"Idempotency-Key", key}});
  expect_error(place_with_key(key, order_body(b, {item(products(1)[0], "1")})), 422,
               "IDEMPOTENCY_KEY_REUSED");
  BOOST_TEST(listed(b).empty());
}

BOOST_AUTO_TEST_CASE(different_keys_with_the_same_body_place_different_orders) {
  auto c = customer();
  auto body = order_body(c, {item(products(1)[0], "1")});
  auto a = placed(body, {{"Idempotency-Key", unique("distinct-")}});
  auto b = placed(body, {{"Idempotency-Key", unique("distinct-")}});
  BOOST_TEST(id_of(a) != id_of(b));
  BOOST_TEST(listed(c).size() == 2u);
}

BOOST_AUTO_TEST_CASE(requests_that_failed_are_not_remembered_under_their_key) {
  auto c = customer();
  auto p = products(1)[0];
  auto inactive = customer();
  deactivate(inactive);
  auto before = count_events("order.created");
  struct failure {
    std::string body;
    int status;
    std::string code;
  };
  for (auto& f :
       std::vector<failure>{{order_body(unknown_uuid, {item(p, "1")}), 422, "UNKNOWN_CUSTOMER"},
                            {order_body(inactive, {item(p, "1")}), 422, "CUSTOMER_INACTIVE"},
                            {order_body(c, {item(p, "0")}), 400, "VALIDATION_FAILED"},
                            {"{", 400, "MALFORMED_JSON"}}) {
    BOOST_TEST_CONTEXT("after " << f.code) {
      auto key = unique("failed-");
      expect_error(place_with_key(key, f.body), f.status, f.code);
      BOOST_TEST(count_events("order.created") == before);
      // The key is free: a valid request under it places a new order.
      auto res = place_with_key(key, order_body(c, {item(p, "2")}));
      auto data = expect_order(res, 201);
      BOOST_TEST(res->get_header_value("Idempotent-Replayed") != "true");
      BOOST_TEST(data["status"] == "PENDING");
      ++before;
      // and from now on it replays
      auto again = place_with_key(key, order_body(c, {item(p, "2")}));
      BOOST_TEST(id_of(expect_order(again, 201)) == id_of(data));
      BOOST_TEST(again->get_header_value("Idempotent-Replayed") == "true");
    }
  }
  BOOST_TEST(listed(c).size() == 4u);
}

BOOST_AUTO_TEST_CASE(the_same_failing_request_repeated_under_one_key_fails_the_same_way) {
  auto key = unique("fail-twice-");
  auto body = order_body(unknown_uuid, {item(products(1)[0], "1")});
  expect_error(place_with_key(key, body), 422, "UNKNOWN_CUSTOMER");
  expect_error(place_with_key(key, body), 422, "UNKNOWN_CUSTOMER");
}

BOOST_AUTO_TEST_CASE(ten_parallel_posts_with_one_key_and_body_place_exactly_one_order) {
  auto c = customer();
  auto key = unique("parallel-");
  auto body = order_body(c, {item(products(1)[0], "2", "7.77")});
  auto before = count_events("order.created");
  std::atomic<bool> go{false};
  std::vector<int> status(10, 0);
  std::vector<std::string> ids(10), replayed(10), errors(10);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 10; ++i)
    threads.emplace_back([&, i] {
      httplib::Client client{"127.0.0.1", port()};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      auto res = client.Post("/orders", {{"Idempotency-Key", key}}, body, "application/json");
      if (!res) {
        errors[i] = httplib::to_string(res.error());
        return;
      }
      status[i] = res->status;
      replayed[i] = res->get_header_value("Idempotent-Replayed");
      auto parsed = json::parse(res->body, nullptr, false);
      if (res->status == 201 && parsed.is_object() && parsed["data"].is_object())
        ids[i] = parsed["data"].value("id", "");
      else
        errors[i] = res->body;
    });
  go = true;
  for (auto& t : threads)
    t.join();
  int created = 0, replays = 0;
  std::set<std::string> distinct;
  for (std::size_t i = 0; i < 10; ++i) {
    BOOST_TEST(status[i] == 201, "request " << i << ": " << status[i] << " " << errors[i]);
    created += status[i] == 201;
    replays += replayed[i] == "true";
    if (!ids[i].empty())
      distinct.insert(ids[i]);
  }
  BOOST_TEST(created == 10);
  BOOST_TEST(distinct.size() == 1u);
  BOOST_TEST(replays >= 9, replays << " responses carried Idempotent-Replayed: true");
  auto list = listed(c);
  BOOST_TEST(list.size() == 1u);
  if (list.size() == 1u && distinct.size() == 1u)
    BOOST_TEST(id_of(list[0]) == *distinct.begin());
  BOOST_TEST(count_events("order.created") == before + 1);
}

BOOST_AUTO_TEST_CASE(
    ten_parallel_posts_with_one_key_and_different_bodies_give_one_201_and_nine_422) {
  auto c = customer();
  auto key = unique("parallel-diff-");
  auto p = products(1)[0];
  std::vector<std::string> bodies;
  for (int i = 0; i < 10; ++i)
    bodies.push_back(order_body(c, {item(p, std::to_string(i + 1))}));
  auto answers = race(port(), 10, [&](httplib::Client& client, int i) {
    return client.Post("/orders", {{"Idempotency-Key", key}}, bodies[std::size_t(i)],
                       "application/json");
  });
  BOOST_TEST(count_of(answers, 201) == 1);
  BOOST_TEST(count_of(answers, 422, "IDEMPOTENCY_KEY_REUSED") == 9);
  BOOST_TEST(listed(c).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_replay_after_the_customer_was_deactivated_returns_the_original_order) {
  auto c = customer();
  auto key = unique("inactive-replay-");
  auto body = order_body(c, {item(products(1)[0], "1", "4.20")});
  auto first = placed(body, {{"Idempotency-Key", key}});
  deactivate(c);
  auto res = place_with_key(key, body);
  auto again = expect_order(res, 201);
  BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
  BOOST_TEST(id_of(again) == id_of(first));
  BOOST_TEST(fixed_part(again) == fixed_part(first));
  // A new key for that customer is refused.
  expect_error(place_with_key(unique("inactive-new-"), body), 422, "CUSTOMER_INACTIVE");
}

BOOST_AUTO_TEST_CASE(a_replay_returns_the_order_as_it_is_now) {
  auto c = customer();
  auto key = unique("cancelled-replay-");
  auto body = order_body(c, {item(products(1)[0], "2", "1.10")});
  auto first = placed(body, {{"Idempotency-Key", key}});
  auto cancelled = expect_order(cancel(id_of(first)), 200);
  auto res = place_with_key(key, body);
  auto again = expect_order(res, 201);
  BOOST_TEST(res->get_header_value("Idempotent-Replayed") == "true");
  BOOST_TEST(again == cancelled, again.dump() << " vs " << cancelled.dump());
  BOOST_TEST(again["status"] == "CANCELLED");
}

BOOST_AUTO_TEST_SUITE_END()
