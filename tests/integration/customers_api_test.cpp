// The customers endpoints of docs/openapi.yaml over real HTTP: POST /customers, GET
// /customers/{id}, POST /customers/{id}/deactivate.
#include "contract_suite.hpp"
#include "json_checks.hpp"
#include "node_process.hpp"
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace testing_support;
using json = nlohmann::json;

namespace {

const std::string e_acute = "\xC3\xA9";      // U+00E9, 2 bytes
const std::string euro = "\xE2\x82\xAC";     // U+20AC, 3 bytes
const std::string grin = "\xF0\x9F\x98\x80"; // U+1F600, 4 bytes

struct customers_api : api_client {

  static std::string unique_email(const std::string& domain = "example.com") {
    static std::atomic<int> counter{0};
    return "user" + std::to_string(++counter) + "@" + domain;
  }

  // An e-mail address of exactly `length` code points, unique within the file.
  static std::string email_of_length(std::size_t length) {
    static std::atomic<int> counter{0};
    std::string local = "len" + std::to_string(++counter);
    std::string email = local + "@";
    while (email.size() < length)
      email += 'd';
    return email;
  }

  httplib::Result post(const std::string& path, const std::string& body) {
    return http->Post(path.c_str(), body, "application/json");
  }
  httplib::Result register_raw(const std::string& body) { return post("/customers", body); }
  httplib::Result register_customer(const std::string& name, const std::string& email) {
    return register_raw(json{{"name", name}, {"email", email}}.dump());
  }
  httplib::Result get(const std::string& id) { return http->Get(("/customers/" + id).c_str()); }
  httplib::Result deactivate(const std::string& id) {
    return http->Post(("/customers/" + id + "/deactivate").c_str());
  }

  // A registered customer's data (requires 201).
  json registered(const std::string& name, const std::string& email) {
    auto res = register_customer(name, email);
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == 201, res->body);
    return body_of(res)["data"];
  }

  // Checks the exact success envelope and customer shape; returns the customer.
  static json expect_customer(const httplib::Result& res, int status) {
    BOOST_REQUIRE(res);
    BOOST_TEST_REQUIRE(res->status == status, res->body);
    BOOST_TEST(res->get_header_value("Content-Type").find("application/json") == 0);
    auto body = body_of(res);
    BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "data"}), body.dump());
    BOOST_TEST(body["success"] == true);
    auto data = body["data"];
    BOOST_TEST(keys_of(data) ==
                   (std::set<std::string>{"id", "name", "email", "status", "createdAt"}),
               data.dump());
    BOOST_TEST(data["id"].is_string());
    BOOST_TEST(data["name"].is_string());
    BOOST_TEST(data["email"].is_string());
    BOOST_TEST(data["status"].is_string());
    BOOST_TEST(data["createdAt"].is_string());
    if (data["id"].is_string())
      BOOST_TEST(std::regex_match(data["id"].get<std::string>(), uuid_pattern), data["id"]);
    if (data["createdAt"].is_string())
      BOOST_TEST(std::regex_match(data["createdAt"].get<std::string>(), timestamp_pattern),
                 data["createdAt"]);
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
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(suite_node);

BOOST_FIXTURE_TEST_SUITE(customers_api_suite, customers_api)

// ---------------------------------------------------------------- registration: success

BOOST_AUTO_TEST_CASE(registration_is_201_with_exactly_the_customer_fields_and_a_location) {
  auto email = unique_email();
  auto res = register_customer("Ada Lovelace", email);
  auto data = expect_customer(res, 201);
  BOOST_TEST(data["name"] == "Ada Lovelace");
  BOOST_TEST(data["email"] == email);
  BOOST_TEST(data["status"] == "ACTIVE");
  BOOST_TEST(res->get_header_value("Location") == "/customers/" + data["id"].get<std::string>());
  BOOST_TEST(!res->get_header_value("X-Correlation-Id").empty());
}

BOOST_AUTO_TEST_CASE(created_at_is_rfc3339_utc_with_milliseconds_and_close_to_now) {
  auto data = registered("Clock", unique_email());
  auto stamp = data["createdAt"].get<std::string>();
  BOOST_TEST(std::regex_match(stamp, timestamp_pattern), stamp);
  auto skew = seconds_from_now(stamp);
  BOOST_TEST(std::labs(skew) <= 120,
             "createdAt " << stamp << " is " << skew << " s away from now (UTC)");
}

