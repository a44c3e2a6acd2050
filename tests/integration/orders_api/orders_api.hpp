// What the orders endpoints' tests share (docs/openapi.yaml: POST /orders with
// Idempotency-Key, GET /orders/{id}, GET /orders?customerId=&limit=, POST
// /orders/{id}/cancel, and their outbox rows): one node and database for the whole test
// program, request builders, the contract's checks of an order and of an error, and the
// fixture each test starts from. The tests themselves are in this folder, one file per
// part of the contract.
#pragma once

#include "contract_suite.hpp"
#include "json_checks.hpp"
#include "node_process.hpp"
#include "raw_http.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace orders_api_tests {

using namespace testing_support;
using json = nlohmann::json;

extern const std::string unknown_uuid;
extern const std::set<std::string> statuses;

// A syntactically valid UUID that names nothing (for validation-only requests).
std::string fake_uuid(int n);

// Money as the contract writes it: "59.97", "0.3", "10".
std::string cents_text(int64_t cents);

// True when `value` is a JSON number equal to the decimal amount of `cents` (the double
// nearest to it, as a correct JSON reader gets from the exact text).
bool is_money(const json& value, int64_t cents);

int64_t cents_of(const json& value);

// One order line; quantity and price are raw JSON text so that ill-typed values fit.
std::string item(const std::string& product_id, const std::string& quantity = "1",
                 const std::string& price = "19.99");

std::string array_of(const std::vector<std::string>& elements);

// An order body with raw JSON for customerId and items.
std::string raw_order(const std::string& customer_json, const std::string& items_json);

std::string order_body(const std::string& customer_id, const std::vector<std::string>& items);

// ---------------------------------------------------------------- raw HTTP

// POST /orders with the given extra header lines, written byte for byte.
std::string raw_post_orders(const std::vector<std::string>& header_lines, const std::string& body);

// ---------------------------------------------------------------- checks

// The exact shape of an order object (docs/openapi.yaml, Order), including its total.
void check_order(const json& o);

// The fields of an order that never change after it was placed.
json fixed_part(json o);

// Checks the exact error envelope; returns the body.
json expect_error(const raw_reply& res, int status, const std::string& code);

json expect_error(const httplib::Result& res, int status, const std::string& code);

// 400 VALIDATION_FAILED naming exactly `fields`.
template <class Response>
void expect_invalid(const Response& res, const std::set<std::string>& fields) {
  auto body = expect_error(res, 400, "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(body) == fields, body.dump());
}

// The success envelope around an order; on 201 also the Location header.
json expect_order(const httplib::Result& res, int status);

// ---------------------------------------------------------------- outbox (superuser view)

struct event_row {
  std::string name;
  int64_t sequence = 0;
  std::string correlation_id;
  json payload;
};

std::vector<event_row> events_of(const std::string& order_id);

int64_t count_events(const std::string& event_name);

// ---------------------------------------------------------------- fixture

// Every test makes its own customers; products with ample stock are shared.
struct orders_api : api_client {
  void deactivate(const std::string& customer_id) {
    auto res = http->Post(("/customers/" + customer_id + "/deactivate").c_str());
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 200, res->body);
  }

  // `n` distinct well-stocked products, shared by the tests.
  std::vector<std::string> products(std::size_t n) {
    static std::vector<std::string> pool; // made on first use, for the whole program
    while (pool.size() < n)
      pool.push_back(product()); // stock enough that orders for it are never REJECTED
    return {pool.begin(), pool.begin() + long(n)};
  }

  httplib::Result place(const std::string& body, const httplib::Headers& headers = {}) {
    return http->Post("/orders", headers, body, "application/json");
  }
  httplib::Result place_with_key(const std::string& key, const std::string& body) {
    return place(body, {{"Idempotency-Key", key}});
  }
  // A freshly placed order (201, PENDING, not a replay).
  json placed(const std::string& body, const httplib::Headers& headers = {}) {
    auto res = place(body, headers);
    auto data = expect_order(res, 201);
    BOOST_TEST(data["status"] == "PENDING");
    BOOST_TEST(res->get_header_value("Idempotent-Replayed") != "true");
    return data;
  }
  // An order of `quantity` x 19.99 of a well-stocked product for `customer_id`.
  json simple_order(const std::string& customer_id, int quantity = 1) {
    return placed(
        order_body(customer_id, {item(products(1)[0], std::to_string(quantity), "19.99")}));
  }

  httplib::Result get(const std::string& id) { return http->Get(("/orders/" + id).c_str()); }
  httplib::Result list_raw(const std::string& query) {
    return http->Get(("/orders" + query).c_str());
  }
  httplib::Result cancel(const std::string& id, const httplib::Headers& headers = {}) {
    return http->Post(("/orders/" + id + "/cancel").c_str(), headers, "", "");
  }

  // GET /orders?customerId=...&<extra>: the orders, each checked.
  json listed(const std::string& customer_id, const std::string& extra = "") {
    auto res = list_raw("?customerId=" + customer_id + (extra.empty() ? "" : "&" + extra));
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 200, res->body);
    auto body = body_of(res);
    BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "data"}), body.dump());
    BOOST_TEST_REQUIRE(body["data"].is_array(), body.dump());
    for (auto& o : body["data"])
      check_order(o);
    return body["data"];
  }

  static std::vector<std::string> ids_in(const json& list) {
    std::vector<std::string> ids;
    for (auto& o : list)
      ids.push_back(id_of(o));
    return ids;
  }
};

} // namespace orders_api_tests
