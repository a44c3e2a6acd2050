// The orders endpoints of docs/openapi.yaml over real HTTP: POST /orders (with Idempotency-Key),
// GET /orders/{id}, GET /orders?customerId=&limit=, POST /orders/{id}/cancel, and their outbox
// rows.
#include "json_checks.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;

namespace {

// One node and one database for the whole file; every test makes its own customers.
struct shared_node {
  shared_node() {
    // A refused upload can close the socket under a writing client: an error, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    instance = this;
    node.start();
  }
  ~shared_node() { instance = nullptr; }
  shared_node(const shared_node&) = delete;
  shared_node& operator=(const shared_node&) = delete;

  test_database db{"ord"};
  node_process node{node_options{db.dsn()}};
  std::vector<std::string> product_pool; // well-stocked products, made on first use
  static inline shared_node* instance = nullptr;
};

const std::string unknown_uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"; // never created
const std::set<std::string> statuses{"PENDING", "CONFIRMED", "REJECTED", "CANCELLED"};

// A syntactically valid UUID that names nothing (for validation-only requests).
std::string fake_uuid(int n) {
  char text[40];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", n);
  return text;
}

std::set<std::string> allow_list(const std::string& header) {
  std::set<std::string> methods;
  std::stringstream in{header};
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty())
      methods.insert(item);
  }
  return methods;
}