BOOST_AUTO_TEST_CASE(ids_are_distinct_lower_case_hyphenated_uuids) {
  auto a = registered("A", unique_email());
  auto b = registered("B", unique_email());
  BOOST_TEST(std::regex_match(a["id"].get<std::string>(), uuid_pattern));
  BOOST_TEST(std::regex_match(b["id"].get<std::string>(), uuid_pattern));
  BOOST_TEST(a["id"] != b["id"]);
}

BOOST_AUTO_TEST_CASE(location_of_a_registration_answers_get_with_the_same_customer) {
  auto res = register_customer("Grace", unique_email());
  auto created = expect_customer(res, 201);
  auto location = res->get_header_value("Location");
  auto fetched = expect_customer(http->Get(location.c_str()), 200);
  BOOST_TEST(fetched == created, fetched.dump() << " vs " << created.dump());
}

BOOST_AUTO_TEST_CASE(email_is_stored_and_returned_as_given) {
  auto email = "Mixed.Case" + unique_email("Example.COM");
  auto data = registered("Case", email);
  BOOST_TEST(data["email"] == email);
  BOOST_TEST(expect_customer(get(id_of(data)), 200)["email"] == email);
}

BOOST_AUTO_TEST_CASE(name_of_1_and_200_code_points_is_accepted) {
  BOOST_TEST(registered("x", unique_email())["name"] == "x");
  auto long_name = std::string(200, 'n');
  BOOST_TEST(registered(long_name, unique_email())["name"] == long_name);
}

BOOST_AUTO_TEST_CASE(name_of_0_or_201_code_points_is_400_naming_name) {
  expect_invalid(register_customer("", unique_email()), {"name"});
  expect_invalid(register_customer(std::string(201, 'n'), unique_email()), {"name"});
  expect_invalid(register_customer(std::string(1000, 'n'), unique_email()), {"name"});
}

BOOST_AUTO_TEST_CASE(multi_byte_names_are_counted_in_code_points_and_round_trip) {
  for (auto& ch : {e_acute, euro, grin}) {
    auto name = repeat(ch, 200); // 400..800 bytes, 200 code points
    auto data = registered(name, unique_email());
    BOOST_TEST(data["name"] == name);
    BOOST_TEST(expect_customer(get(id_of(data)), 200)["name"] == name);
    expect_invalid(register_customer(repeat(ch, 201), unique_email()), {"name"});
  }
  // A mixed name: 199 ASCII plus one 4-byte character is 200 code points.
  registered(std::string(199, 'a') + grin, unique_email());
  expect_invalid(register_customer(std::string(200, 'a') + grin, unique_email()), {"name"});
}

BOOST_AUTO_TEST_CASE(escaped_unicode_in_names_counts_as_one_code_point_each) {
  std::string name_json = "\"";
  for (int i = 0; i < 200; ++i)
    name_json += "\\ud83d\\ude00"; // one surrogate pair = one code point
  name_json += "\"";
  auto res = register_raw("{\"name\":" + name_json + ",\"email\":\"" + unique_email() + "\"}");
  auto data = expect_customer(res, 201);
  BOOST_TEST(data["name"] == repeat(grin, 200));
}

BOOST_AUTO_TEST_CASE(names_are_not_trimmed) {
  BOOST_TEST(registered("  padded  ", unique_email())["name"] == "  padded  ");
  BOOST_TEST(registered(" ", unique_email())["name"] == " ");
  // 198 letters between two spaces: 200 code points, so allowed; one more is not.
  registered(" " + std::string(198, 'p') + " ", unique_email());
  expect_invalid(register_customer(" " + std::string(199, 'p') + " ", unique_email()), {"name"});
}

BOOST_AUTO_TEST_CASE(a_name_containing_a_nul_character_is_kept_exactly_or_refused) {
  std::string name = std::string("a") + '\0' + "b";
  auto res = register_customer(name, unique_email());
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->status << " " << res->body);
  if (res->status == 201) {
    auto data = body_of(res)["data"];
    BOOST_TEST(data["name"] == name, "the name was changed on the way in: " << data.dump());
  }
}

BOOST_AUTO_TEST_CASE(an_email_containing_a_nul_character_is_kept_exactly_or_refused) {
  std::string email = std::string("nul") + '\0' + unique_email();
  auto res = register_customer("Nul", email);
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->status << " " << res->body);
  if (res->status == 201) {
    auto data = body_of(res)["data"];
    BOOST_TEST(data["email"] == email, "the e-mail was changed on the way in: " << data.dump());
  }
}

