// The inventory endpoints of docs/openapi.yaml over real HTTP: POST /products, GET /products/{id},
// POST /products/{id}/restock.
#include "contract_suite.hpp"
#include "json_checks.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;

namespace {

constexpr int64_t max_safe_integer = 9007199254740991; // 2^53 - 1

const std::string e_acute = "\xC3\xA9";      // U+00E9, 2 bytes
const std::string grin = "\xF0\x9F\x98\x80"; // U+1F600, 4 bytes

struct inventory_api : api_client {

  static std::string unique_sku() {
    static std::atomic<int> counter{0};
    return "SKU-" + std::to_string(++counter);
  }

  // A SKU of exactly `length` ASCII characters, unique within the file.
  static std::string sku_of_length(std::size_t length) {
    auto sku = unique_sku() + "-";
    while (sku.size() < length)
      sku += 'x';
    return sku;
  }

  static std::string product_json(const std::string& sku, const std::string& name,
                                  const std::string& price, const std::string& stock) {
    return "{\"sku\":" + json(sku).dump() + ",\"name\":" + json(name).dump() +
           ",\"price\":" + price + ",\"stock\":" + stock + "}";
  }

  httplib::Result post(const std::string& path, const std::string& body) {
    return http->Post(path.c_str(), body, "application/json");
  }
  httplib::Result create_raw(const std::string& body) { return post("/products", body); }
  httplib::Result create(const std::string& sku, const std::string& name = "Widget",
                         const std::string& price = "19.99", const std::string& stock = "5") {
    return create_raw(product_json(sku, name, price, stock));
  }
  httplib::Result get(const std::string& id) { return http->Get(("/products/" + id).c_str()); }
  httplib::Result restock_raw(const std::string& id, const std::string& body) {
    return post("/products/" + id + "/restock", body);
  }
  httplib::Result restock(const std::string& id, const std::string& quantity) {
    return restock_raw(id, "{\"quantity\":" + quantity + "}");
  }

  // A created product's data (requires 201).
  json created(const std::string& sku, const std::string& name = "Widget",
               const std::string& price = "19.99", const std::string& stock = "5") {
    auto res = create(sku, name, price, stock);
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return body_of(res)["data"];
  }

  // Checks the exact success envelope and product shape; returns the product.
  static json expect_product(const httplib::Result& res, int status) {
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == status, res->body);
    BOOST_TEST(res->get_header_value("Content-Type").find("application/json") == 0);
    auto body = body_of(res);
    BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "data"}), body.dump());
    BOOST_TEST(body["success"] == true);
    auto data = body["data"];
    BOOST_TEST(keys_of(data) == (std::set<std::string>{"id", "sku", "name", "price", "stock",
                                                       "reserved", "available"}),
               data.dump());
    BOOST_TEST(data["id"].is_string());
    if (data["id"].is_string())
      BOOST_TEST(std::regex_match(data["id"].get<std::string>(), uuid_pattern), data["id"]);
    BOOST_TEST(data["sku"].is_string());
    BOOST_TEST(data["name"].is_string());
    BOOST_TEST(data["price"].is_number());
    for (auto field : {"stock", "reserved", "available"}) {
      BOOST_TEST(data[field].is_number_integer(),
                 field << " is not a JSON integer: " << data.dump());
      // Also in the text itself: no "5.0" or exponent.
      std::regex integer_text{std::string{"\""} + field + "\":-?[0-9]+[,}]"};
      BOOST_TEST(std::regex_search(res->body, integer_text), field << " in " << res->body);
    }
    if (data["stock"].is_number_integer() && data["reserved"].is_number_integer() &&
        data["available"].is_number_integer())
      BOOST_TEST(data["available"].get<int64_t>() ==
                 data["stock"].get<int64_t>() - data["reserved"].get<int64_t>());
    return data;
  }

  // Checks the exact error envelope; returns the body.
  static json expect_error(const httplib::Result& res, int status, const std::string& code) {
    BOOST_REQUIRE(res);
    BOOST_TEST(res->status == status, res->status << " " << res->body);
    auto body = parse_or_null(res);
    if (res->status != status)
      return body; // one failure is enough
    BOOST_TEST_REQUIRE(body.is_object(), "error body is not a JSON object: " << res->body);
    check_error_envelope(body, code);
    return body;
  }

  // 400 VALIDATION_FAILED naming exactly `fields`.
  static void expect_invalid(const httplib::Result& res, const std::set<std::string>& fields) {
    auto body = expect_error(res, 400, "VALIDATION_FAILED");
    BOOST_TEST(detail_fields(body) == fields, body.dump());
  }

  json current(const std::string& id) { return expect_product(get(id), 200); }

  static persistence::pg_connection admin() {
    return persistence::pg_connection{dsn_of("inventory")};
  }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(suite_node);

