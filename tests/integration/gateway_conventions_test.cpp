// The gateway conventions of docs/openapi.yaml over real HTTP: routing errors, body limits, media
// type, JSON strictness, correlation ids, envelopes and error precedence.
#include "contract_suite.hpp"
#include "eventually.hpp"
#include "json_checks.hpp"
#include "node_process.hpp"
#include "raw_http.hpp"
#include "test_database.hpp"

#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
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

constexpr std::size_t mib = 1024 * 1024;
const std::string a_uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"; // never created

// A JSON object of exactly `size` bytes registering a customer (padded with an extra field).
std::string customer_body_of_size(std::size_t size, const std::string& email) {
  std::string head = R"({"name":"Pad","email":")" + email + R"(","pad":")";
  std::string tail = R"("})";
  return head + std::string(size - head.size() - tail.size(), 'p') + tail;
}

std::string nested_objects(int levels) {
  std::string text;
  for (int i = 1; i < levels; ++i)
    text += "{\"a\":";
  text += "{}";
  for (int i = 1; i < levels; ++i)
    text += "}";
  return text;
}

std::string nested_arrays(int levels) {
  return std::string(std::size_t(levels), '[') + std::string(std::size_t(levels), ']');
}

struct gateway_api : api_client {

  static std::string unique_email() {
    static std::atomic<int> counter{0};
    return "gw" + std::to_string(++counter) + "@example.com";
  }
  static std::string unique_sku() {
    static std::atomic<int> counter{0};
    return "GW-" + std::to_string(++counter);
  }

  httplib::Result post(const std::string& path, const std::string& body,
                       const std::string& content_type = "application/json",
                       const httplib::Headers& headers = {}) {
    return http->Post(path.c_str(), headers, body, content_type.c_str());
  }
  // Any method, any body, with Content-Type only when given.
  httplib::Result send(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& content_type = "",
                       const httplib::Headers& headers = {}) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    req.body = body;
    if (!content_type.empty())
      req.headers.emplace("Content-Type", content_type);
    return http->send(req);
  }
  // A body of `size` bytes sent chunked (no Content-Length).
  httplib::Result post_chunked(const std::string& path, const std::string& body,
                               const std::string& content_type) {
    return http->Post(
        path.c_str(),
        [body](std::size_t offset, httplib::DataSink& sink) {
          if (offset < body.size()) {
            auto n = std::min<std::size_t>(body.size() - offset, 64 * 1024);
            sink.write(body.data() + offset, n);
          } else {
            sink.done();
          }
          return true;
        },
        content_type.c_str());
  }

  json customer(const std::string& email) {
    auto res = post("/customers", json{{"name", "Gw"}, {"email", email}}.dump());
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return json::parse(res->body)["data"];
  }
  json product(const std::string& sku) {
    auto res =
        post("/products", json{{"sku", sku}, {"name", "Gw"}, {"price", 2.5}, {"stock", 3}}.dump());
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return json::parse(res->body)["data"];
  }

  // The exact error envelope, its status and code, a correlation id, no internals.
  static json check_error(int status_seen, const std::string& body_text, bool has_cid,
                          bool has_exception_what, int status, const std::string& code) {
    BOOST_TEST(status_seen == status, status_seen << " " << body_text);
    BOOST_TEST(has_cid, "no X-Correlation-Id on the " << status_seen << " response");
    BOOST_TEST(!has_exception_what, "EXCEPTION_WHAT header present");
    auto body = json::parse(body_text, nullptr, false);
    if (status_seen != status)
      return body.is_discarded() ? json(nullptr) : body; // one failure is enough
    BOOST_TEST_REQUIRE(body.is_object(), "error body is not a JSON object: " << body_text);
    BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "error"}), body_text);
    BOOST_TEST(body["success"] == false);
    auto& error = body["error"];
    BOOST_TEST(keys_of(error) == (std::set<std::string>{"code", "message", "details"}), body_text);
    BOOST_TEST(error["code"] == code, body_text);
    BOOST_TEST(error["message"].is_string());
    BOOST_TEST(error["details"].is_array());
    if (error["details"].is_array())
      for (auto& d : error["details"]) {
        BOOST_TEST(keys_of(d) == (std::set<std::string>{"field", "issue"}), d.dump());
        BOOST_TEST(d["field"].is_string());
        BOOST_TEST(d["issue"].is_string());
      }
    return body;
  }
  static json expect_error(const httplib::Result& res, int status, const std::string& code) {
    BOOST_TEST_REQUIRE(bool(res), "no HTTP response: " << httplib::to_string(res.error()));
    BOOST_TEST(res->get_header_value("Content-Type").find("application/json") == 0);
    return check_error(res->status, res->body, res->has_header("X-Correlation-Id"),
                       res->has_header("EXCEPTION_WHAT"), status, code);
  }
  static json expect_error(const raw_reply& res, int status, const std::string& code) {
    BOOST_TEST_REQUIRE(res.received, "no HTTP response");
    return check_error(res.status, res.body, res.has_header("x-correlation-id"),
                       res.has_header("exception_what"), status, code);
  }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(suite_node);