BOOST_AUTO_TEST_CASE(extra_fields_cannot_set_id_status_or_created_at) {
  auto email = unique_email();
  auto res = register_raw(json{{"name", "Extra"},
                               {"email", email},
                               {"id", "00000000-0000-4000-8000-000000000001"},
                               {"status", "INACTIVE"},
                               {"createdAt", "2000-01-01T00:00:00.000Z"}}
                              .dump());
  BOOST_REQUIRE(res);
  BOOST_TEST((res->status == 201 || res->status == 400), res->body);
  if (res->status == 201) {
    auto data = expect_customer(res, 201);
    BOOST_TEST(data["id"] != "00000000-0000-4000-8000-000000000001");
    BOOST_TEST(data["status"] == "ACTIVE");
    BOOST_TEST(data["createdAt"] != "2000-01-01T00:00:00.000Z");
  }
}

// ---------------------------------------------------------------- e-mail rules

BOOST_AUTO_TEST_CASE(email_of_3_and_254_code_points_is_accepted) {
  BOOST_TEST(registered("Short", "a@b")["email"] == "a@b");
  auto email = email_of_length(254);
  BOOST_REQUIRE(email.size() == 254u);
  BOOST_TEST(registered("Long", email)["email"] == email);
}

BOOST_AUTO_TEST_CASE(email_of_2_or_255_code_points_is_400_naming_email) {
  expect_invalid(register_customer("Short", "a@"), {"email"});
  expect_invalid(register_customer("Short", "@b"), {"email"});
  auto email = email_of_length(255);
  BOOST_REQUIRE(email.size() == 255u);
  expect_invalid(register_customer("Long", email), {"email"});
}

BOOST_AUTO_TEST_CASE(email_length_counts_code_points_not_bytes) {
  // 250 two-byte characters + "@b.c": 254 code points (504 bytes) is allowed ...
  auto ok = repeat(e_acute, 249) + "x@b.c";
  BOOST_REQUIRE(ok.size() == 249u * 2 + 5);
  BOOST_TEST(registered("Wide", ok)["email"] == ok);
  // ... 255 code points is not.
  expect_invalid(register_customer("Wide", repeat(e_acute, 250) + "y@b.c"), {"email"});
  // 3 code points in 5 bytes is allowed.
  auto tiny = e_acute + "@" + euro;
  BOOST_TEST(registered("Tiny", tiny)["email"] == tiny);
}

BOOST_AUTO_TEST_CASE(email_without_exactly_one_at_with_text_on_both_sides_is_400) {
  for (auto email : {"plainaddress.example.com", "a@@example.com", "a@b@example.com",
                     "@example.com", "someone@", "@", "@@@", "a@b.c@"}) {
    BOOST_TEST_CONTEXT("email " << email) {
      expect_invalid(register_customer("At", email), {"email"});
    }
  }
}

BOOST_AUTO_TEST_CASE(email_containing_spaces_is_400) {
  for (auto email : {"a b@example.com", " lead@example.com", "trail@example.com ", "x@exa mple.com",
                     "tab\t@example.com", "nl@example.com\n", "   "}) {
    BOOST_TEST_CONTEXT("email [" << email << "]") {
      expect_invalid(register_customer("Space", email), {"email"});
    }
  }
}

BOOST_AUTO_TEST_CASE(email_containing_unicode_space_characters_is_400) {
  // U+00A0 no-break space, U+2003 em space, U+3000 ideographic space
  for (auto space :
       {std::string{"\xC2\xA0"}, std::string{"\xE2\x80\x83"}, std::string{"\xE3\x80\x80"}}) {
    BOOST_TEST_CONTEXT("space bytes " << json(space).dump()) {
      expect_invalid(register_customer("Space", "uni" + space + unique_email()), {"email"});
    }
  }
}

// ---------------------------------------------------------------- missing, null, ill-typed

BOOST_AUTO_TEST_CASE(both_name_and_email_wrong_are_named_together) {
  expect_invalid(register_customer("", "not-an-email"), {"name", "email"});
  expect_invalid(register_customer(std::string(201, 'n'), "a b@c"), {"name", "email"});
}

BOOST_AUTO_TEST_CASE(missing_fields_are_400_naming_each) {
  expect_invalid(register_raw("{}"), {"name", "email"});
  expect_invalid(register_raw(json{{"email", unique_email()}}.dump()), {"name"});
  expect_invalid(register_raw(json{{"name", "No Mail"}}.dump()), {"email"});
}