BOOST_FIXTURE_TEST_SUITE(inventory_api_suite, inventory_api)

// ---------------------------------------------------------------- creation: success

BOOST_AUTO_TEST_CASE(creation_is_201_with_exactly_the_product_fields_and_a_location) {
  auto sku = unique_sku();
  auto res = create(sku, "Blue Widget", "19.99", "7");
  auto data = expect_product(res, 201);
  BOOST_TEST(data["sku"] == sku);
  BOOST_TEST(data["name"] == "Blue Widget");
  BOOST_TEST(data["price"].get<double>() == 19.99);
  BOOST_TEST(data["stock"] == 7);
  BOOST_TEST(data["reserved"] == 0);
  BOOST_TEST(data["available"] == 7);
  BOOST_TEST(res->get_header_value("Location") == "/products/" + id_of(data));
  BOOST_TEST(!res->get_header_value("X-Correlation-Id").empty());
}

BOOST_AUTO_TEST_CASE(location_of_a_creation_answers_get_with_the_same_product) {
  auto res = create(unique_sku());
  auto made = expect_product(res, 201);
  auto fetched = expect_product(http->Get(res->get_header_value("Location").c_str()), 200);
  BOOST_TEST(fetched == made, fetched.dump() << " vs " << made.dump());
}

BOOST_AUTO_TEST_CASE(ids_are_distinct_lower_case_hyphenated_uuids) {
  auto a = created(unique_sku());
  auto b = created(unique_sku());
  BOOST_TEST(std::regex_match(id_of(a), uuid_pattern));
  BOOST_TEST(std::regex_match(id_of(b), uuid_pattern));
  BOOST_TEST(id_of(a) != id_of(b));
}

BOOST_AUTO_TEST_CASE(price_19_99_comes_back_as_19_99) {
  auto res = create(unique_sku(), "Widget", "19.99");
  auto data = expect_product(res, 201);
  BOOST_TEST(data["price"].get<double>() == 19.99);
  BOOST_TEST(res->body.find("\"price\":19.99") != std::string::npos, res->body);
  auto again = get(id_of(data));
  BOOST_TEST(expect_product(again, 200)["price"].get<double>() == 19.99);
  BOOST_TEST(again->body.find("\"price\":19.99") != std::string::npos, again->body);
}

BOOST_AUTO_TEST_CASE(whole_prices_come_back_as_numbers_equal_to_them) {
  for (auto price : {"20", "20.0", "20.00", "0", "0.0", "1000000", "1000000.00", "1"}) {
    BOOST_TEST_CONTEXT("price " << price) {
      auto data = created(unique_sku(), "Whole", price);
      BOOST_TEST(data["price"].is_number());
      BOOST_TEST(data["price"].get<double>() == std::stod(price));
      BOOST_TEST(current(id_of(data))["price"].get<double>() == std::stod(price));
    }
  }
}