BOOST_FIXTURE_TEST_SUITE(gateway_conventions_suite, gateway_api)

// ---------------------------------------------------------------- routing

BOOST_AUTO_TEST_CASE(unknown_route_is_404_not_found) {
  expect_error(http->Get("/"), 404, "NOT_FOUND");
  expect_error(http->Get("/nothing-here"), 404, "NOT_FOUND");
  expect_error(http->Get("/customer"), 404, "NOT_FOUND");
  expect_error(http->Get("/customers/a/b"), 404, "NOT_FOUND");
  expect_error(http->Get(("/products/" + a_uuid + "/restock/more").c_str()), 404, "NOT_FOUND");
  expect_error(post("/nothing-here", "{}"), 404, "NOT_FOUND");
  expect_error(send("DELETE", "/nothing-here"), 404, "NOT_FOUND");
  expect_error(send("PUT", "/products/a/b/c", "{}", "application/json"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(known_path_with_a_wrong_method_is_405_with_an_allow_header) {
  struct probe {
    std::string method, path, allowed;
  };
  std::vector<probe> probes = {
      {"GET", "/customers", "POST"},
      {"PUT", "/customers", "POST"},
      {"DELETE", "/customers", "POST"},
      {"PATCH", "/customers", "POST"},
      {"POST", "/customers/" + a_uuid, "GET"},
      {"PUT", "/customers/" + a_uuid, "GET"},
      {"DELETE", "/customers/" + a_uuid, "GET"},
      {"GET", "/customers/" + a_uuid + "/deactivate", "POST"},
      {"PUT", "/customers/" + a_uuid + "/deactivate", "POST"},
      {"GET", "/products", "POST"},
      {"DELETE", "/products", "POST"},
      {"POST", "/products/" + a_uuid, "GET"},
      {"PATCH", "/products/" + a_uuid, "GET"},
      {"GET", "/products/" + a_uuid + "/restock", "POST"},
      {"DELETE", "/products/" + a_uuid + "/restock", "POST"},
  };
  for (auto& p : probes) {
    BOOST_TEST_CONTEXT(p.method << " " << p.path) {
      auto res = send(p.method, p.path, p.method == "GET" || p.method == "DELETE" ? "" : "{}",
                      p.method == "GET" || p.method == "DELETE" ? "" : "application/json");
      expect_error(res, 405, "METHOD_NOT_ALLOWED");
      if (res) {
        auto allowed = allow_list(res->get_header_value("Allow"));
        BOOST_TEST(allowed.count(p.allowed) == 1u, "Allow: " << res->get_header_value("Allow"));
        BOOST_TEST(allowed.count(p.method) == 0u, "Allow: " << res->get_header_value("Allow"));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_405_for_a_non_uuid_id_is_still_405) {
  auto res = send("DELETE", "/customers/not-a-uuid");
  expect_error(res, 405, "METHOD_NOT_ALLOWED");
  BOOST_TEST(allow_list(res->get_header_value("Allow")).count("GET") == 1u);
}

BOOST_AUTO_TEST_CASE(trace_on_a_known_path_is_405_with_an_allow_header) {
  auto res = raw_exchange(port(), raw_request("TRACE", "/customers", {}, "", false));
  expect_error(res, 405, "METHOD_NOT_ALLOWED");
  BOOST_TEST(allow_list(res.header("allow")).count("POST") == 1u, "Allow: " << res.header("allow"));
}

BOOST_AUTO_TEST_CASE(a_path_with_percent_encoded_invalid_utf8_is_404_not_found) {
  auto res = http->Get("/%FF%FE");
  expect_error(res, 404, "NOT_FOUND");
  expect_error(http->Get("/customers/%FF"), 404, "NOT_FOUND");
  expect_error(post("/nothing/%C0%AF", "{}"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(a_very_long_non_uuid_id_is_404_not_found) {
  auto res = http->Get(("/customers/" + std::string(9000, 'a')).c_str());
  expect_error(res, 404, "NOT_FOUND");
}

// ---------------------------------------------------------------- body size

BOOST_AUTO_TEST_CASE(a_2_mib_body_is_413_payload_too_large) {
  auto big = customer_body_of_size(2 * mib, unique_email());
  for (auto path : {std::string{"/customers"}, std::string{"/products"},
                    "/products/" + a_uuid + "/restock", "/customers/" + a_uuid + "/deactivate"}) {
    BOOST_TEST_CONTEXT(path) {
      expect_error(
          raw_exchange(port(), raw_request("POST", path, {"Content-Type: application/json"}, big)),
          413, "PAYLOAD_TOO_LARGE");
    }
  }
}

BOOST_AUTO_TEST_CASE(
    a_2_mib_body_is_answered_to_a_client_that_writes_the_whole_body_before_reading) {
  // cpp-httplib's client (like many simple clients) sends the whole body, then reads.
  // The early answer must still reach it, instead of a reset connection.
  auto email = unique_email();
  auto big = customer_body_of_size(2 * mib, email);
  struct probe {
    std::string method, path;
    int status;
    std::string code;
  };
  for (auto& p : std::vector<probe>{{"POST", "/customers", 413, "PAYLOAD_TOO_LARGE"},
                                    {"POST", "/nothing", 404, "NOT_FOUND"},
                                    {"PUT", "/customers", 405, "METHOD_NOT_ALLOWED"}}) {
    BOOST_TEST_CONTEXT(p.method << " " << p.path << " with 2 MiB") {
      // Whether the answer is lost is a race, so try a few times: each must be answered.
      int answered = 0, attempts = 5;
      std::string last_error;
      for (int i = 0; i < attempts; ++i) {
        auto res = send(p.method, p.path, big, "application/json");
        if (!res) {
          last_error = httplib::to_string(res.error());
          continue;
        }
        ++answered;
        BOOST_TEST(res->status == p.status, res->status << " " << res->body);
        BOOST_TEST(res->body.find(p.code) != std::string::npos, res->body);
      }
      BOOST_TEST(answered == attempts,
                 "only " << answered << " of " << attempts
                         << " attempts got an HTTP response; last error: " << last_error);
    }
  }
  // Nothing was created.
  customer(email);
}

BOOST_AUTO_TEST_CASE(a_chunked_2_mib_body_is_413_payload_too_large) {
  auto email = unique_email();
  expect_error(
      post_chunked("/customers", customer_body_of_size(2 * mib, email), "application/json"), 413,
      "PAYLOAD_TOO_LARGE");
  expect_error(raw_exchange(port(), raw_chunked_request("POST", "/customers",
                                                        {"Content-Type: application/json"},
                                                        customer_body_of_size(2 * mib, email))),
               413, "PAYLOAD_TOO_LARGE");
  customer(email);
}

BOOST_AUTO_TEST_CASE(a_body_of_exactly_1_mib_is_accepted_and_one_byte_more_is_413) {
  auto email = unique_email();
  auto exact = customer_body_of_size(mib, email);
  BOOST_REQUIRE(exact.size() == mib);
  auto res = post("/customers", exact);
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 201, res->body);

  auto other = unique_email();
  auto over = customer_body_of_size(mib + 1, other);
  expect_error(raw_exchange(port(), raw_request("POST", "/customers",
                                                {"Content-Type: application/json"}, over)),
               413, "PAYLOAD_TOO_LARGE");
  expect_error(post_chunked("/customers", over, "application/json"), 413, "PAYLOAD_TOO_LARGE");
  // The refused body created nothing.
  customer(other);
}

// ---------------------------------------------------------------- media type

BOOST_AUTO_TEST_CASE(a_post_body_that_is_not_application_json_is_415) {
  auto good = json{{"name", "T"}, {"email", unique_email()}}.dump();
  for (auto type : {"text/plain", "application/x-www-form-urlencoded", "application/xml",
                    "text/json", "application/jsonx", "application/json-patch+json",
                    "multipart/form-data; boundary=x", "application/octet-stream"}) {
    BOOST_TEST_CONTEXT("Content-Type " << type) {
      expect_error(post("/customers", good, type), 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  }
  auto product_body = json{{"sku", unique_sku()}, {"name", "T"}, {"price", 1}, {"stock", 1}}.dump();
  expect_error(post("/products", product_body, "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post("/products/" + a_uuid + "/restock", R"({"quantity":1})", "text/plain"), 415,
               "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post("/customers/" + a_uuid + "/deactivate", "{}", "text/plain"), 415,
               "UNSUPPORTED_MEDIA_TYPE");
  // Nothing was created by the refused bodies.
  auto data = json::parse(good);
  customer(data["email"].get<std::string>());
}

BOOST_AUTO_TEST_CASE(a_post_body_without_content_type_is_415) {
  auto body = json{{"name", "T"}, {"email", unique_email()}}.dump();
  expect_error(raw_exchange(port(), raw_request("POST", "/customers", {}, body)), 415,
               "UNSUPPORTED_MEDIA_TYPE");
}

BOOST_AUTO_TEST_CASE(application_json_with_parameters_or_in_other_case_is_accepted) {
  for (auto type :
       {"application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"}) {
    BOOST_TEST_CONTEXT("Content-Type " << type) {
      auto res = post("/customers", json{{"name", "T"}, {"email", unique_email()}}.dump(), type);
      BOOST_REQUIRE(res);
      BOOST_TEST(res->status == 201, res->body);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_post_without_a_body_needs_no_content_type) {
  auto made = customer(unique_email());
  auto res = http->Post(("/customers/" + made["id"].get<std::string>() + "/deactivate").c_str());
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200, res->body);
}

// ---------------------------------------------------------------- JSON strictness

BOOST_AUTO_TEST_CASE(invalid_json_is_400_malformed_json) {
  for (auto body :
       {"{", "}", "{\"name\":}", "{\"name\":\"A\",}", "{'name':'A'}", "{name:\"A\"}", "not json",
        "{} {}", "{}x", "{\"name\":\"A\" \"email\":\"a@b.c\"}", "{\"a\":NaN}", "{\"a\":01}",
        "{\"a\":.5}", "{\"a\":\"\\x41\"}", "{/*c*/}", "{\"a\":\"tab\tinside\"}"}) {
    BOOST_TEST_CONTEXT("body " << body) {
      expect_error(post("/customers", body), 400, "MALFORMED_JSON");
    }
  }
}

BOOST_AUTO_TEST_CASE(an_empty_json_body_is_400_malformed_json) {
  expect_error(post("/customers", ""), 400, "MALFORMED_JSON");
  expect_error(raw_exchange(port(), raw_request("POST", "/products",
                                                {"Content-Type: application/json"}, "")),
               400, "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(json_that_is_not_an_object_is_400_malformed_json) {
  for (auto body :
       {"[]", "[{\"name\":\"A\",\"email\":\"a@b.c\"}]", "\"text\"", "42", "null", "true", "1.5"}) {
    BOOST_TEST_CONTEXT("body " << body) {
      expect_error(post("/customers", body), 400, "MALFORMED_JSON");
      expect_error(post("/products", body), 400, "MALFORMED_JSON");
      expect_error(post("/products/" + a_uuid + "/restock", body), 400, "MALFORMED_JSON");
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_400_malformed_json) {
  auto email = unique_email();
  for (std::string bad :
       {std::string{"\xFF"}, std::string{"caf\xE9"}, std::string{"\xC0\xAF"},
        std::string{"\xED\xA0\x80"}, std::string{"\xE2\x82"}, std::string{"\xF8\x88\x80\x80\x80"},
        std::string{"\xF4\x90\x80\x80"}, std::string{"\x80"}}) {
    BOOST_TEST_CONTEXT("bytes in name") {
      expect_error(post("/customers", "{\"name\":\"A" + bad + "\",\"email\":\"" + email + "\"}"),
                   400, "MALFORMED_JSON");
    }
  }
  expect_error(post("/customers", "{\"na\xFFme\":\"A\",\"email\":\"" + email + "\"}"), 400,
               "MALFORMED_JSON");
  expect_error(post("/products", "{\"sku\":\"\xFF\",\"name\":\"n\",\"price\":1,\"stock\":1}"), 400,
               "MALFORMED_JSON");
  // None of them registered the address.
  customer(email);
}

BOOST_AUTO_TEST_CASE(nesting_of_64_levels_is_accepted_as_json) {
  // 64 levels of objects: well-formed, so the fields are what is wrong.
  auto res = post("/customers", nested_objects(64));
  auto body = expect_error(res, 400, "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(body) == (std::set<std::string>{"name", "email"}), res->body);
  // The object plus 63 levels of arrays in a field.
  auto inner = post("/customers",
                    "{\"name\":" + nested_arrays(63) + ",\"email\":\"" + unique_email() + "\"}");
  auto inner_body = expect_error(inner, 400, "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(inner_body) == (std::set<std::string>{"name"}), inner->body);
}

BOOST_AUTO_TEST_CASE(nesting_deeper_than_64_levels_is_400_malformed_json) {
  expect_error(post("/customers", nested_objects(65)), 400, "MALFORMED_JSON");
  expect_error(post("/customers",
                    "{\"name\":" + nested_arrays(64) + ",\"email\":\"" + unique_email() + "\"}"),
               400, "MALFORMED_JSON");
  expect_error(post("/products", "{\"sku\":{\"a\":" + nested_objects(64) + "}}"), 400,
               "MALFORMED_JSON");
  // Very deep input is refused quickly and the node survives it.
  std::string deep(200000, '[');
  expect_error(post("/customers", "{\"a\":" + deep + "}"), 400, "MALFORMED_JSON");
  expect_error(post("/customers", std::string(300000, '{')), 400, "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(brackets_inside_strings_do_not_count_as_nesting) {
  auto name = std::string(100, '[') + std::string(99, '{') + "\"";
  auto res = post("/customers", json{{"name", name}, {"email", unique_email()}}.dump());
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 201, res->body);
  if (res->status == 201)
    BOOST_TEST(json::parse(res->body)["data"]["name"] == name);
}

// ---------------------------------------------------------------- correlation id

BOOST_AUTO_TEST_CASE(a_valid_correlation_id_is_echoed) {
  std::string all_allowed = "ABCXYZabcxyz0189._:-";
  std::string longest;
  while (longest.size() < 128)
    longest += all_allowed[longest.size() % all_allowed.size()];
  for (auto id : {std::string{"x"}, std::string{"abc-123"}, all_allowed, longest,
                  std::string{"3F2504E0-4F89-41D3-9A0C-0305E82C3301"}, std::string{"..."},
                  std::string{"::"}}) {
    BOOST_TEST_CONTEXT("id " << id) {
      auto res = http->Get("/health", {{"X-Correlation-Id", id}});
      BOOST_REQUIRE(res);
      BOOST_TEST(res->get_header_value("X-Correlation-Id") == id);
      auto created = post("/customers", json{{"name", "C"}, {"email", unique_email()}}.dump(),
                          "application/json", {{"X-Correlation-Id", id}});
      BOOST_REQUIRE(created);
      BOOST_TEST(created->status == 201);
      BOOST_TEST(created->get_header_value("X-Correlation-Id") == id);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_valid_correlation_id_is_echoed_on_every_kind_of_error) {
  std::string id = "corr-err_1.2:3";
  httplib::Headers h{{"X-Correlation-Id", id}};
  auto taken = unique_email();
  customer(taken);
  std::vector<std::pair<std::string, httplib::Result>> results;
  results.emplace_back("404 route", http->Get("/nothing", h));
  results.emplace_back("405", http->Get("/customers", h));
  results.emplace_back("415", post("/customers", "{}", "text/plain", h));
  results.emplace_back("400 malformed", post("/customers", "{", "application/json", h));
  results.emplace_back("400 validation", post("/customers", "{}", "application/json", h));
  results.emplace_back("404 entity", http->Get(("/customers/" + a_uuid).c_str(), h));
  results.emplace_back("409", post("/customers", json{{"name", "D"}, {"email", taken}}.dump(),
                                   "application/json", h));
  for (auto& [what, res] : results) {
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST_REQUIRE(bool(res), "no response: " << httplib::to_string(res.error()));
      BOOST_TEST(res->get_header_value("X-Correlation-Id") == id);
    }
  }
  auto too_large = raw_exchange(
      port(), raw_request("POST", "/customers",
                          {"Content-Type: application/json", "X-Correlation-Id: " + id},
                          std::string(2 * mib, ' ')));
  BOOST_TEST_REQUIRE(too_large.received);
  BOOST_TEST(too_large.status == 413);
  BOOST_TEST(too_large.header("x-correlation-id") == id);
}

BOOST_AUTO_TEST_CASE(an_invalid_correlation_id_is_replaced_by_a_generated_uuid) {
  for (auto id :
       {std::string(129, 'a'), std::string{"has space"}, std::string{"a/b"}, std::string{"a,b"},
        std::string{"a;b"}, std::string{"{x}"}, std::string{"caf\xC3\xA9"}, std::string{"a+b"},
        std::string{"id="}, std::string{"@home"}, std::string{""}}) {
    BOOST_TEST_CONTEXT("id [" << id << "]") {
      auto res = http->Get("/health", {{"X-Correlation-Id", id}});
      BOOST_REQUIRE(res);
      auto echoed = res->get_header_value("X-Correlation-Id");
      BOOST_TEST(echoed != id);
      BOOST_TEST(std::regex_match(echoed, uuid_pattern), echoed);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_missing_correlation_id_is_generated_fresh_for_each_request) {
  auto a = http->Get("/health");
  auto b = post("/customers", "{}");
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(b);
  auto ida = a->get_header_value("X-Correlation-Id");
  auto idb = b->get_header_value("X-Correlation-Id");
  BOOST_TEST(std::regex_match(ida, uuid_pattern), ida);
  BOOST_TEST(std::regex_match(idb, uuid_pattern), idb);
  BOOST_TEST(ida != idb);
}

BOOST_AUTO_TEST_CASE(the_correlation_id_appears_in_the_request_log_line) {
  std::string id = "log-line-check-7f3a";
  auto res = http->Get(("/customers/" + a_uuid).c_str(), {{"X-Correlation-Id", id}});
  BOOST_REQUIRE(res);
  BOOST_TEST(eventually(std::chrono::seconds{3}, [&] {
    return node().log().find("\"correlationId\":\"" + id + "\"") != std::string::npos;
  }));
}

BOOST_AUTO_TEST_CASE(responses_the_http_layer_refuses_early_still_carry_a_correlation_id) {
  auto long_uri = http->Get(("/customers/" + std::string(9000, 'b')).c_str(),
                            {{"X-Correlation-Id", "early-1"}});
  BOOST_TEST_REQUIRE(bool(long_uri));
  BOOST_TEST(long_uri->has_header("X-Correlation-Id"),
             "status " << long_uri->status << " " << long_uri->body);
  auto trace = raw_exchange(
      port(), raw_request("TRACE", "/customers", {"X-Correlation-Id: early-2"}, "", false));
  BOOST_TEST_REQUIRE(trace.received);
  BOOST_TEST(trace.header("x-correlation-id") == "early-2",
             "status " << trace.status << " " << trace.body);
}

// ---------------------------------------------------------------- envelopes and fields

BOOST_AUTO_TEST_CASE(success_envelopes_are_exactly_success_and_data) {
  auto created = post("/customers", json{{"name", "E"}, {"email", unique_email()}}.dump());
  BOOST_REQUIRE(created);
  BOOST_TEST(created->status == 201);
  BOOST_TEST(created->get_header_value("Content-Type").find("application/json") == 0);
  auto body = json::parse(created->body);
  BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "data"}));
  BOOST_TEST(body["success"] == true);
  BOOST_TEST(body["data"].is_object());
  auto fetched = http->Get(created->get_header_value("Location").c_str());
  BOOST_REQUIRE(fetched);
  BOOST_TEST(fetched->status == 200);
  BOOST_TEST(json::parse(fetched->body) == body);
}

BOOST_AUTO_TEST_CASE(error_envelopes_are_exactly_success_and_error_with_code_message_details) {
  auto res = post("/products", R"({"sku":"","name":"","price":-1,"stock":-1})");
  auto body = expect_error(res, 400, "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(body) == (std::set<std::string>{"sku", "name", "price", "stock"}));
  for (auto& d : body["error"]["details"])
    BOOST_TEST(!d["issue"].get<std::string>().empty());
  BOOST_TEST(!body["error"]["message"].get<std::string>().empty());
  // Errors without field details carry an empty array, not a missing key or null.
  auto not_found = expect_error(http->Get("/nothing"), 404, "NOT_FOUND");
  BOOST_TEST(not_found["error"]["details"].is_array());
}

BOOST_AUTO_TEST_CASE(created_responses_carry_the_location_of_the_new_resource) {
  auto c = post("/customers", json{{"name", "L"}, {"email", unique_email()}}.dump());
  BOOST_REQUIRE(c);
  BOOST_TEST_REQUIRE(c->status == 201);
  BOOST_TEST(c->get_header_value("Location") ==
             "/customers/" + json::parse(c->body)["data"]["id"].get<std::string>());
  auto p = post("/products",
                json{{"sku", unique_sku()}, {"name", "L"}, {"price", 1}, {"stock", 1}}.dump());
  BOOST_REQUIRE(p);
  BOOST_TEST_REQUIRE(p->status == 201);
  BOOST_TEST(p->get_header_value("Location") ==
             "/products/" + json::parse(p->body)["data"]["id"].get<std::string>());
}

BOOST_AUTO_TEST_CASE(integer_fields_are_json_integers_in_the_response_text) {
  auto made = product(unique_sku());
  auto res = http->Get(("/products/" + made["id"].get<std::string>()).c_str());
  BOOST_REQUIRE(res);
  for (auto field : {"stock", "reserved", "available"}) {
    std::regex integer_text{std::string{"\""} + field + "\":[0-9]+[,}]"};
    BOOST_TEST(std::regex_search(res->body, integer_text), field << " in " << res->body);
  }
  auto restocked =
      post("/products/" + made["id"].get<std::string>() + "/restock", R"({"quantity":2})");
  BOOST_REQUIRE(restocked);
  BOOST_TEST(restocked->body.find("\"stock\":5") != std::string::npos, restocked->body);
  BOOST_TEST(restocked->body.find("\"stock\":5.") == std::string::npos, restocked->body);
}

BOOST_AUTO_TEST_CASE(error_bodies_never_carry_internal_details) {
  auto taken = unique_email();
  customer(taken);
  std::vector<std::pair<std::string, httplib::Result>> results;
  results.emplace_back("404 route", http->Get("/nothing"));
  results.emplace_back("404 invalid utf8 path", http->Get("/%FF%FE"));
  results.emplace_back("405", http->Get("/products"));
  results.emplace_back("415", post("/customers", "{}", "text/plain"));
  results.emplace_back("400 malformed", post("/customers", "{\"name\":"));
  results.emplace_back("400 utf8", post("/customers", "{\"name\":\"\xFF\"}"));
  results.emplace_back("400 validation",
                       post("/products", R"({"sku":1,"price":"x","stock":1e400})"));
  results.emplace_back("404 non-uuid", http->Get("/customers/' OR 1=1 --"));
  results.emplace_back("404 quote", http->Get("/products/%27%3B%20DROP%20TABLE%20x%3B--"));
  results.emplace_back("404 upper uuid", http->Get(("/customers/" + std::string(36, 'F')).c_str()));
  results.emplace_back("409", post("/customers", json{{"name", "D"}, {"email", taken}}.dump()));
  results.emplace_back("restock huge",
                       post("/products/" + a_uuid + "/restock", R"({"quantity":1e308})"));
  for (auto& [what, res] : results) {
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST_REQUIRE(bool(res), "no response: " << httplib::to_string(res.error()));
      BOOST_TEST(res->status >= 400);
      BOOST_TEST(res->status < 500, res->status << " " << res->body);
      BOOST_TEST(!res->has_header("EXCEPTION_WHAT"), res->get_header_value("EXCEPTION_WHAT"));
      auto body = json::parse(res->body, nullptr, false);
      BOOST_TEST(body.is_object(), res->body);
      for (auto needle : {"SELECT",
                          "INSERT",
                          "UPDATE ",
                          "DELETE FROM",
                          "duplicate key",
                          "violates",
                          "constraint",
                          "SQLSTATE",
                          "syntax error",
                          "pg_",
                          "libpq",
                          "postgres",
                          "/work/",
                          "/tmp/",
                          ".cpp",
                          ".hpp",
                          "std::",
                          "json.exception",
                          "caf::",
                          "terminate",
                          "Traceback",
                          "customers.customers",
                          "inventory.products",
                          "uuid_in",
                          "invalid input syntax"}) {
        BOOST_TEST(res->body.find(needle) == std::string::npos,
                   "found '" << needle << "' in " << res->body);
      }
    }
  }
  auto too_large =
      raw_exchange(port(), raw_request("POST", "/customers", {"Content-Type: application/json"},
                                       std::string(2 * mib, ' ')));
  expect_error(too_large, 413, "PAYLOAD_TOO_LARGE");
}

// ---------------------------------------------------------------- HEAD and OPTIONS

BOOST_AUTO_TEST_CASE(head_on_a_get_route_answers_like_get_without_a_body) {
  auto made = customer(unique_email());
  auto res = http->Head(("/customers/" + made["id"].get<std::string>()).c_str());
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 200);
  BOOST_TEST(res->body.empty());
  BOOST_TEST(res->has_header("X-Correlation-Id"));
  auto missing = http->Head(("/customers/" + a_uuid).c_str());
  BOOST_REQUIRE(missing);
  BOOST_TEST(missing->status == 404);
}

BOOST_AUTO_TEST_CASE(options_on_a_known_path_is_no_server_error_and_names_the_allowed_methods) {
  auto res = send("OPTIONS", "/customers");
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 200 || res->status == 204 || res->status == 405), res->status);
  BOOST_TEST(allow_list(res->get_header_value("Allow")).count("POST") == 1u,
             res->get_header_value("Allow"));
  BOOST_TEST(res->has_header("X-Correlation-Id"));
}

// ---------------------------------------------------------------- precedence

BOOST_AUTO_TEST_CASE(unknown_route_wins_over_every_body_problem) {
  std::string big(2 * mib, 'x');
  expect_error(raw_exchange(port(), raw_request("POST", "/nothing",
                                                {"Content-Type: application/json"}, big)),
               404, "NOT_FOUND");
  expect_error(
      raw_exchange(port(), raw_request("POST", "/nothing", {"Content-Type: text/plain"}, big)), 404,
      "NOT_FOUND");
  expect_error(post("/nothing", "{", "text/plain"), 404, "NOT_FOUND");
  expect_error(post("/nothing", "{", "application/json"), 404, "NOT_FOUND");
  expect_error(post("/customers/a/b/c", "[]", "application/json"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(wrong_method_wins_over_size_media_type_and_json) {
  std::string big(2 * mib, 'x');
  expect_error(
      raw_exchange(port(), raw_request("PUT", "/customers", {"Content-Type: text/plain"}, big)),
      405, "METHOD_NOT_ALLOWED");
  expect_error(raw_exchange(port(), raw_request("PUT", "/customers",
                                                {"Content-Type: application/json"}, big)),
               405, "METHOD_NOT_ALLOWED");
  expect_error(raw_exchange(port(), raw_request("POST", "/customers/" + a_uuid,
                                                {"Content-Type: application/json"}, big)),
               405, "METHOD_NOT_ALLOWED");
  expect_error(send("PATCH", "/products", "{", "text/plain"), 405, "METHOD_NOT_ALLOWED");
  expect_error(post("/customers/" + a_uuid, "{", "application/json"), 405, "METHOD_NOT_ALLOWED");
}

BOOST_AUTO_TEST_CASE(too_large_wins_over_media_type_and_json) {
  std::string big(2 * mib, 'x'); // neither JSON nor of the right type
  expect_error(
      raw_exchange(port(), raw_request("POST", "/customers", {"Content-Type: text/plain"}, big)),
      413, "PAYLOAD_TOO_LARGE");
  expect_error(raw_exchange(port(), raw_request("POST", "/customers",
                                                {"Content-Type: application/json"}, big)),
               413, "PAYLOAD_TOO_LARGE");
}

BOOST_AUTO_TEST_CASE(too_large_wins_over_media_type_for_a_chunked_body) {
  expect_error(
      raw_exchange(port(), raw_chunked_request("POST", "/customers", {"Content-Type: text/plain"},
                                               std::string(2 * mib, 'x'))),
      413, "PAYLOAD_TOO_LARGE");
}

BOOST_AUTO_TEST_CASE(wrong_content_type_wins_over_malformed_json) {
  expect_error(post("/customers", "{not json", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post("/products", "[]", "application/xml"), 415, "UNSUPPORTED_MEDIA_TYPE");
  expect_error(post("/products/" + a_uuid + "/restock", "\xFF", "text/plain"), 415,
               "UNSUPPORTED_MEDIA_TYPE");
}

BOOST_AUTO_TEST_CASE(malformed_json_wins_over_validation) {
  expect_error(post("/customers", R"({"name":"","email":"x")"), 400, "MALFORMED_JSON");
  expect_error(post("/products", R"({"sku":"","price":-1,)"), 400, "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(validation_wins_over_unknown_entity_and_conflict) {
  auto body = expect_error(post("/products/" + a_uuid + "/restock", R"({"quantity":0})"), 400,
                           "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(body) == (std::set<std::string>{"quantity"}));
  auto taken = unique_email();
  customer(taken);
  auto dup = expect_error(post("/customers", json{{"name", ""}, {"email", taken}}.dump()), 400,
                          "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(dup) == (std::set<std::string>{"name"}));
  auto sku = unique_sku();
  product(sku);
  auto dup_sku = expect_error(
      post("/products", json{{"sku", sku}, {"name", "n"}, {"price", 1}, {"stock", -1}}.dump()), 400,
      "VALIDATION_FAILED");
  BOOST_TEST(detail_fields(dup_sku) == (std::set<std::string>{"stock"}));
}

// ---------------------------------------------------------------- connection reuse

BOOST_AUTO_TEST_CASE(a_keep_alive_connection_stays_usable_after_errors_with_a_body) {
  // The body arrives a moment after the head, as it does from clients that write them
  // separately. Whatever the error, the next request on the connection must be answered
  // as itself (or the server must have announced that it closes the connection).
  std::string body = R"({"name":"A","email":"a@b.c"})";
  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/nothing"},
                                                        {"PUT", "/customers"},
                                                        {"POST", "/customers/" + a_uuid},
                                                        {"POST", "/customers"}}) {
    BOOST_TEST_CONTEXT(method << " " << path) {
      raw_connection conn{port()};
      BOOST_TEST_REQUIRE(conn.connected());
      conn.send(method + " " + path +
                " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(path == "/customers" ? 1 : body.size()) + "\r\n\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds{150});
      conn.send(path == "/customers" ? std::string{"{"} : body);
      auto first = conn.read_for(std::chrono::milliseconds{300});
      BOOST_TEST(status_lines(first).size() == 1u, first);
      bool announced_close = first.find("Connection: close") != std::string::npos;
      conn.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      auto second = conn.read_for(std::chrono::milliseconds{300});
      if (!announced_close) {
        auto lines = status_lines(second);
        BOOST_TEST(lines.size() == 1u, second);
        if (!lines.empty())
          BOOST_TEST(lines[0] == "HTTP/1.1 200 OK", second);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_body_of_a_refused_request_is_never_run_as_a_request_of_its_own) {
  std::string inner =
      "GET /customers/" + a_uuid + " HTTP/1.1\r\nHost: x\r\nX-Correlation-Id: smuggled\r\n\r\n";
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/nothing"}, {"PUT", "/customers"}, {"DELETE", "/products"}}) {
    BOOST_TEST_CONTEXT(method << " " << path) {
      raw_connection conn{port()};
      BOOST_TEST_REQUIRE(conn.connected());
      conn.send(method + " " + path +
                " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(inner.size()) + "\r\n\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds{150});
      conn.send(inner);
      auto stream = conn.read_for(std::chrono::milliseconds{400});
      auto lines = status_lines(stream);
      BOOST_TEST(lines.size() == 1u, stream);
      BOOST_TEST(stream.find("X-Correlation-Id: smuggled") == std::string::npos, stream);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