std::string id_of(const json& data) {
  return data.at("id").get<std::string>();
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

// Seconds between an RFC 3339 UTC timestamp and now.
long seconds_from_now(const std::string& stamp) {
  std::tm tm{};
  if (!strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return 1000000;
  return long(std::time(nullptr) - timegm(&tm));
}

// One order line; quantity and price are raw JSON text so that ill-typed values fit.
std::string item(const std::string& product_id, const std::string& quantity = "1",
                 const std::string& price = "19.99") {
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

// A response in a form both httplib and the raw socket client can give.
struct reply {
  bool received = false;
  int status = 0;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto i = headers.find(name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

reply reply_of(const httplib::Result& res) {
  reply out;
  if (!res)
    return out;
  out.received = true;
  out.status = res->status;
  out.body = res->body;
  for (auto& h : res->headers) {
    std::string name = h.first;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    out.headers[name] = h.second;
  }
  return out;
}

bool parse_response(const std::string& in, reply& out) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos)
    return false;
  std::stringstream head{in.substr(0, end)};
  std::string line, version;
  std::getline(head, line);
  std::stringstream{line} >> version >> out.status;
  out.headers.clear();
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.headers[name] = value;
  }
  std::size_t length =
      out.headers.count("content-length") ? std::stoul(out.header("content-length")) : 0;
  if (in.size() < end + 4 + length)
    return false;
  out.body = in.substr(end + 4, length);
  out.received = true;
  return true;
}

// Sends exact bytes (for headers an HTTP library would normalise, and for big bodies) and
// reads while still sending, so that an early answer is seen even if the body is refused.
reply raw_exchange(int port, const std::string& request) {
  reply out;
  int fd = connect_loopback(port);
  if (fd < 0)
    return out;
  std::string in;
  std::size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline && !parse_response(in, out)) {
    pollfd p{fd, short(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 200) < 0)
      break;
    if (p.revents & POLLIN) {
      char buf[65536];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        open = false;
      else
        in.append(buf, std::size_t(n));
    }
    if (open && (p.revents & POLLOUT) && sent < request.size()) {
      auto n = ::send(fd, request.data() + sent,
                      std::min<std::size_t>(request.size() - sent, 65536), MSG_NOSIGNAL);
      sent = n <= 0 ? request.size() : sent + std::size_t(n);
    }
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
      open = (p.revents & POLLIN) != 0;
  }
  parse_response(in, out);
  ::close(fd);
  return out;
}

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
json expect_error(const reply& res, int status, const std::string& code) {
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

// 400 VALIDATION_FAILED naming exactly `fields`.
template <class Response>
void expect_invalid(const Response& res, const std::set<std::string>& fields) {
  auto body = expect_error(res, 400, "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(body) == fields, body.dump());
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

struct event_row {
  std::string name;
  int64_t sequence = 0;
  std::string correlation_id;
  json payload;
};

std::vector<event_row> events_of(const std::string& order_id) {
  persistence::pg_connection admin{shared_node::instance->db.dsn()};
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
  persistence::pg_connection admin{shared_node::instance->db.dsn()};
  return admin.exec("SELECT count(*) FROM orders.outbox WHERE event_name = $1", {event_name})
      .integer(0, 0);
}

// ---------------------------------------------------------------- fixture

struct orders_api {
  orders_api() {
    auto& node = shared_node::instance->node;
    if (!node.running()) {
      BOOST_TEST_MESSAGE("the node had stopped; starting it again");
      node.start();
    }
    http = node.client();
  }
  ~orders_api() {
    auto& node = shared_node::instance->node;
    BOOST_TEST(node.running(), "the node must survive every request:\n" << node.log());
  }

  static int port() { return shared_node::instance->node.http_port(); }

  static std::string unique(const std::string& prefix) {
    static std::atomic<int> counter{0};
    return prefix + std::to_string(++counter);
  }

  // A new ACTIVE customer's id.
  std::string customer() {
    auto res = http->Post(
        "/customers", json{{"name", "Buyer"}, {"email", unique("buyer") + "@example.com"}}.dump(),
        "application/json");
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return id_of(body_of(res)["data"]);
  }

  void deactivate(const std::string& customer_id) {
    auto res = http->Post(("/customers/" + customer_id + "/deactivate").c_str());
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 200, res->body);
  }

  // A new product with plenty of stock, so that orders for it are never REJECTED.
  std::string product() {
    auto res = http->Post("/products",
                          "{\"sku\":\"" + unique("ORD-SKU-") +
                              "\",\"name\":\"Thing\",\"price\":19.99,\"stock\":1000000000}",
                          "application/json");
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return id_of(body_of(res)["data"]);
  }

  // `n` distinct well-stocked products, shared by the tests.
  std::vector<std::string> products(std::size_t n) {
    auto& pool = shared_node::instance->product_pool;
    while (pool.size() < n)
      pool.push_back(product());
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

  std::unique_ptr<httplib::Client> http;
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(shared_node);

BOOST_FIXTURE_TEST_SUITE(orders_api_suite, orders_api)

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
  std::atomic<bool> go{false};
  std::vector<int> status(10, 0);
  std::vector<std::string> codes(10);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 10; ++i)
    threads.emplace_back([&, i] {
      httplib::Client client{"127.0.0.1", port()};
      client.set_read_timeout(std::chrono::seconds{15});
      while (!go.load())
        std::this_thread::yield();
      auto res = client.Post(("/orders/" + id + "/cancel").c_str());
      if (res) {
        status[i] = res->status;
        auto body = json::parse(res->body, nullptr, false);
        if (body.is_object() && body.contains("error"))
          codes[i] = body["error"].value("code", "");
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  int ok = 0, conflict = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    ok += status[i] == 200;
    conflict += status[i] == 409 && codes[i] == "INVALID_STATE";
  }
  BOOST_TEST(ok == 1);
  BOOST_TEST(conflict == 9);
  int cancelled_events = 0;
  for (auto& e : events_of(id))
    cancelled_events += e.name == "order.cancelled";
  BOOST_TEST(cancelled_events == 1);
}

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
  std::atomic<bool> go{false};
  std::vector<int> status(10, 0);
  std::vector<std::string> codes(10);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 10; ++i)
    threads.emplace_back([&, i] {
      httplib::Client client{"127.0.0.1", port()};
      client.set_read_timeout(std::chrono::seconds{15});
      auto body = order_body(c, {item(p, std::to_string(i + 1))});
      while (!go.load())
        std::this_thread::yield();
      auto res = client.Post("/orders", {{"Idempotency-Key", key}}, body, "application/json");
      if (res) {
        status[i] = res->status;
        auto parsed = json::parse(res->body, nullptr, false);
        if (parsed.is_object() && parsed.contains("error"))
          codes[i] = parsed["error"].value("code", "");
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  int created = 0, reused = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    created += status[i] == 201;
    reused += status[i] == 422 && codes[i] == "IDEMPOTENCY_KEY_REUSED";
  }
  BOOST_TEST(created == 1);
  BOOST_TEST(reused == 9);
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