BOOST_AUTO_TEST_CASE(null_fields_are_400_naming_each) {
  expect_invalid(register_raw(R"({"name":null,"email":null})"), {"name", "email"});
  expect_invalid(register_raw(R"({"name":null,"email":")" + unique_email() + "\"}"), {"name"});
  expect_invalid(register_raw(R"({"name":"Null Mail","email":null})"), {"email"});
}

BOOST_AUTO_TEST_CASE(non_string_fields_are_400_naming_each) {
  expect_invalid(register_raw(R"({"name":5,"email":true})"), {"name", "email"});
  expect_invalid(register_raw(R"({"name":["A"],"email":{"a":"b"}})"), {"name", "email"});
  expect_invalid(register_raw(R"({"name":1.5,"email":"x@y"})"), {"name"});
  expect_invalid(register_raw(R"({"name":"Num","email":12345})"), {"email"});
  expect_invalid(register_raw(R"({"name":false,"email":"x@y"})"), {"name"});
}

BOOST_AUTO_TEST_CASE(field_names_are_case_sensitive) {
  expect_invalid(register_raw(json{{"Name", "Upper"}, {"EMAIL", unique_email()}}.dump()),
                 {"name", "email"});
}

BOOST_AUTO_TEST_CASE(a_failed_registration_leaves_no_customer_behind) {
  auto email = unique_email();
  expect_invalid(register_customer("", email), {"name"});
  expect_invalid(register_customer(std::string(201, 'x'), email), {"name"});
  expect_invalid(register_raw(json{{"name", 5}, {"email", email}}.dump()), {"name"});
  // The address is still free.
  BOOST_TEST(registered("Later", email)["email"] == email);
}

// ---------------------------------------------------------------- uniqueness

BOOST_AUTO_TEST_CASE(duplicate_email_is_409_email_taken_and_changes_nothing) {
  auto email = unique_email();
  auto first = registered("First", email);
  auto body = expect_error(register_customer("Second", email), 409, "EMAIL_TAKEN");
  for (auto field : detail_fields(body))
    BOOST_TEST(field == "email");
  auto still = expect_customer(get(id_of(first)), 200);
  BOOST_TEST(still == first);
}

BOOST_AUTO_TEST_CASE(duplicate_email_differing_only_in_case_is_409) {
  auto email = unique_email();
  registered("Lower", email);
  std::string upper;
  for (unsigned char c : email)
    upper += char(std::toupper(c));
  expect_error(register_customer("Upper", upper), 409, "EMAIL_TAKEN");
  std::string mixed = email;
  mixed[0] = char(std::toupper(static_cast<unsigned char>(mixed[0])));
  expect_error(register_customer("Mixed", mixed), 409, "EMAIL_TAKEN");
}

BOOST_AUTO_TEST_CASE(duplicate_email_differing_only_in_non_ascii_case_is_409) {
  auto local = unique_email("example.org");
  auto lower = e_acute + local;                 // é...
  auto upper = std::string("\xC3\x89") + local; // É...
  registered("Lower", lower);
  expect_error(register_customer("Upper", upper), 409, "EMAIL_TAKEN");
}

BOOST_AUTO_TEST_CASE(emails_differing_in_more_than_case_are_both_accepted) {
  auto email = unique_email();
  registered("One", email);
  registered("Two", "x" + email);
}

BOOST_AUTO_TEST_CASE(validation_failure_wins_over_a_duplicate_email) {
  auto email = unique_email();
  registered("Taken", email);
  expect_invalid(register_customer("", email), {"name"});
}

BOOST_AUTO_TEST_CASE(ten_parallel_registrations_of_one_email_give_exactly_one_201) {
  auto email = unique_email();
  auto answers = race(port(), 10, [&](httplib::Client& client, int i) {
    return client.Post("/customers",
                       json{{"name", "P" + std::to_string(i)}, {"email", email}}.dump(),
                       "application/json");
  });
  BOOST_TEST(count_of(answers, 201) == 1);
  BOOST_TEST(count_of(answers, 409, "EMAIL_TAKEN") == 9);
}

BOOST_AUTO_TEST_CASE(ten_parallel_registrations_differing_only_in_case_give_exactly_one_201) {
  auto base = unique_email();
  auto answers = race(port(), 10, [&](httplib::Client& client, int i) {
    std::string email = base;
    for (std::size_t k = 0; k < email.size(); ++k)
      if ((i >> (k % 4)) & 1)
        email[k] = char(std::toupper(static_cast<unsigned char>(email[k])));
    return client.Post("/customers", json{{"name", "C"}, {"email", email}}.dump(),
                       "application/json");
  });
  BOOST_TEST(count_of(answers, 201) == 1);
  BOOST_TEST(count_of(answers, 409) == 9);
}

