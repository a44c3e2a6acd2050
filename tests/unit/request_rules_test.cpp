// Request rules and their JSON mapping: the modules' check() functions, the gateway's
// typed field reading (integers, money), strict bodies, and the routing table.
#include "actors/brokers/event_json.hpp"
#include "http/json_body.hpp"
#include "http/json_fields.hpp"
#include "http/router.hpp"
#include "modules/customers/api.hpp"
#include "modules/inventory/api.hpp"
#include "modules/orders/events.hpp"

#include <boost/test/unit_test.hpp>

namespace {

bool names(const field_issues& issues, const std::string& field) {
  for (auto& i : issues)
    if (i.field == field)
      return true;
  return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(customer_names_are_1_to_200_code_points) {
  auto with_name = [](std::string name) { return customers::check({name, "a@b.c", "", {}}); };
  BOOST_TEST(with_name("A").empty());
  BOOST_TEST(with_name(std::string(200, 'x')).empty());
  BOOST_TEST(names(with_name(""), "name"));
  BOOST_TEST(names(with_name(std::string(201, 'x')), "name"));
  std::string two_hundred_umlauts;
  for (int i = 0; i < 200; ++i)
    two_hundred_umlauts += "\xc3\xbc"; // 'ü': 2 bytes, 1 code point
  BOOST_TEST(with_name(two_hundred_umlauts).empty());
  BOOST_TEST(names(with_name(two_hundred_umlauts + "\xc3\xbc"), "name"));
}

BOOST_AUTO_TEST_CASE(emails_have_exactly_one_at_with_text_around_it_and_no_spaces) {
  auto email_ok = [](std::string email) { return customers::check({"N", email, "", {}}).empty(); };
  BOOST_TEST(email_ok("a@b"));
  BOOST_TEST(email_ok("first.last+tag@example.co.uk"));
  BOOST_TEST(!email_ok("ab"));
  BOOST_TEST(!email_ok("@b.c"));
  BOOST_TEST(!email_ok("a@"));
  BOOST_TEST(!email_ok("a@@b"));
  BOOST_TEST(!email_ok("a@b@c"));
  BOOST_TEST(!email_ok("a b@c"));
  BOOST_TEST(!email_ok("a@b\tc"));
  BOOST_TEST(email_ok("a@" + std::string(252, 'b')));  // 254
  BOOST_TEST(!email_ok("a@" + std::string(253, 'b'))); // 255
}

BOOST_AUTO_TEST_CASE(every_bad_field_is_named_at_once) {
  auto issues = customers::check({"", "nope", "", {}});
  BOOST_TEST(names(issues, "name"));
  BOOST_TEST(names(issues, "email"));
  auto product = inventory::check(inventory::create_product{"", "", -1, -1, {}});
  BOOST_TEST(product.size() == 4u);
}

BOOST_AUTO_TEST_CASE(product_rules_bound_sku_name_price_and_stock) {
  using inventory::create_product;
  BOOST_TEST(inventory::check(create_product{"S", "N", 0, 0, {}}).empty());
  BOOST_TEST(inventory::check(create_product{std::string(64, 's'), "N", 100000000, 1000000000, {}})
                 .empty());
  BOOST_TEST(names(inventory::check(create_product{std::string(65, 's'), "N", 0, 0, {}}), "sku"));
  BOOST_TEST(names(inventory::check(create_product{"S", "N", 100000001, 0, {}}), "price"));
  BOOST_TEST(names(inventory::check(create_product{"S", "N", 0, 1000000001, {}}), "stock"));
  BOOST_TEST(inventory::check(inventory::restock_product{"id", 1, {}}).empty());
  BOOST_TEST(names(inventory::check(inventory::restock_product{"id", 0, {}}), "quantity"));
  BOOST_TEST(names(inventory::check(inventory::restock_product{"id", 1000000001, {}}), "quantity"));
}

BOOST_AUTO_TEST_CASE(integers_must_be_json_integers) {
  auto body = nlohmann::json::parse(R"({"a": 5, "b": 5.0, "c": "5", "d": true, "e": null})");
  http::json_fields fields{body};
  BOOST_TEST(fields.integer("a") == 5);
  fields.integer("b");
  fields.integer("c");
  fields.integer("d");
  fields.integer("e");
  fields.integer("missing");
  BOOST_TEST(fields.issues().size() == 5u);
  for (auto& field : {"b", "c", "d", "e", "missing"})
    BOOST_TEST(names(fields.issues(), field), field);
}

BOOST_AUTO_TEST_CASE(money_has_at_most_two_decimal_places_and_is_exact) {
  auto cents = [](const std::string& number, bool& ok) {
    auto body = nlohmann::json::parse("{\"price\": " + number + "}");
    http::json_fields fields{body};
    auto value = fields.money_cents("price");
    ok = fields.issues().empty();
    return value;
  };
  bool ok = false;
  BOOST_TEST(cents("19.99", ok) == 1999);
  BOOST_TEST(ok);
  BOOST_TEST(cents("0.1", ok) == 10);
  BOOST_TEST(cents("1000000", ok) == 100000000);
  BOOST_TEST(cents("999999.99", ok) == 99999999);
  BOOST_TEST(ok);
  cents("19.999", ok);
  BOOST_TEST(!ok);
  cents("0.001", ok);
  BOOST_TEST(!ok);
  cents("\"19.99\"", ok);
  BOOST_TEST(!ok);
  BOOST_TEST(cents("1e300", ok) > 100000000); // out of range, for the module to report
  BOOST_TEST(http::money_json(1999).dump() == "19.99");
  BOOST_TEST(http::money_json(2000).dump() == "20");
  BOOST_TEST(http::money_json(5).dump() == "0.05");
}

BOOST_AUTO_TEST_CASE(type_issues_win_over_module_issues_for_the_same_field) {
  auto body = nlohmann::json::parse(R"({"name": 5, "email": "x"})");
  http::json_fields fields{body};
  customers::register_customer request{fields.string("name"), fields.string("email"), "", {}};
  auto all = fields.merge(customers::check(request));
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[0].field == "name");
  BOOST_TEST(all[0].issue == "must be a string");
  BOOST_TEST(all[1].field == "email");
}

BOOST_AUTO_TEST_CASE(bodies_are_json_objects_at_most_64_levels_deep) {
  BOOST_TEST(http::parse_json_object(R"({"a": 1})").has_value());
  BOOST_TEST(!http::parse_json_object("[1]").has_value());
  BOOST_TEST(!http::parse_json_object("").has_value());
  BOOST_TEST(!http::parse_json_object("{\"a\": 1} x").has_value());
  BOOST_TEST(!http::parse_json_object("{\"a\": \"\xff\"}").has_value());
  auto nested = [](int depth) {
    std::string text = "{\"a\":";
    for (int i = 1; i < depth; ++i)
      text += "[";
    text += "1";
    for (int i = 1; i < depth; ++i)
      text += "]";
    return text + "}";
  };
  BOOST_TEST(http::parse_json_object(nested(64)).has_value());
  BOOST_TEST(!http::parse_json_object(nested(65)).has_value());
  BOOST_TEST(http::parse_json_object(
                 R"({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})")
                 .has_value()); // brackets inside strings do not count
}

BOOST_AUTO_TEST_CASE(json_media_type_allows_parameters_and_any_case) {
  BOOST_TEST(http::is_json_media_type("application/json"));
  BOOST_TEST(http::is_json_media_type("Application/JSON; charset=utf-8"));
  BOOST_TEST(!http::is_json_media_type("text/plain"));
  BOOST_TEST(!http::is_json_media_type(""));
  BOOST_TEST(!http::is_json_media_type("application/jsonx"));
}

BOOST_AUTO_TEST_CASE(router_tells_unknown_paths_from_wrong_methods) {
  http::router routes;
  routes.add("POST", "/customers", true, [](http::exchange&) {});
  routes.add("GET", "/customers/{id}", false, [](http::exchange&) {});
  routes.add("POST", "/customers/{id}/deactivate", false, [](http::exchange&) {});
  auto get = routes.find("GET", "/customers/abc");
  BOOST_REQUIRE(get.found);
  BOOST_TEST(get.params == std::vector<std::string>{"abc"});
  BOOST_TEST(routes.find("HEAD", "/customers/abc").found);
  auto wrong = routes.find("DELETE", "/customers/abc");
  BOOST_TEST(!wrong.found);
  BOOST_TEST(wrong.allow == "GET");
  BOOST_TEST(routes.find("GET", "/customers").allow == "POST");
  auto unknown = routes.find("GET", "/nothing");
  BOOST_TEST((!unknown.found && unknown.allow.empty()));
  BOOST_TEST(routes.find("GET", "/customers/").allow.empty()); // empty id: no route
}

BOOST_AUTO_TEST_CASE(canonical_json_ignores_formatting_key_order_and_number_spelling) {
  auto a = nlohmann::json::parse(R"({"b": [1, 10.00, 1e1], "a": {"y": 0.5, "x": "s"}})");
  auto b = nlohmann::json::parse(R"({"a":{"x":"s","y":0.50},"b":[1.0,10,10]})");
  BOOST_TEST(http::canonical_json(a) == http::canonical_json(b));
  auto c = nlohmann::json::parse(R"({"a":{"x":"s","y":0.51},"b":[1,10,10]})");
  BOOST_TEST(http::canonical_json(a) != http::canonical_json(c));
}

// Found by fuzz/event_envelope_fuzz: an order.created payload from a broker with a price
// of 1e300 was converted to cents with undefined behaviour. Off-contract lines now throw,
// and the consumer fails the event.
BOOST_AUTO_TEST_CASE(an_order_created_payload_off_the_contract_is_refused) {
  auto payload = [](const char* quantity, const char* price) {
    return nlohmann::json::parse(std::string{R"({"orderId":"o","customerId":"c","items":[)"} +
                                 R"({"productId":"p","quantity":)" + quantity + R"(,"price":)" +
                                 price + "}]}");
  };
  auto fine = orders::events::parse_order_created(payload("2", "19.99"));
  BOOST_TEST(fine.items.at(0).price_cents == 1999);
  BOOST_TEST(fine.total_cents == 3998);
  for (auto [quantity, price] : {std::pair{"2", "1e300"},
                                 {"2", "-1"},
                                 {"0", "1"},
                                 {"9223372036854775807", "1"},
                                 {"2", "1000000.01"},
                                 {"1e40", "1"},
                                 {"2.5", "1"}})
    BOOST_CHECK_THROW(orders::events::parse_order_created(payload(quantity, price)),
                      std::invalid_argument);
}

// Found by fuzz/event_envelope_fuzz: a sequence of 1.4e43 in an envelope from a broker
// was converted to an integer with undefined behaviour. Now the envelope is unreadable
// (the readers log it and settle it as such).
BOOST_AUTO_TEST_CASE(an_envelope_whose_sequence_is_not_an_integer_is_unreadable) {
  auto envelope = [](const std::string& sequence) {
    return R"({"id":"a","name":"order.created","aggregate":"b","sequence":)" + sequence +
           R"(,"correlation":"c","causation":"","payload":"{}","timestamp":"t"})";
  };
  BOOST_TEST(brokers::envelope_from_json(envelope("7")).sequence == 7);
  for (auto bad : {"1.4e43", "2.5", "\"7\""})
    BOOST_CHECK_THROW(brokers::envelope_from_json(envelope(bad)), std::exception);
}