BOOST_AUTO_TEST_CASE(prices_with_up_to_two_decimals_round_trip_exactly) {
  for (auto price :
       {"0.01", "0.1", "0.07", "0.29", "1.1", "2.675", "999999.99", "123456.78", "19.9", "0.30"}) {
    BOOST_TEST_CONTEXT("price " << price) {
      if (std::string{price} == "2.675") {
        // three decimals: refused, not rounded
        expect_invalid(create(unique_sku(), "Dec", price), {"price"});
        continue;
      }
      auto data = created(unique_sku(), "Dec", price);
      BOOST_TEST(data["price"].get<double>() == std::stod(price));
      BOOST_TEST(current(id_of(data))["price"].get<double>() == std::stod(price));
    }
  }
}

BOOST_AUTO_TEST_CASE(price_0_and_1000000_are_accepted) {
  BOOST_TEST(created(unique_sku(), "Free", "0")["price"].get<double>() == 0.0);
  BOOST_TEST(created(unique_sku(), "Dear", "1000000")["price"].get<double>() == 1000000.0);
  BOOST_TEST(created(unique_sku(), "Dear", "1000000.0")["price"].get<double>() == 1000000.0);
}

BOOST_AUTO_TEST_CASE(price_out_of_range_or_with_more_than_two_decimals_is_400_naming_price) {
  for (auto price : {"-0.01", "-1", "1000000.01", "1000001", "19.999", "0.001", "0.005", "1e300",
                     "-1e300", "10000000000000000", "1e-7", "99999999999999999999"}) {
    BOOST_TEST_CONTEXT("price " << price) {
      expect_invalid(create(unique_sku(), "Bad", price), {"price"});
    }
  }
}

BOOST_AUTO_TEST_CASE(price_that_is_not_a_json_number_is_400_naming_price) {
  for (auto price : {"\"19.99\"", "\"20\"", "true", "null", "[19.99]", "{\"amount\":19.99}"}) {
    BOOST_TEST_CONTEXT("price " << price) {
      expect_invalid(create(unique_sku(), "Bad", price), {"price"});
    }
  }
}

BOOST_AUTO_TEST_CASE(stock_0_and_1e9_are_accepted) {
  auto none = created(unique_sku(), "None", "1", "0");
  BOOST_TEST(none["stock"] == 0);
  BOOST_TEST(none["available"] == 0);
  auto lots = created(unique_sku(), "Lots", "1", "1000000000");
  BOOST_TEST(lots["stock"] == 1000000000);
  BOOST_TEST(lots["available"] == 1000000000);
}

BOOST_AUTO_TEST_CASE(stock_out_of_range_is_400_naming_stock) {
  for (auto stock : {"-1", "1000000001", "9007199254740991", "18446744073709551615",
                     "-9223372036854775808", "99999999999999999999"}) {
    BOOST_TEST_CONTEXT("stock " << stock) {
      expect_invalid(create(unique_sku(), "Bad", "1", stock), {"stock"});
    }
  }
}

BOOST_AUTO_TEST_CASE(stock_that_is_not_a_json_integer_is_400_naming_stock) {
  for (auto stock : {"5.0", "\"5\"", "true", "false", "1.5", "null", "[5]", "{}"}) {
    BOOST_TEST_CONTEXT("stock " << stock) {
      expect_invalid(create(unique_sku(), "Bad", "1", stock), {"stock"});
    }
  }
}

BOOST_AUTO_TEST_CASE(sku_of_1_and_64_code_points_is_accepted) {
  BOOST_TEST(created("Q")["sku"] == "Q");
  auto sku = sku_of_length(64);
  BOOST_REQUIRE(sku.size() == 64u);
  BOOST_TEST(created(sku)["sku"] == sku);
  auto wide = repeat(e_acute, 64);
  BOOST_TEST(created(wide)["sku"] == wide);
}

BOOST_AUTO_TEST_CASE(sku_of_0_or_65_code_points_is_400_naming_sku) {
  expect_invalid(create(""), {"sku"});
  auto sku = sku_of_length(65);
  BOOST_REQUIRE(sku.size() == 65u);
  expect_invalid(create(sku), {"sku"});
  expect_invalid(create(repeat(grin, 65)), {"sku"});
}