// ---------------------------------------------------------------- GET /customers/{id}

BOOST_AUTO_TEST_CASE(get_of_an_unknown_uuid_is_404_not_found) {
  expect_error(get("00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND");
  expect_error(get("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_non_uuid_id_is_404_not_found) {
  for (auto id :
       {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
        "3f2504e0-4f89-41d3-9a0c-0305e82c330", "3f2504e0-4f89-41d3-9a0c-0305e82c33011",
        "3f2504e0-4f89-41d3-9a0c-0305e82c330g", "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
        "3f2504e0_4f89_41d3_9a0c_0305e82c3301", "%20", "null", "-1", "%27%20OR%201%3D1--"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(get(id), 404, "NOT_FOUND");
    }
  }
  expect_error(get(std::string(1000, 'a')), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_of_a_product_id_is_404) {
  auto product = http->Post(
      "/products", json{{"sku", "CUST-TEST-1"}, {"name", "P"}, {"price", 1}, {"stock", 1}}.dump(),
      "application/json");
  BOOST_REQUIRE(product);
  BOOST_TEST_REQUIRE(product->status == 201, product->body);
  expect_error(get(id_of(body_of(product)["data"])), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(parallel_gets_each_answer_with_their_own_customer) {
  std::vector<json> customers;
  for (int i = 0; i < 6; ++i)
    customers.push_back(registered("Par" + std::to_string(i), unique_email()));
  expect_customer(deactivate(id_of(customers[0])), 200);
  customers[0]["status"] = "INACTIVE";
  auto problems = parallel_reads(api_client::port(), "/customers", customers);
  BOOST_TEST(problems.empty(), "wrong answers: " << problems.size() << ", first: "
                                                 << (problems.empty() ? "" : problems[0]));
}

// ---------------------------------------------------------------- deactivation

BOOST_AUTO_TEST_CASE(deactivation_is_200_with_status_inactive_and_nothing_else_changed) {
  auto created = registered("Leaving", unique_email());
  auto res = deactivate(id_of(created));
  auto data = expect_customer(res, 200);
  BOOST_TEST(data["status"] == "INACTIVE");
  auto expected = created;
  expected["status"] = "INACTIVE";
  BOOST_TEST(data == expected, data.dump() << " vs " << expected.dump());
  BOOST_TEST(expect_customer(get(id_of(created)), 200) == expected);
}

BOOST_AUTO_TEST_CASE(deactivating_twice_returns_200_with_the_customer_unchanged) {
  auto created = registered("Twice", unique_email());
  auto once = expect_customer(deactivate(id_of(created)), 200);
  auto twice = expect_customer(deactivate(id_of(created)), 200);
  BOOST_TEST(twice == once, twice.dump() << " vs " << once.dump());
  BOOST_TEST(twice["status"] == "INACTIVE");
  BOOST_TEST(expect_customer(get(id_of(created)), 200) == once);
}

BOOST_AUTO_TEST_CASE(deactivating_twice_records_one_deactivation_event) {
  auto created = registered("Event", unique_email());
  expect_customer(deactivate(id_of(created)), 200);
  expect_customer(deactivate(id_of(created)), 200);
  expect_customer(deactivate(id_of(created)), 200);
  persistence::pg_connection admin{dsn()};
  auto rows =
      admin.exec("SELECT event_name, count(*) FROM customers.outbox WHERE aggregate_id = $1::uuid "
                 "GROUP BY event_name ORDER BY event_name",
                 {created["id"].get<std::string>()});
  std::map<std::string, int64_t> counts;
  for (int i = 0; i < rows.rows(); ++i)
    counts[rows.string(i, 0)] = rows.integer(i, 1);
  BOOST_TEST(counts["customer.registered"] == 1);
  BOOST_TEST(counts["customer.deactivated"] == 1);
  BOOST_TEST(counts.size() == 2u);
}

BOOST_AUTO_TEST_CASE(parallel_deactivations_all_answer_inactive_and_record_one_event) {
  auto created = registered("Race", unique_email());
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
      auto res = client.Post(("/customers/" + id_of(created) + "/deactivate").c_str());
      if (res && res->status == 200) {
        auto body = json::parse(res->body, nullptr, false);
        ok += body.is_object() && body["data"]["status"] == "INACTIVE";
      }
    });
  go = true;
  for (auto& t : threads)
    t.join();
  BOOST_TEST(ok == 10);
  persistence::pg_connection admin{dsn()};
  auto rows = admin.exec("SELECT count(*) FROM customers.outbox WHERE aggregate_id = $1::uuid "
                         "AND event_name = 'customer.deactivated'",
                         {id_of(created)});
  BOOST_TEST(rows.integer(0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(failed_registrations_record_no_event) {
  auto email = unique_email();
  expect_invalid(register_customer("", email), {"name"});
  registered("Once", email);
  expect_error(register_customer("Again", email), 409, "EMAIL_TAKEN");
  persistence::pg_connection admin{dsn()};
  auto rows =
      admin.exec("SELECT count(*) FROM customers.outbox WHERE event_name = 'customer.registered' "
                 "AND lower(payload->>'email') = lower($1)",
                 {email});
  BOOST_TEST(rows.integer(0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(deactivation_of_an_unknown_uuid_is_404_not_found) {
  expect_error(deactivate("00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND");
  expect_error(deactivate("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), 404, "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(deactivation_of_a_non_uuid_id_is_404_not_found) {
  for (auto id : {"1", "not-a-uuid", "3f2504e04f8941d39a0c0305e82c3301",
                  "3f2504e0-4f89-41d3-9a0c-0305e82c330g"}) {
    BOOST_TEST_CONTEXT("id " << id) {
      expect_error(deactivate(id), 404, "NOT_FOUND");
    }
  }
}

BOOST_AUTO_TEST_CASE(deactivation_accepts_an_empty_json_object_as_body) {
  auto created = registered("Body", unique_email());
  auto data = expect_customer(
      post("/customers/" + created["id"].get<std::string>() + "/deactivate", "{}"), 200);
  BOOST_TEST(data["status"] == "INACTIVE");
}

BOOST_AUTO_TEST_CASE(a_deactivated_customer_keeps_its_email_taken) {
  auto email = unique_email();
  auto created = registered("Gone", email);
  expect_customer(deactivate(id_of(created)), 200);
  expect_error(register_customer("Back", email), 409, "EMAIL_TAKEN");
}

BOOST_AUTO_TEST_CASE(deactivating_one_customer_leaves_others_active) {
  auto a = registered("A", unique_email());
  auto b = registered("B", unique_email());
  expect_customer(deactivate(id_of(a)), 200);
  BOOST_TEST(expect_customer(get(id_of(b)), 200)["status"] == "ACTIVE");
}

BOOST_AUTO_TEST_CASE(deactivation_with_a_body_that_is_not_valid_json_is_400_malformed_json) {
  auto created = registered("Junk", unique_email());
  expect_error(post("/customers/" + id_of(created) + "/deactivate", "{"), 400, "MALFORMED_JSON");
  // and it did not deactivate
  BOOST_TEST(expect_customer(get(id_of(created)), 200)["status"] == "ACTIVE");
}

BOOST_AUTO_TEST_CASE(events_carry_the_correlation_id_of_the_request_that_caused_them) {
  auto email = unique_email();
  auto res = http->Post("/customers", {{"X-Correlation-Id", "reg-corr.1"}},
                        json{{"name", "Corr"}, {"email", email}}.dump(), "application/json");
  auto created = expect_customer(res, 201);
  BOOST_TEST(res->get_header_value("X-Correlation-Id") == "reg-corr.1");
  auto off = http->Post(("/customers/" + id_of(created) + "/deactivate").c_str(),
                        {{"X-Correlation-Id", "bad id!"}}, "", "");
  expect_customer(off, 200);
  auto generated = off->get_header_value("X-Correlation-Id");
  BOOST_TEST(std::regex_match(generated, uuid_pattern), generated);
  persistence::pg_connection admin{dsn()};
  auto rows = admin.exec(
      "SELECT event_name, correlation_id FROM customers.outbox WHERE aggregate_id = $1::uuid "
      "ORDER BY sequence",
      {id_of(created)});
  BOOST_TEST_REQUIRE(rows.rows() == 2);
  BOOST_TEST(rows.string(0, 0) == "customer.registered");
  BOOST_TEST(rows.string(0, 1) == "reg-corr.1");
  BOOST_TEST(rows.string(1, 0) == "customer.deactivated");
  BOOST_TEST(rows.string(1, 1) == generated);
}

BOOST_AUTO_TEST_SUITE_END()
