// See orders_api.hpp. Also the test program's one node (a global fixture).
#include "orders_api.hpp"

#include "persistence/pg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <sstream>

namespace orders_api_tests {

const std::string unknown_uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"; // never created
const std::set<std::string> statuses{"PENDING", "CONFIRMED", "REJECTED", "CANCELLED"};

// A syntactically valid UUID that names nothing (for validation-only requests).
std::string fake_uuid(int n) {
  char text[40];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", n);
  return text;
}

// Money as the contract writes it: "59.97", "0.3", "10".
std::string cents_text(int64_t cents) {
  auto magnitude = cents < 0 ? -cents : cents;
  auto text = std::to_string(magnitude / 100);
  if (magnitude % 100 != 0) {
    char fraction[4];
    std::snprintf(fraction, sizeof fraction, "%02d", int(magnitude % 100));
    std::string f = fraction;
    if (f.back() == '0')
      f.pop_back();
    text += "." + f;
  }
  return (cents < 0 ? "-" : "") + text;
}

// True when `value` is a JSON number equal to the decimal amount of `cents` (the double
// nearest to it, as a correct JSON reader gets from the exact text).
bool is_money(const json& value, int64_t cents) {
  return value.is_number() &&
         value.get<double>() == std::strtod(cents_text(cents).c_str(), nullptr);
}

int64_t cents_of(const json& value) {
  return std::llround(value.get<double>() * 100);
}

// One order line; quantity and price are raw JSON text so that ill-typed values fit.
std::string item(const std::string& product_id, const std::string& quantity,
                 const std::string& price) {
  return "{\"productId\":" + json(product_id).dump() + ",\"quantity\":" + quantity +
         ",\"price\":" + price + "}";
}

std::string array_of(const std::vector<std::string>& elements) {
  std::string text = "[";
  for (std::size_t i = 0; i < elements.size(); ++i)
    text += (i ? "," : "") + elements[i];
  return text + "]";
}

// An order body with raw JSON for customerId and items.
std::string raw_order(const std::string& customer_json, const std::string& items_json) {
  return "{\"customerId\":" + customer_json + ",\"items\":" + items_json + "}";
}

std::string order_body(const std::string& customer_id, const std::vector<std::string>& items) {
  return raw_order(json(customer_id).dump(), array_of(items));
}

// ---------------------------------------------------------------- raw HTTP

// POST /orders with the given extra header lines, written byte for byte.
std::string raw_post_orders(const std::vector<std::string>& header_lines, const std::string& body) {
  std::string text = "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\n";
  for (auto& h : header_lines)
    text += h + "\r\n";
  return text + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---------------------------------------------------------------- checks

// The exact shape of an order object (docs/openapi.yaml, Order), including its total.
void check_order(const json& o) {
  BOOST_TEST_REQUIRE(o.is_object(), o.dump());
  std::set<std::string> fields{"id",     "customerId", "items",    "totalAmount",
                               "status", "createdAt",  "updatedAt"};
  bool rejected = o.contains("status") && o["status"] == "REJECTED";
  if (rejected)
    fields.insert("rejectionReason");
  BOOST_TEST(keys_of(o) == fields, o.dump());
  for (auto field : {"id", "customerId"}) {
    BOOST_TEST_REQUIRE(o.contains(field));
    BOOST_TEST_REQUIRE(o[field].is_string(), o.dump());
    BOOST_TEST(std::regex_match(o[field].get<std::string>(), uuid_pattern), o[field]);
  }
  BOOST_TEST_REQUIRE((o.contains("status") && o["status"].is_string()), o.dump());
  BOOST_TEST(statuses.count(o["status"].get<std::string>()) == 1u, o["status"]);
  if (rejected)
    BOOST_TEST(
        (o["rejectionReason"] == "INSUFFICIENT_STOCK" || o["rejectionReason"] == "UNKNOWN_PRODUCT"),
        o.dump());
  for (auto field : {"createdAt", "updatedAt"}) {
    BOOST_TEST_REQUIRE((o.contains(field) && o[field].is_string()), o.dump());
    BOOST_TEST(std::regex_match(o[field].get<std::string>(), timestamp_pattern), o[field]);
  }
  BOOST_TEST(o["updatedAt"].get<std::string>() >= o["createdAt"].get<std::string>(), o.dump());
  BOOST_TEST_REQUIRE((o.contains("items") && o["items"].is_array()), o.dump());
  BOOST_TEST(!o["items"].empty());
  BOOST_TEST(o["items"].size() <= 100u);
  int64_t total = 0;
  for (auto& line : o["items"]) {
    BOOST_TEST_REQUIRE(line.is_object(), line.dump());
    BOOST_TEST(keys_of(line) == (std::set<std::string>{"productId", "quantity", "price"}),
               line.dump());
    BOOST_TEST_REQUIRE(line["productId"].is_string(), line.dump());
    BOOST_TEST(std::regex_match(line["productId"].get<std::string>(), uuid_pattern), line.dump());
    BOOST_TEST_REQUIRE(line["quantity"].is_number_integer(),
                       "quantity is not a JSON integer: " << line.dump());
    BOOST_TEST_REQUIRE(line["price"].is_number(), line.dump());
    total += line["quantity"].get<int64_t>() * cents_of(line["price"]);
  }
  BOOST_TEST_REQUIRE((o.contains("totalAmount") && o["totalAmount"].is_number()), o.dump());
  BOOST_TEST(is_money(o["totalAmount"], total), "totalAmount "
                                                    << o["totalAmount"] << " but the lines sum to "
                                                    << cents_text(total) << ": " << o.dump());
}

// The fields of an order that never change after it was placed.
json fixed_part(json o) {
  o.erase("status");
  o.erase("updatedAt");
  o.erase("rejectionReason");
  return o;
}

// Checks the exact error envelope; returns the body.
json expect_error(const raw_reply& res, int status, const std::string& code) {
  BOOST_TEST_REQUIRE(res.received, "no HTTP response");
  BOOST_TEST(res.status == status, res.status << " " << res.body);
  auto body = json::parse(res.body, nullptr, false);
  if (res.status != status)
    return body.is_discarded() ? json(nullptr) : body; // one failure is enough
  BOOST_TEST_REQUIRE(body.is_object(), "error body is not a JSON object: " << res.body);
  BOOST_TEST(res.header("content-type").find("application/json") == 0, res.header("content-type"));
  check_error_envelope(body, code);
  return body;
}

json expect_error(const httplib::Result& res, int status, const std::string& code) {
  BOOST_REQUIRE(res);
  return expect_error(reply_of(res), status, code);
}

// The success envelope around an order; on 201 also the Location header.
json expect_order(const httplib::Result& res, int status) {
  BOOST_REQUIRE(res);
  BOOST_TEST_REQUIRE(res->status == status, res->status << " " << res->body);
  BOOST_TEST(res->get_header_value("Content-Type").find("application/json") == 0);
  auto body = body_of(res);
  BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "data"}), body.dump());
  BOOST_TEST(body["success"] == true);
  auto data = body["data"];
  check_order(data);
  if (status == 201)
    BOOST_TEST(res->get_header_value("Location") == "/orders/" + id_of(data));
  return data;
}

// ---------------------------------------------------------------- outbox (superuser view)

std::vector<event_row> events_of(const std::string& order_id) {
  persistence::pg_connection admin{api_client::dsn()};
  auto rows =
      admin.exec("SELECT event_name, sequence, correlation_id, payload::text FROM orders.outbox "
                 "WHERE aggregate_id = $1::uuid ORDER BY sequence",
                 {order_id});
  std::vector<event_row> events;
  for (int i = 0; i < rows.rows(); ++i)
    events.push_back(
        {rows.string(i, 0), rows.integer(i, 1), rows.string(i, 2), json::parse(rows.string(i, 3))});
  return events;
}

int64_t count_events(const std::string& event_name) {
  persistence::pg_connection admin{api_client::dsn()};
  return admin.exec("SELECT count(*) FROM orders.outbox WHERE event_name = $1", {event_name})
      .integer(0, 0);
}

BOOST_TEST_GLOBAL_FIXTURE(suite_node);

} // namespace orders_api_tests