BOOST_AUTO_TEST_CASE(name_of_1_and_200_code_points_is_accepted) {
  BOOST_TEST(created(unique_sku(), "n")["name"] == "n");
  auto name = std::string(200, 'n');
  BOOST_TEST(created(unique_sku(), name)["name"] == name);
  auto wide = repeat(grin, 200);
  auto data = created(unique_sku(), wide);
  BOOST_TEST(data["name"] == wide);
  BOOST_TEST(current(id_of(data))["name"] == wide);
}

BOOST_AUTO_TEST_CASE(name_of_0_or_201_code_points_is_400_naming_name) {
  expect_invalid(create(unique_sku(), ""), {"name"});
  expect_invalid(create(unique_sku(), std::string(201, 'n')), {"name"});
  expect_invalid(create(unique_sku(), repeat(e_acute, 201)), {"name"});
}

BOOST_AUTO_TEST_CASE(sku_and_name_are_not_trimmed) {
  auto base = unique_sku();
  auto padded = created(" " + base + " ", "  spaced  ");
  BOOST_TEST(padded["sku"] == " " + base + " ");
  BOOST_TEST(padded["name"] == "  spaced  ");
  // The untrimmed SKU is a different SKU.
  BOOST_TEST(created(base)["sku"] == base);
}

BOOST_AUTO_TEST_CASE(a_sku_containing_a_nul_character_is_kept_exactly_or_refused) {
  std::string sku = unique_sku() + '\0' + "tail";
  auto res =
      create_raw("{\"sku\":" + json(sku).dump() + ",\"name\":\"n\",\"price\":1,\"stock\":1}");
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->status << " " << res->body);
  if (res->status == 201)
    BOOST_TEST(body_of(res)["data"]["sku"] == sku,
               "the SKU was changed on the way in: " << res->body);
}

BOOST_AUTO_TEST_CASE(extra_fields_cannot_set_id_or_reserved) {
  auto sku = unique_sku();
  auto res = create_raw("{\"sku\":\"" + sku +
                        "\",\"name\":\"n\",\"price\":1,\"stock\":5,\"reserved\":3,\"available\":1,"
                        "\"id\":\"00000000-0000-4000-8000-000000000001\"}");
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->body);
  if (res->status == 201) {
    auto data = expect_product(res, 201);
    BOOST_TEST(data["reserved"] == 0);
    BOOST_TEST(data["available"] == 5);
    BOOST_TEST(id_of(data) != "00000000-0000-4000-8000-000000000001");
  }
}

// ---------------------------------------------------------------- several errors at once

BOOST_AUTO_TEST_CASE(every_offending_field_is_named_at_once) {
  expect_invalid(create_raw(R"({"sku":"","name":"","price":-0.01,"stock":-1})"),
                 {"sku", "name", "price", "stock"});
  expect_invalid(create_raw(R"({"sku":5,"name":true,"price":"1","stock":"5"})"),
                 {"sku", "name", "price", "stock"});
  expect_invalid(
      create_raw(R"({"sku":"ok-)" + unique_sku() + R"(","name":"","price":19.999,"stock":5.0})"),
      {"name", "price", "stock"});
}

BOOST_AUTO_TEST_CASE(missing_fields_are_400_naming_each) {
  expect_invalid(create_raw("{}"), {"sku", "name", "price", "stock"});
  expect_invalid(create_raw(R"({"sku":")" + unique_sku() + R"("})"), {"name", "price", "stock"});
  expect_invalid(create_raw(R"({"sku":")" + unique_sku() + R"(","name":"n","price":1})"),
                 {"stock"});
  expect_invalid(create_raw(R"({"sku":")" + unique_sku() + R"(","name":"n","stock":1})"),
                 {"price"});
}

BOOST_AUTO_TEST_CASE(null_fields_are_400_naming_each) {
  expect_invalid(create_raw(R"({"sku":null,"name":null,"price":null,"stock":null})"),
                 {"sku", "name", "price", "stock"});
}

