// Small readers of the contract's JSON shapes (docs/openapi.yaml) shared by the HTTP contract
// tests.
#pragma once

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>

namespace testing_support {

// Lower-case hyphenated UUIDs (docs/openapi.yaml, Uuid) and RFC 3339 UTC with milliseconds.
inline const std::regex uuid_pattern{
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"};
inline const std::regex timestamp_pattern{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)"};

// The member names of a JSON object (empty for anything else).
inline std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  if (object.is_object())
    for (auto& item : object.items())
      keys.insert(item.key());
  return keys;
}

// The "field" of every entry in an error envelope's details.
inline std::set<std::string> detail_fields(const nlohmann::json& body) {
  std::set<std::string> fields;
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object() ||
      !body["error"].contains("details") || !body["error"]["details"].is_array())
    return fields;
  for (auto& d : body["error"]["details"])
    if (d.is_object() && d.contains("field") && d["field"].is_string())
      fields.insert(d["field"].get<std::string>());
  return fields;
}

// Checks that `body` is the contract's error envelope, exactly: {"success": false, "error":
// {"code": code, "message": text, "details": [{"field", "issue"}...]}}.
inline void check_error_envelope(const nlohmann::json& body, const std::string& code) {
  BOOST_TEST(keys_of(body) == (std::set<std::string>{"success", "error"}), body.dump());
  BOOST_TEST(body["success"] == false);
  auto& error = body["error"];
  BOOST_TEST(keys_of(error) == (std::set<std::string>{"code", "message", "details"}), body.dump());
  BOOST_TEST(error["code"] == code, body.dump());
  BOOST_TEST(error["message"].is_string());
  BOOST_TEST(error["details"].is_array());
  if (error["details"].is_array())
    for (auto& d : error["details"]) {
      BOOST_TEST(keys_of(d) == (std::set<std::string>{"field", "issue"}), d.dump());
      BOOST_TEST(d["field"].is_string());
      BOOST_TEST(d["issue"].is_string());
    }
}

} // namespace testing_support