BOOST_AUTO_TEST_CASE(a_failed_creation_leaves_no_product_behind) {
  auto sku = unique_sku();
  expect_invalid(create(sku, "n", "-1"), {"price"});
  expect_invalid(create(sku, "n", "1", "5.0"), {"stock"});
  expect_invalid(create(sku, ""), {"name"});
  BOOST_TEST(created(sku)["sku"] == sku);
}

// ---------------------------------------------------------------- uniqueness

BOOST_AUTO_TEST_CASE(duplicate_sku_is_409_sku_taken_and_changes_nothing) {
  auto sku = unique_sku();
  auto first = created(sku, "First", "1", "3");
  auto body = expect_error(create(sku, "Second", "2", "4"), 409, "SKU_TAKEN");
  for (auto field : detail_fields(body))
    BOOST_TEST(field == "sku");
  BOOST_TEST(current(id_of(first)) == first);
}

BOOST_AUTO_TEST_CASE(validation_failure_wins_over_a_duplicate_sku) {
  auto sku = unique_sku();
  created(sku);
  expect_invalid(create(sku, "n", "-5"), {"price"});
}

BOOST_AUTO_TEST_CASE(ten_parallel_creations_of_one_sku_give_exactly_one_201) {
  auto sku = unique_sku();
  auto answers = race(port(), 10, [&](httplib::Client& client, int i) {
    return client.Post("/products", product_json(sku, "P" + std::to_string(i), "1", "1"),
                       "application/json");
  });
  BOOST_TEST(count_of(answers, 201) == 1);
  BOOST_TEST(count_of(answers, 409, "SKU_TAKEN") == 9);
}

// ---------------------------------------------------------------- GET /products/{id}

BOOST_AUTO_TEST_CASE(get_of_an_unknown_uuid_is_404_not_found) {
  expect_error(get("00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND");
  expect_error(get("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_non_uuid_id_is_404_not_found) {
  for (auto id : {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330", "3f2504e0-4f89-41d3-9a0c-0305e82c330g",
                  "%20", "SKU-1"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(get(id), 404, "NOT_FOUND");
    }
  }
  expect_error(get(std::string(1000, 'f')), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_customer_id_is_404) {
  auto customer = http->Post("/customers", R"({"name":"C","email":"inv-cust@example.com"})",
                             "application/json");
  BOOST_REQUIRE(customer);
  BOOST_TEST_REQUIRE(customer->status == 201, customer->body);
  expect_error(get(id_of(body_of(customer)["data"])), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(parallel_gets_each_answer_with_their_own_product) {
  std::vector<json> products;
  for (int i = 0; i < 6; ++i)
    products.push_back(created(unique_sku(), "Par" + std::to_string(i), std::to_string(i) + ".25",
                               std::to_string(i)));
  auto problems = parallel_reads(api_client::port(), "/products", products);
  BOOST_TEST(problems.empty(), "wrong answers: " << problems.size() << ", first: "
                                                 << (problems.empty() ? "" : problems[0]));
}

// ---------------------------------------------------------------- restock

BOOST_AUTO_TEST_CASE(restock_is_200_with_the_product_and_stock_raised_by_the_quantity) {
  auto made = created(unique_sku(), "R", "4.5", "5");
  auto res = restock(id_of(made), "3");
  auto data = expect_product(res, 200);
  BOOST_TEST(data["stock"] == 8);
  BOOST_TEST(data["reserved"] == 0);
  BOOST_TEST(data["available"] == 8);
  auto expected = made;
  expected["stock"] = 8;
  expected["available"] = 8;
  BOOST_TEST(data == expected, data.dump() << " vs " << expected.dump());
  BOOST_TEST(current(id_of(made)) == expected);
}

BOOST_AUTO_TEST_CASE(restock_quantity_of_1_and_1e9_is_accepted) {
  auto made = created(unique_sku(), "R", "1", "0");
  BOOST_TEST(expect_product(restock(id_of(made), "1"), 200)["stock"] == 1);
  BOOST_TEST(expect_product(restock(id_of(made), "1000000000"), 200)["stock"] == 1000000001);
  BOOST_TEST(current(id_of(made))["stock"] == 1000000001);
}

BOOST_AUTO_TEST_CASE(restock_quantity_out_of_range_is_400_and_changes_nothing) {
  auto made = created(unique_sku(), "R", "1", "5");
  for (auto q : {"0", "-1", "1000000001", "9007199254740991", "18446744073709551615",
                 "-9223372036854775808"}) {
    BOOST_TEST_CONTEXT("quantity " << q) {
      expect_invalid(restock(id_of(made), q), {"quantity"});
    }
  }
  BOOST_TEST(current(id_of(made)) == made);
}

BOOST_AUTO_TEST_CASE(restock_quantity_that_is_not_a_json_integer_is_400_and_changes_nothing) {
  auto made = created(unique_sku(), "R", "1", "5");
  for (auto q : {"5.0", "\"5\"", "true", "null", "1.5", "[5]"}) {
    BOOST_TEST_CONTEXT("quantity " << q) {
      expect_invalid(restock(id_of(made), q), {"quantity"});
    }
  }
  expect_invalid(restock_raw(id_of(made), "{}"), {"quantity"});
  expect_invalid(restock_raw(id_of(made), R"({"Quantity":5})"), {"quantity"});
  BOOST_TEST(current(id_of(made)) == made);
}

BOOST_AUTO_TEST_CASE(restock_of_an_unknown_uuid_is_404_not_found) {
  expect_error(restock("00000000-0000-0000-0000-000000000000", "5"), 404, "NOT_FOUND");
  expect_error(restock("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "5"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(restock_of_a_non_uuid_id_is_404_not_found) {
  for (auto id : {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330g"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(restock(id, "5"), 404, "NOT_FOUND");
    }
  }
}

BOOST_AUTO_TEST_CASE(restock_of_an_unknown_uuid_with_a_bad_quantity_is_400_before_404) {
  expect_invalid(restock("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "0"), {"quantity"});
  expect_invalid(restock("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "5.0"), {"quantity"});
}

BOOST_AUTO_TEST_CASE(restock_with_a_body_that_is_not_a_json_object_is_400_malformed_json) {
  auto made = created(unique_sku(), "R", "1", "5");
  for (auto body : {"[]", "5", "\"quantity\"", "{\"quantity\":", "{quantity:5}", "null"}) {
    BOOST_TEST_CONTEXT("body " << body) {
      expect_error(restock_raw(id_of(made), body), 400, "MALFORMED_JSON");
    }
  }
  // Malformed JSON is found before the entity is looked up.
  expect_error(restock_raw("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "{"), 400, "MALFORMED_JSON");
  BOOST_TEST(current(id_of(made)) == made);
}

BOOST_AUTO_TEST_CASE(restock_without_a_body_is_400) {
  auto made = created(unique_sku(), "R", "1", "5");
  auto res = http->Post(("/products/" + id_of(made) + "/restock").c_str());
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 400, res->body);
  auto body = parse_or_null(res);
  BOOST_TEST(
      (body["error"]["code"] == "MALFORMED_JSON" || body["error"]["code"] == "VALIDATION_FAILED"),
      res->body);
  BOOST_TEST(current(id_of(made)) == made);
}

BOOST_AUTO_TEST_CASE(restock_past_2_pow_53_minus_1_is_400_and_changes_nothing) {
  auto made = created(unique_sku(), "Huge", "1", "0");
  // Reaching 2^53 by restocks of at most 1e9 takes millions of requests; start close to it.
  admin().exec("UPDATE inventory.products SET stock = $2 WHERE id = $1::uuid",
               {id_of(made), int64_t{max_safe_integer - 5}});
  auto before = current(id_of(made));
  BOOST_TEST_REQUIRE(before["stock"].get<int64_t>() == max_safe_integer - 5);

  expect_error(restock(id_of(made), "6"), 400, "VALIDATION_FAILED");
  BOOST_TEST(current(id_of(made)) == before);
  expect_error(restock(id_of(made), "1000000000"), 400, "VALIDATION_FAILED");
  BOOST_TEST(current(id_of(made)) == before);

  auto res = restock(id_of(made), "5");
  auto at_max = expect_product(res, 200);
  BOOST_TEST(at_max["stock"].get<int64_t>() == max_safe_integer);
  BOOST_TEST(at_max["available"].get<int64_t>() == max_safe_integer);
  BOOST_TEST(res->body.find("\"stock\":9007199254740991") != std::string::npos, res->body);

  expect_error(restock(id_of(made), "1"), 400, "VALIDATION_FAILED");
  BOOST_TEST(current(id_of(made))["stock"].get<int64_t>() == max_safe_integer);
}

BOOST_AUTO_TEST_CASE(parallel_restocks_are_all_counted) {
  auto made = created(unique_sku(), "Busy", "1", "0");
  int port = api_client::port();
  std::atomic<bool> go{false};
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t)
    threads.emplace_back([&] {
      httplib::Client client{"127.0.0.1", port};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      for (int i = 0; i < 3; ++i) {
        auto res = client.Post(("/products/" + id_of(made) + "/restock").c_str(),
                               R"({"quantity":7})", "application/json");
        ok += res && res->status == 200;
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  BOOST_TEST(ok == 30);
  BOOST_TEST(current(id_of(made))["stock"] == 30 * 7);
}

BOOST_AUTO_TEST_CASE(parallel_restocks_near_the_limit_never_pass_2_pow_53_minus_1) {
  auto made = created(unique_sku(), "Edge", "1", "0");
  admin().exec("UPDATE inventory.products SET stock = $2 WHERE id = $1::uuid",
               {id_of(made), int64_t{max_safe_integer - 5}});
  int port = api_client::port();
  std::atomic<bool> go{false};
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t)
    threads.emplace_back([&] {
      httplib::Client client{"127.0.0.1", port};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      auto res = client.Post(("/products/" + id_of(made) + "/restock").c_str(), R"({"quantity":1})",
                             "application/json");
      ok += res && res->status == 200;
      refused += res && res->status == 400;
    });
  go = true;
  for (auto& t : threads)
    t.join();
  BOOST_TEST(ok == 5);
  BOOST_TEST(refused == 5);
  BOOST_TEST(current(id_of(made))["stock"].get<int64_t>() == max_safe_integer);
}

BOOST_AUTO_TEST_CASE(available_is_stock_minus_reserved) {
  auto made = created(unique_sku(), "Held", "1", "10");
  // Nothing reserves yet (orders are not built); put a reservation in place directly.
  admin().exec("UPDATE inventory.products SET reserved = 3 WHERE id = $1::uuid", {id_of(made)});
  auto held = current(id_of(made));
  BOOST_TEST(held["stock"] == 10);
  BOOST_TEST(held["reserved"] == 3);
  BOOST_TEST(held["available"] == 7);
  auto restocked = expect_product(restock(id_of(made), "5"), 200);
  BOOST_TEST(restocked["stock"] == 15);
  BOOST_TEST(restocked["reserved"] == 3);
  BOOST_TEST(restocked["available"] == 12);
}

BOOST_AUTO_TEST_CASE(restock_of_one_product_leaves_others_alone) {
  auto a = created(unique_sku(), "A", "1", "1");
  auto b = created(unique_sku(), "B", "1", "1");
  expect_product(restock(id_of(a), "9"), 200);
  BOOST_TEST(current(id_of(b)) == b);
}

BOOST_AUTO_TEST_CASE(creating_and_restocking_publish_no_events) {
  auto made = created(unique_sku(), "Quiet", "1", "1");
  expect_product(restock(id_of(made), "2"), 200);
  auto rows = admin().exec("SELECT count(*) FROM inventory.outbox");
  BOOST_TEST(rows.integer(0, 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
